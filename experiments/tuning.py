"""Sec. 4.4 / Fig. 10: full-tune (D2TL) vs semi-tune (only the three dense layers trained).

Writes, to ``OUT/tuning/``, test metrics of both, trainable parameter counts and their ratio (the
paper says about 5x; the model it describes gives about 11x, reported as an inconsistency) and a
figure like Fig. 10.

    python experiments/tuning.py                     # quick preset, data/synthetic/cases.csv
    python experiments/tuning.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/tuning.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from d2tl.cli import command

main = command("tuning")  # the same as python -m d2tl tuning

if __name__ == "__main__":
    raise SystemExit(main())
