"""Diagnostic beyond the paper: the default configuration trained on 60, 150 and 300
patients of a larger synthetic set, with the same samples per epoch, epochs, validation and test
patients, each selected model also scored on the external set. It measures whether the number of
training patients is what keeps the CPU presets near chance from random weights.

    python -m d2tl synth --seed 3 --n 480 --out data/synthetic-480     # once
    python experiments/data_scaling.py                                  # results/data_scaling/
    python experiments/data_scaling.py --patients 60 300 --epochs 12

Writes ``OUT/data_scaling.md`` (table), ``.csv``, ``.png`` (AUC against patients),
``history.csv`` (every arm's epochs) and ``provenance.json``; see :mod:`d2tl.studies.scaling`.
"""

import sys

from d2tl.cli import command

DEFAULTS = ["--cases", "data/synthetic-480/cases.csv"]  # the study's set; --cases's default is the 96-case one


def main(argv=None) -> int:
    """``python -m d2tl data-scaling --cases data/synthetic-480/cases.csv``; later options override."""
    return command("data-scaling")(DEFAULTS + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
