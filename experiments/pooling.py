"""Sec. 4.3 / Fig. 9: dual-mode (D2TL) vs simple pooling, everything else equal.

Simple pooling feeds all four images through one InceptionV3. Writes, to ``OUT/pooling/``, test
metrics of both, the training-time ratio (paper: dual-mode takes about 2x) and a figure like Fig. 9.

    python experiments/pooling.py                     # quick preset, data/synthetic/cases.csv
    python experiments/pooling.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/pooling.py --preset paper --cases my_cases.csv

Trained configurations go to ``OUT/runs/<hash>/`` (shared by every section: a configuration that
another section already trained is reused, never trained twice); see :mod:`d2tl.sections`.
"""

from d2tl.cli import command

main = command("pooling")  # the same as python -m d2tl pooling

if __name__ == "__main__":
    raise SystemExit(main())
