"""The command line of ``experiments/<section>.py``: options and the :class:`Context` they make
(``d2tl/cli.py`` runs them)."""

from __future__ import annotations

import argparse
import sys

from ..protocol.presets import PRESETS, preset as preset_settings
from .context import RUNS_FOLDER, Context
from .plan_print import print_plan
from .run import run_section


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..protocol.options import add_cases, add_out, add_preset

    add_cases(parser)  # any table d2tl reads, e.g. one made by python -m d2tl cdd-cesm
    add_preset(parser, PRESETS)
    add_out(parser, "run-all", f"reports in OUT/<section>/, trained configurations in OUT/{RUNS_FOLDER}/<hash>/")
    parser.add_argument("--external", help="an independent case table on which every selected model is also "
                        "scored (95%% intervals); 'none' for no external set. Default: the preset's; quick makes "
                        "a synthetic one (another generator seed) beside a synthetic --cases set")
    parser.add_argument("--weights", help="the default configuration's backbone weights: imagenet, random, "
                        "fractal (python -m d2tl pretrain), a weights file, or auto (reduced presets only); "
                        "preset's if omitted (paper: imagenet, "
                        "which it refuses to run without; quick and smoke: auto)")
    parser.add_argument("--imagenet-md5", help="expected MD5 of the ImageNet file (default: Keras's published hash)")
    parser.add_argument("--split-seeds", type=int, default=1, help="beyond the paper: also train every "
                        "configuration on split seeds 1..K-1 and report each metric's mean and spread over the K "
                        "grouped, stratified splits beside the single split (default 1: the paper's one split)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and an estimated time; train nothing "
                        "(never needs the weights)")
    parser.add_argument("--replace", action="store_true", help="replace a section report made from other "
                        "configurations (trained results are never replaced)")
    add_overrides(parser)
    from ..training.execution import PRECISIONS, STRATEGIES

    g = parser.add_argument_group("execution (see docs/gpu.md)")
    g.add_argument("--precision", default="float32", choices=list(PRECISIONS),
                   help="mixed: float16 compute, float32 weights (GPU); bfloat16 likewise; part of each configuration")
    g.add_argument("--jit", action="store_true", help="XLA-compile the training step (TensorFlow: needs "
                   "--nondeterministic; always on under KERAS_BACKEND=jax)")
    g.add_argument("--nondeterministic", action="store_true", help="allow non-deterministic TensorFlow kernels")
    g.add_argument("--strategy", default="none", choices=list(STRATEGIES),
                   help="mirrored: tf.distribute.MirroredStrategy over every GPU of this host (TensorFlow)")
    from ..training.memory_fit import add_gpu_memory

    add_gpu_memory(g)


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """--runs, --epochs, --batch-size, --learning-rate: the preset's values replaced (d2tl.protocol.presets.OVERRIDES)."""
    g = parser.add_argument_group("deviating from the preset (every configuration's hash changes; reports, "
                                  "SUMMARY.md and provenance say so)")
    g.add_argument("--runs", type=int, help="runs per configuration (preset's if omitted)")
    g.add_argument("--epochs", type=int, help="epochs per run; the random-initialisation study's epochs scale "
                   "by the same factor (preset's if omitted)")
    g.add_argument("--batch-size", type=int, help="cases per training step, e.g. to fit a GPU's memory "
                   "(preset's if omitted)")
    g.add_argument("--learning-rate", "--lr", dest="learning_rate", type=float,
                   help="the optimiser's learning rate (preset's if omitted)")


def overridden_settings(args) -> tuple[dict, dict]:
    """The preset's settings with the command line's overrides and ``--weights``, and the
    deviations from the preset (:func:`d2tl.protocol.presets.with_overrides`); bad values name their option."""
    from ..io import checks
    from ..protocol.presets import with_overrides

    for option in ("--runs", "--epochs", "--batch-size"):
        checks.count(option, getattr(args, option[2:].replace("-", "_"), None))
    checks.number("--learning-rate", getattr(args, "learning_rate", None), low=0, low_open=True, high=10)
    settings, deviations = with_overrides(preset_settings(args.preset), {
        key: getattr(args, key, None) for key in ("runs", "epochs", "batch_size", "learning_rate")})
    if getattr(args, "weights", None):
        settings["weights"] = args.weights
    return settings, deviations


def make_context(args, log=None) -> Context:
    from ..io.checks import output_folder
    from ..training.memory_fit import DEFAULT_GPU_MEMORY, parse_size

    output_folder("--out", args.out, "results root")  # a file or an unwritable place: refused before any work
    execution = {"precision": getattr(args, "precision", "float32"), "jit_compile": getattr(args, "jit", False),
                 "deterministic": not getattr(args, "nondeterministic", False)}
    log = log or _log_line
    from ..training.external import resolve_external

    external = resolve_external(getattr(args, "external", None), args.cases, preset_settings(args.preset), log,
                                make=not getattr(args, "dry_run", False))
    settings, deviations = overridden_settings(args)
    ctx = Context(args.cases, args.preset, args.out, log=log, replace=args.replace, execution=execution,
                  external=external, settings=settings, imagenet_md5=getattr(args, "imagenet_md5", None),
                  split_seeds=getattr(args, "split_seeds", 1), overrides=deviations,
                  gpu_memory=parse_size(getattr(args, "gpu_memory", DEFAULT_GPU_MEMORY)))
    from ..training.execution import check_support

    check_support(ctx.base().train)  # e.g. --jit under deterministic TensorFlow, before any work
    plans_only = getattr(args, "dry_run", False) or getattr(args, "report_only", False) or \
        (getattr(args, "plan", None) and not getattr(args, "shard", None))
    if not plans_only:  # plans, dry runs and reports from a finished store never need the weights
        ctx.weights(ctx.base().model.weights)  # the paper preset refuses here without ImageNet, naming the file
    return ctx


def _log_line(line: str) -> None:
    print(line, flush=True)


def command_name(section: str) -> str:
    """The ``python -m d2tl`` command of a section (``box_shift`` -> ``box-shift``)."""
    return section.replace("_", "-")


class SectionCommand:
    """``python -m d2tl <section>`` (and ``experiments/<section>.py``): one section, its plan or its run."""

    def __init__(self, section: str):
        self.section = section

    @property
    def epilog(self) -> str | None:
        """The section module's docstring: what it measures and how to run it."""
        import importlib

        return importlib.import_module(f"{__package__}.{self.section}").__doc__

    add_arguments = staticmethod(add_arguments)

    def run(self, args) -> int:
        from ..training.execution import distribution

        ctx = make_context(args)
        if args.dry_run:
            print_plan(ctx, [self.section])
            return 0
        ctx.check_memory([self.section])  # before any training
        with distribution(args.strategy):
            result = run_section(self.section, ctx)
        from ..reporting.markdown import comparison_markdown

        print(comparison_markdown(result.summary()))
        return 0


# the objects behind ``python -m d2tl box-size`` ... (d2tl.cli.COMMANDS names them)
box_size = SectionCommand("box_size")
box_shift = SectionCommand("box_shift")
pooling = SectionCommand("pooling")
tuning = SectionCommand("tuning")
random_init = SectionCommand("random_init")
