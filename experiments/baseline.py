"""Sec. 4.6 / Fig. 14: the conventional baseline (texture + shape features -> GLM-LASSO, SVM,
random forest, plus two "in the style of" related-work rows) on the same split as D2TL.

    python experiments/baseline.py                      # quick preset, data/synthetic, hand-drawn-like masks
    python experiments/baseline.py --preset paper       # the full hyper-parameter grids
    python experiments/baseline.py --perturb-masks 0    # the true outlines only
    python experiments/baseline.py --external data/synthetic-external/cases.csv   # plus an external set

By default the masks are perturbed like a hand drawing (``--perturb-masks 0.2``), the exact-mask
result is reported beside it, and an intensity-only control (ROI brightness statistics alone) is
fitted the same way (see :mod:`d2tl.baseline.run`).

Writes ``results/baseline/<configuration hash>/`` (table, figure, provenance; see
:mod:`d2tl.baseline.run`). It is ``python -m d2tl baseline``: the same options and defaults
(docs/options.md).
"""

from d2tl.cli import command

main = command("baseline")  # the same as python -m d2tl baseline

if __name__ == "__main__":
    raise SystemExit(main())
