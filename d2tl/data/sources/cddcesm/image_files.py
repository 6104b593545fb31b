"""The image folders: every image file found, indexed by canonical name; copies chosen by rule."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

from .names import ImageName, parse_name
from .options import IMAGE_SUFFIXES


@dataclasses.dataclass(frozen=True)
class ImageFile:
    path: Path
    name: ImageName

    @property
    def regular(self) -> bool:
        """True for the plain ``P1_L_DM_MLO.jpg`` form (no spaces, no copy number)."""
        return self.path.name == f"{self.name.base}{self.path.suffix}" and self.name.copy is None


def index_images(folders) -> tuple[dict, dict]:
    """Every image file in ``folders`` by (patient, side, mode, view), plus notes.

    Notes: files whose names were normalised (spaces), files whose name does not parse, and
    DM files found in the subtracted folder or CM files in the low-energy folder.
    """
    index: dict[tuple, list[ImageFile]] = defaultdict(list)
    notes = {"files": 0, "names_normalised": [], "unrecognised_files": [], "wrong_folder": []}
    for expected_mode, folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if not path.name.strip().lower().endswith(IMAGE_SUFFIXES):
                notes["unrecognised_files"].append(str(path))
                continue
            name = parse_name(path.name)
            if name is None:
                notes["unrecognised_files"].append(str(path))
                continue
            notes["files"] += 1
            if path.name.strip() != path.name or " " in path.name:
                notes["names_normalised"].append({"file": str(path), "as": name.base + (
                    f" (copy {name.copy})" if name.copy else "")})
            if expected_mode is not None and name.mode != expected_mode:
                notes["wrong_folder"].append(str(path))
            index[name.key].append(ImageFile(path=path, name=name))
    return dict(index), notes


def choose_file(files: list[ImageFile], rule: str) -> ImageFile:
    """One of several files for the same image: ``first`` = no copy number (else the lowest),
    ``last`` = the highest copy number; among equals a regularly named file wins."""
    def order(f: ImageFile):
        copy = f.name.copy or 0
        return (copy if rule == "first" else -copy, not f.regular, f.path.name)

    return sorted(files, key=order)[0]
