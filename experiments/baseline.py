"""Sec. 4.6 / Fig. 14: the conventional baseline (texture + shape features -> GLM-LASSO, SVM,
random forest, plus two "in the style of" related-work rows) on the same split as D2TL.

    python experiments/baseline.py                      # paper preset, data/synthetic, hand-drawn-like masks
    python experiments/baseline.py --preset quick
    python experiments/baseline.py --perturb-masks 0    # the true outlines only
    python experiments/baseline.py --external data/synthetic-external/cases.csv   # plus an external set

By default the masks are perturbed like a hand drawing (``--perturb-masks 0.2``), the exact-mask
result is reported beside it, and an intensity-only control (ROI brightness statistics alone) is
fitted the same way (see :mod:`d2tl.baseline.run`).

Writes ``results/baseline/<configuration hash>/`` (table, figure, provenance; see
:mod:`d2tl.baseline.run`). Every option of ``python -m d2tl baseline`` is accepted; only the
default case table differs (the built-in synthetic set, made by ``python -m d2tl synth``).
"""

from d2tl.cli import command

main = command("baseline")  # the same as python -m d2tl baseline

if __name__ == "__main__":
    raise SystemExit(main())
