"""The command-line arguments of the interpretation experiment (``experiments/interpretation.py``)
and the call they make: the eq. (1) solver's settings, the model, the cases, the patients."""

from __future__ import annotations

from pathlib import Path

from ..io.errors import D2TLError
from ..protocol.views import LABELS
from .experiment import DEFAULT_RUNS, PRESET_SETTINGS, preset_settings, run_interpretation
from .representation import OPTIMIZERS, PARAMETRISATIONS, PENALTIES, STARTS, RepresentationConfig


def add_experiment_arguments(parser) -> None:
    from ..protocol.options import add_cases, add_out, add_preset, add_seed

    d = RepresentationConfig()
    parser.add_argument("--model", help="model.keras (default: the preset's default configuration, found by its "
                                        "configuration hash under --runs-root)")
    add_cases(parser)
    add_preset(parser, PRESET_SETTINGS)
    add_out(parser, "interpretation")
    parser.add_argument("--runs-root", default=DEFAULT_RUNS,
                        help="results store (OUT/runs) holding the default model (default: %(default)s)")
    parser.add_argument("--patients", nargs=2, metavar=("BENIGN", "MALIGNANT"),
                        help="ids for the influence figures (default: most confidently correct test cases)")
    parser.add_argument("--gradcam-layers", nargs="+", help="backbone layers for Grad-CAM (preset's if omitted)")
    parser.add_argument("--all-cases", action="store_true", help="measure lesion shares on every case, not the test set")
    parser.add_argument("--no-control", action="store_true",
                        help="skip the shares of the untrained architecture (the control)")
    g = parser.add_argument_group("eq. (1)")
    g.add_argument("--lam", type=float, default=d.lam, help="lambda on the sum of squared pixels (default %(default)g)")
    g.add_argument("--penalty", default=d.penalty, choices=PENALTIES,
                   help="where the l2 norm is taken: network (InceptionV3's [-1, 1] input, mid-grey neutral; "
                        "default) or pixel (the [0, 1] ROI, black neutral)")
    g.add_argument("--steps", type=int, help="descent steps (preset's if omitted)")
    g.add_argument("--step-size", type=float, default=d.step_size)
    g.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZERS)
    g.add_argument("--start", default=d.start, choices=[s for s in STARTS if s != "mean"])
    g.add_argument("--parametrisation", default=d.parametrisation, choices=PARAMETRISATIONS)
    add_seed(g)  # eq. (1)'s random start


def run_experiment_args(args) -> dict:
    from ..io.checks import count

    count("--seed", args.seed, low=0, high=2**32 - 1)
    rep = RepresentationConfig(lam=args.lam, steps=args.steps if args.steps is not None else
                               preset_settings(args.preset)["steps"], step_size=args.step_size, optimizer=args.optimizer,
                               start=args.start, parametrisation=args.parametrisation, seed=args.seed,
                               penalty=args.penalty)
    if not Path(args.cases).is_file():
        raise D2TLError(f"case table {args.cases} does not exist (python -m d2tl synth writes the synthetic one)")
    return run_interpretation(args.model, args.cases, args.out, args.preset,
                              patients=dict(zip(LABELS, args.patients)) if args.patients else None,
                              layers=args.gradcam_layers, representation=rep, all_cases=args.all_cases,
                              runs_root=args.runs_root, control=not args.no_control)


def add_arguments(parser) -> None:
    """``python -m d2tl interpretation`` (``experiments/interpretation.py``)."""
    add_experiment_arguments(parser)


def run(args) -> int:
    run_experiment_args(args)
    return 0
