"""``d2tl COMMAND`` (or ``python -m d2tl COMMAND``): one entry point; each command lives in its own module.

A command is a module, or ``module:name`` (an object in it), exposing ``add_arguments(parser)`` and
``run(args) -> int`` (and optionally ``EPILOG``/``epilog``, shown under ``--help``). Only the
module of the command being run is imported, so a data command never pays for importing
TensorFlow. Bad input (:class:`d2tl.io.errors.D2TLError`) is printed as one line on stderr with exit
status 2 and no traceback: this is the one error handler of every command, ``experiments/*.py``
included (each calls :func:`main` with its command name). A command whose steps failed while the
others ran (:class:`d2tl.io.failures.StepsFailed`: run-all, a shard, a section) exits with status 1
after one line naming the failed steps and what was written anyway.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .io.errors import D2TLError
from .io.failures import StepsFailed

# name -> (module, one-line help)
COMMANDS = {
    "synth": ("d2tl.data.sources.synthetic", "write the synthetic CEDM data set (DICOM, masks, case table)"),
    "rois": ("d2tl.data.roi", "cut the ROI boxes of every case into one .npz of model-ready arrays"),
    "show-cases": ("d2tl.data.case_figure", "draw the four images of chosen cases with their ROI boxes"),
    "cdd-cesm": ("d2tl.data.sources.cddcesm", "build a case table from a downloaded CDD-CESM folder"),
    "from-dicom": ("d2tl.data.sources.dicom", "build a case table from a folder of CEDM DICOM files and a label CSV"),
    "check-data": ("d2tl.data.check", "check a case table and every image it names; list every problem"),
    "pretrain": ("d2tl.pretrain.command", "pre-train InceptionV3 without ImageNet: formula-generated images or synthetic CEDM ROIs"),
    "train": ("d2tl.training.arguments", "train D2TL (or a variant) with the paper's protocol; resumable"),
    "predict": ("d2tl.training.predict", "per-case malignancy probabilities from a saved model"),
    "baseline": ("d2tl.baseline.run", "the conventional texture+shape baseline (Sec. 4.6)"),
    "explain": ("d2tl.interpret.command", "pixel influence and Grad-CAM overlays of one case from a saved model"),
    # the paper's experiments (experiments/<section>.py run the same commands)
    "box-size": ("d2tl.sections.command:box_size", "Sec. 4.1 / Fig. 7: ROI box size"),
    "box-shift": ("d2tl.sections.command:box_shift", "Sec. 4.2 / Fig. 8: box centre shifted"),
    "pooling": ("d2tl.sections.command:pooling", "Sec. 4.3 / Fig. 9: dual-mode vs simple pooling"),
    "tuning": ("d2tl.sections.command:tuning", "Sec. 4.4 / Fig. 10: full- vs semi-tune"),
    "random-init": ("d2tl.sections.command:random_init",
                    "Sec. 4.4: ImageNet vs formula-pre-trained vs random initialisation"),
    "interpretation": ("d2tl.interpret.experiment_args", "Sec. 4.5 / Figs. 11-13: eq. 1, eq. 2 and Grad-CAM of a model"),
    "data-scaling": ("d2tl.studies.scaling_command", "learning against the number of training patients; the positive control (beyond the paper)"),
    "transfer": ("d2tl.studies.transfer_command",
                 "the default configuration from synthetic-pre-trained, formula-pre-trained and random weights"),
    "run-all": ("d2tl.commands.run_all", "every section in order, the baseline, the interpretation and SUMMARY.md"),
    "run-shards": ("d2tl.commands.run_shards", "one host, many GPUs: N run-all shards as N processes, then the reports"),
    "benchmark": ("d2tl.studies.benchmark_command", "training throughput, FLOP utilisation, cached semi-tune, data preparation, memory"),
}


def _command(spec: str):
    """The object behind a COMMANDS entry: a module, or ``module:name`` for an object in it."""
    module_name, _, name = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, name) if name else module


def _prog() -> str:
    """``d2tl`` when run as the console script, ``python -m d2tl`` otherwise (usage lines say how
    the user ran it)."""
    return "d2tl" if os.path.basename(sys.argv[0]) == "d2tl" else "python -m d2tl"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all help lines come from COMMANDS)."""
    parser = argparse.ArgumentParser(prog=_prog(), description="d2tl: dual-mode deep transfer learning (D2TL) for CEDM, reproduced.")
    parser.add_argument("--version", action="version", version=f"d2tl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            handler = _command(module_name)
            epilog = getattr(handler, "EPILOG", None) or getattr(handler, "epilog", None)
            if epilog:
                p.epilog, p.formatter_class = epilog, argparse.RawDescriptionHelpFormatter
            handler.add_arguments(p)
            p.set_defaults(_run=handler.run)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except StepsFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def command(name: str):
    """``main(argv=None)`` of one command: what ``experiments/<section>.py`` runs, so a paper script
    and ``python -m d2tl NAME`` are the same parser and the same error handler."""
    if name not in COMMANDS:
        raise KeyError(f"no command {name!r}")

    def run(argv=None) -> int:
        return main([name, *(sys.argv[1:] if argv is None else argv)])

    return run
