"""Benchmark: training throughput, FLOP utilisation, cached semi-tune, data preparation, memory.

The same as ``python -m d2tl benchmark``; ``--help`` shows every option and example, and
``d2tl/studies/benchmark_command.py`` holds the code.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from d2tl.cli import command  # noqa: E402

main = command("benchmark")  # the same as python -m d2tl benchmark

if __name__ == "__main__":
    raise SystemExit(main())
