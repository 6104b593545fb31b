"""docs/gpu.md's memory table: predicted training-step peaks, measured ones beside them.

    python experiments/memory_table.py                          # print the table (8 GB target)
    python experiments/memory_table.py --measure                # measure the small steps first (minutes)
    python experiments/memory_table.py --write docs/gpu.md      # rewrite the table in docs/gpu.md

The code is in d2tl/training/memory_report.py.
"""

from d2tl.training.memory_report import main

if __name__ == "__main__":
    raise SystemExit(main())
