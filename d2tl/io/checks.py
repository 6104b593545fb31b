"""Up-front checks every command runs before any work: option values and output locations.

Each check raises :class:`d2tl.io.errors.D2TLError` naming the option and the value given, so a
bad value costs nothing (no data read, no folder created) and says exactly what to change.
Upper bounds on sizes come from the images (a box larger than the largest full-resolution
mammogram, 3328 px at 0.07 mm, cuts only padding) and from memory (an input side that would
ask numpy for gigabytes per case is a typo, not a request).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import D2TLError

MAX_BOX = 4096  # full-resolution px: larger than any mammogram side (3328 px at 0.07 mm)
MAX_INPUT = 1024  # model input side, px: 4 images x 1024^2 float32 = 16 MiB per case
MAX_COUNT = 100_000  # runs, epochs, cases, batch size, alternatives: anything above is a typo


def number(option: str, value, *, low=None, high=None, low_open=False, integer=False, why: str = ""):
    """``value`` if it is a finite number in [low, high] (``low_open``: above low), else an error
    naming ``option`` and ``value``."""
    if value is None:
        return value
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        kind = "a whole number" if integer else "a number"
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"<= {high:g}")
        rule = f"{kind} {' and '.join(bounds)}".strip()
        raise D2TLError(f"{option} {value!r}: must be {rule}{f' ({why})' if why else ''}")
    return value


def count(option: str, value, low: int = 1, high: int = MAX_COUNT):
    """A whole number in [low, high]."""
    return number(option, value, low=low, high=high, integer=True)


def fraction(option: str, value, *, high_open=True):
    """A number in [0, 1) (or [0, 1] when not ``high_open``)."""
    number(option, value, low=0, high=1)
    if high_open and value == 1:
        raise D2TLError(f"{option} {value!r}: must be >= 0 and < 1")
    return value


def roi_options(box=None, shift=None, input_scale=None, prefix="--") -> None:
    """Box side, centre shift and input scale: sizes bounded by the images and by memory."""
    number(f"{prefix}box", box, low=1, high=MAX_BOX, why="full-resolution px; mammograms are at most 3328 px")
    number(f"{prefix}shift", shift, low=0, high=MAX_BOX, why="full-resolution px")
    number(f"{prefix}input-scale", input_scale, low=0, low_open=True, high=4)
    if box is not None and input_scale is not None and round(box * input_scale) > MAX_INPUT:
        raise D2TLError(f"{prefix}box {box:g} x {prefix}input-scale {input_scale:g} gives a "
                        f"{round(box * input_scale)} px model input; at most {MAX_INPUT} px "
                        f"(4 images x {MAX_INPUT}^2 float32 per case)")


def _existing_ancestor(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            return parent
    return Path(".")


def _check_parent(path: Path, option: str, what: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    found = _existing_ancestor(parent)
    if not found.is_dir():
        raise D2TLError(f"{option} {path}: cannot write the {what}: {found} is a file, not a folder")
    if not os.access(found, os.W_OK | os.X_OK):
        raise D2TLError(f"{option} {path}: cannot write the {what}: folder {found} is not writable")


def output_file(option: str, path, what: str = "output file") -> Path:
    """``path`` can be written as a file: it is not a folder, and its nearest existing parent is
    a writable folder. Creates nothing."""
    path = Path(path)
    if str(path) in ("", "."):
        raise D2TLError(f"{option} {str(path)!r}: not a file name")
    if path.is_dir():
        raise D2TLError(f"{option} {path}: is a folder; give a file name for the {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise D2TLError(f"{option} {path}: the existing {what} is not writable")
    _check_parent(path, option, what)
    return path


def output_folder(option: str, path, what: str = "output folder") -> Path:
    """``path`` can hold outputs: it is a writable folder, or can be created as one. Creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise D2TLError(f"{option} {path}: is a file, not a folder; give a folder for the {what}")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise D2TLError(f"{option} {path}: folder is not writable")
        return path
    _check_parent(path / "x", option, what)
    return path


def input_file(option: str, path, what: str = "file") -> Path:
    """``path`` is an existing, readable file."""
    path = Path(path)
    if path.is_dir():
        raise D2TLError(f"{option} {path}: is a folder, not a {what}")
    if not path.is_file():
        raise D2TLError(f"{option} {path}: {what} does not exist")
    if not os.access(path, os.R_OK):
        raise D2TLError(f"{option} {path}: {what} is not readable")
    return path
