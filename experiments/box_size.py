"""Sec. 4.1 / Fig. 7: box size -- boxes of 64, 128, 256 and 512 px around the tumour.

Trains D2TL (dual-mode, full-tune) once per box size and writes, to ``OUT/box_size/``, test
accuracy, sensitivity and specificity per box and training time per box (table, Markdown with the
paper's numbers beside ours, and a two-panel figure like Fig. 7: training time; accuracy bars with
sensitivity/specificity written on top).

    python experiments/box_size.py                     # quick preset, data/synthetic/cases.csv
    python experiments/box_size.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/box_size.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from d2tl.cli import command

main = command("box-size")  # the same as python -m d2tl box-size

if __name__ == "__main__":
    raise SystemExit(main())
