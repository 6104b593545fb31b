"""``python -m d2tl COMMAND``: one entry point; each command lives in its own module.

A command module exposes ``add_arguments(parser)`` and ``run(args) -> int``. Only the module
of the command being run is imported, so a data command never pays for importing TensorFlow.
Bad input (:class:`d2tl.errors.D2TLError`) is printed as one line on stderr with exit status
2 and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import D2TLError

# name -> (module, one-line help)
COMMANDS = {
    "synth": ("d2tl.data.sources.synthetic", "write the synthetic CEDM data set (DICOM, masks, case table)"),
    "rois": ("d2tl.data.roi", "cut the ROI boxes of every case into one .npz of model-ready arrays"),
    "show-cases": ("d2tl.case_figure", "draw the four images of chosen cases with their ROI boxes"),
    "cdd-cesm": ("d2tl.data.sources.cddcesm", "build a case table from a downloaded CDD-CESM folder"),
    "from-dicom": ("d2tl.data.sources.dicom", "build a case table from a folder of CEDM DICOM files and a label CSV"),
    "check-data": ("d2tl.data.check", "check a case table and every image it names; list every problem"),
    "pretrain": ("d2tl.pretrain", "pre-train InceptionV3 on formula-generated (FractalDB-style) images, no ImageNet"),
    "train": ("d2tl.train", "train D2TL (or a variant) with the paper's protocol; resumable"),
    "predict": ("d2tl.predict", "per-case malignancy probabilities from a saved model"),
    "baseline": ("d2tl.baseline.run", "the conventional texture+shape baseline (Sec. 4.6)"),
    "explain": ("d2tl.interpret.command", "pixel influence and Grad-CAM overlays of one case from a saved model"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all help lines come from COMMANDS)."""
    parser = argparse.ArgumentParser(prog="python -m d2tl", description="d2tl: dual-mode deep transfer learning (D2TL) for CEDM, reproduced.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
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
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
