"""Sec. 3.4 / 4.5: class representations (eq. 1, Fig. 11), pixel influence maps (eq. 2,
Figs. 12, 13), Grad-CAM, and the share of each map that falls inside the lesion.

    python experiments/interpretation.py                       # quick preset, its default model
    python experiments/interpretation.py --model results/runs/.../model.keras --preset paper
    python experiments/interpretation.py --all-cases --lam 1e-4 --steps 300

Writes ``results/interpretation/<preset>/`` (figures, ``lesion_shares.csv``/``.md``,
``summary.json``, ``provenance.json``; see :func:`d2tl.interpret.experiment.run_interpretation`). The default
model is the preset's default configuration (dual-mode, full-tune, box 256 px, no shift) on
the case table, found under ``results/runs/`` by its configuration hash
(:mod:`d2tl.training.default_result`); when it is missing the error names the hash and the command that
trains it.

From Python (e.g. a run-all script)::

    from experiments.interpretation import run_interpretation
    summary = run_interpretation(model_path, "data/synthetic/cases.csv", "results/interpretation/quick", "quick")
"""

from d2tl.cli import command

main = command("interpretation")  # the same as python -m d2tl interpretation

if __name__ == "__main__":
    raise SystemExit(main())
