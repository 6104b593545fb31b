"""Sec. 3.4 / 4.5: class representations (eq. 1, Fig. 11), pixel influence maps (eq. 2,
Figs. 12, 13), Grad-CAM, and the share of each map that falls inside the lesion.

    python experiments/interpretation.py                       # quick preset, its default model
    python experiments/interpretation.py --model results/runs/.../model.keras --preset paper
    python experiments/interpretation.py --all-cases --lam 1e-4 --steps 300

Writes ``results/interpretation/<preset>/`` (figures, ``lesion_shares.csv``/``.md``,
``summary.json``, ``provenance.json``; see :func:`d2tl.interpret.experiment.run_interpretation`). The default
model is the preset's default configuration (dual-mode, full-tune, box 256 px, no shift) on
the case table, found under ``results/runs/`` by its configuration hash
(:mod:`d2tl.default_result`); when it is missing the error names the hash and the command that
trains it.

From Python (e.g. a run-all script)::

    from experiments.interpretation import run_interpretation
    summary = run_interpretation(model_path, "data/synthetic/cases.csv", "results/interpretation/quick", "quick")
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from d2tl.errors import D2TLError  # noqa: E402
from d2tl.interpret.experiment_args import add_experiment_arguments, run_experiment_args  # noqa: E402
from d2tl.interpret.experiment import run_interpretation as _run_interpretation  # noqa: E402
from d2tl.defaults import DEFAULT_CASES  # noqa: E402



def run_interpretation(model_path=None, cases_csv=DEFAULT_CASES, out=None, preset: str = "quick", **options) -> dict:
    """Run the interpretation experiment; returns the summary (mean inside-lesion shares per map,
    patients shown, seconds). ``model_path=None``: the default model under results/runs/."""
    return _run_interpretation(model_path, cases_csv, out, preset, **options)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_experiment_arguments(parser, default_cases=DEFAULT_CASES)
    args = parser.parse_args(argv)
    try:
        run_experiment_args(args)
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
