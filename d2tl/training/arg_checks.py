"""``train``'s options checked before any data are read or any folder is created.

Every option is checked against its bounds (:mod:`d2tl.io.checks`), the case table must be a
readable file, ``--out`` a folder that can be written, and a ``--weights`` file must be a
readable InceptionV3 weights file. A weights file used to be opened only when the first run
built its model, after the split, the ROI cache and ``config.json`` had been written.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io import checks
from ..io.errors import D2TLError

MAX_SEED = 10**6  # run r is seeded with seed * 1000 + r: stays well inside 32 bits
WEIGHT_WORDS = ("imagenet", "random", "auto")


def check_args(args) -> None:
    """Raise a :class:`D2TLError` naming the first bad option and its value."""
    checks.roi_options(args.box, args.shift, args.input_scale)
    for option, value in (("--runs", args.runs), ("--epochs", args.epochs), ("--batch-size", args.batch_size),
                          ("--alternatives", args.alternatives)):
        checks.count(option, value)
    checks.count("--bn-samples", args.bn_samples, low=0)
    for option in ("seed", "split_seed", "augment_seed", "shift_seed"):
        checks.count(f"--{option.replace('_', '-')}", getattr(args, option), low=0, high=MAX_SEED)
    checks.number("--lr", args.lr, low=0, low_open=True, high=10)
    checks.fraction("--feature-dropout", args.feature_dropout)
    checks.fraction("--head-dropout", args.head_dropout)
    checks.number("--lease", args.lease, low=1, high=7 * 24 * 3600)
    checks.input_file("--cases", args.cases, "case table")
    checks.output_folder("--out", args.out, "results folder")
    if getattr(args, "tensorboard", None):
        checks.output_folder("--tensorboard", args.tensorboard, "TensorBoard logs")
        check_tensorboard()
    if args.weights is not None and args.weights not in WEIGHT_WORDS and not _is_word(args.weights):
        check_weights_file(args.weights)


def check_tensorboard() -> None:
    """``--tensorboard`` writes through the ``tensorboard`` package (in requirements.txt)."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise D2TLError("--tensorboard needs the tensorboard package, which is not installed: "
                        "pip install -r requirements.txt (or pip install tensorboard)")


def _is_word(spec: str) -> bool:
    """A weights word of a newer spec (no path separator, no file of that name): left to
    :mod:`d2tl.model.weights` to accept or refuse."""
    return os.sep not in spec and "." not in spec and not Path(spec).exists()


def check_weights_file(spec: str, option: str = "--weights") -> None:
    """``spec`` is a readable HDF5 Keras weights file holding InceptionV3's layers.

    The HDF5 check is cheap and refuses any other file; the layer check builds one InceptionV3
    at 75 px and loads the file into it (a few seconds), unless the test backbone
    (``D2TL_TEST_BACKBONE``, see :func:`d2tl.model.build_backbone`) stands in for InceptionV3.
    """
    path = checks.input_file(option, Path(spec).expanduser(), "weights file")
    try:
        import h5py

        with h5py.File(path, "r") as f:
            names = set(f.keys()) | set(f.attrs.keys())
    except OSError as exc:
        raise D2TLError(f"{option} {path}: not an HDF5 weights file ({exc})") from None
    if not names:
        raise D2TLError(f"{option} {path}: an empty HDF5 file, not InceptionV3 weights")
    if os.environ.get("D2TL_TEST_BACKBONE"):
        return
    from ..model import build_backbone

    build_backbone(75, str(path), "weights_check")  # a D2TLError naming the file when it does not fit
