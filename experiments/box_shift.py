"""Sec. 4.2 / Fig. 8: box shift -- the box centre moved 10, 20 or 40 px in a random direction.

The direction is drawn per case and view and shared by the view's LE and recombined images; each
shift size is repeated with new directions (paper: 10 times; ``shift_repeats`` of the preset). Writes,
to ``OUT/box_shift/``, every repeat's test metrics, their mean per shift, p-values for 10 vs 20 px
and 40 vs 20 px on test accuracy (Welch's t-test, with Mann-Whitney U as a check) and a figure like
Fig. 8. The original placement is the default configuration (shared with the other sections).

    python experiments/box_shift.py                     # quick preset, data/synthetic/cases.csv
    python experiments/box_shift.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/box_shift.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from d2tl.cli import command

main = command("box-shift")  # the same as python -m d2tl box-shift

if __name__ == "__main__":
    raise SystemExit(main())
