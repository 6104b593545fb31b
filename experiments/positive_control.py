"""Beyond the paper: the deep path's positive control. Does the default configuration (dual-mode,
full-tune, box 256 px, the real InceptionV3 at 75 px, random weights) learn given enough patients?

Trained on 60, 240, 960 and 1,920 training patients of a 3,072-case synthetic set (generator
seed 4), each with its own fixed number of epochs (16, 16, 10, 8: more patients, fewer epochs,
not equal compute), selected on the same 512 validation patients, every model scored on the same
200-case external set (seed 1):

    python -m d2tl synth --seed 4 --n 3072 --out data/synthetic-3072    # once, about 12 min
    python experiments/positive_control.py                             # results/positive_control/

This is ``python -m d2tl data-scaling`` with these defaults (any option can be given again to
change one); finished arms are kept and reused, so an interrupted study resumes arm by arm and
its partial table says which arms it still lacks. Numbers and commands: docs/learning.md.
"""

import sys

from d2tl.cli import command

DEFAULTS = ["--cases", "data/synthetic-3072/cases.csv", "--patients", "60", "240", "960", "1920",
            "--arm-epochs", "16", "16", "10", "8", "--out", "results/positive_control"]


def main(argv=None) -> int:
    """``data-scaling`` with the positive control's defaults; later options override them."""
    return command("data-scaling")(DEFAULTS + list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
