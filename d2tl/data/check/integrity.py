"""Every row and every image of a case table checked, every problem collected (:func:`check_cases`)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ...errors import DataError
from ...text_table import read_text_table
from ...views import IMAGES, LABELS, LATERALITIES, VIEWS
from ..breast import in_breast
from ..case_columns import CENTRE_COLUMNS
from ..case_rules import normalise, row_problems
from .split_check import _check_split


DEFAULT_TOLERANCE = 10.0  # full-resolution px


@dataclasses.dataclass
class CheckResult:
    problems: list[str]
    summary: dict
    skipped: list[str]
    notes: list[str] = dataclasses.field(default_factory=list)  # listed, not problems

    @property
    def clean(self) -> bool:
        return not self.problems


def _resolve(base: Path, value: str) -> str:
    if not value:
        return ""
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def bit_depth(path) -> str:
    """Bits per pixel as stored: DICOM BitsStored, or the raster image's mode."""
    from PIL import Image

    from ..images import _is_dicom
    from .. import dicom_io

    path = Path(path)
    if _is_dicom(path):
        ds = dicom_io.read_header(path)
        return f"{int(ds.get('BitsStored', ds.get('BitsAllocated', 0)))}-bit DICOM"
    with Image.open(path) as im:
        bits = {"1": 1, "L": 8, "P": 8, "LA": 8, "RGB": 8, "RGBA": 8, "CMYK": 8, "I;16": 16, "I;16B": 16,
                "I;16L": 16, "I": 32, "F": 32}.get(im.mode, 0)
        colour = "" if im.mode in ("1", "L", "I;16", "I;16B", "I;16L", "I", "F") else f" {im.mode}"
        return f"{bits}-bit {im.format or path.suffix.lstrip('.').upper()}{colour}"


def check_cases(cases_csv, split=None, tolerance: float = DEFAULT_TOLERANCE, progress=None,
                allow_mixed_intent: bool = False, allow_two_labels_per_breast: bool = False) -> CheckResult:
    """Check a case table and every image it names; see the module docstring."""
    from .. import dicom_tags
    from .dicom_conventions import DicomConventions
    from ..images import _is_dicom
    from ..images import read_image

    cases_csv = Path(cases_csv)
    table = normalise(read_text_table(cases_csv, "case table"), f"case table {cases_csv}")
    base = cases_csv.parent
    problems, skipped = [], []
    sizes, bits = defaultdict(Counter), defaultdict(Counter)
    seen, masks, he_views = {}, 0, 0
    dicom, scale_mismatch = DicomConventions(), []
    for index, row in enumerate(table.to_dict("records")):
        line = index + 2
        cid = row["id"]
        at = f"line {line} (patient {cid or '?'})"
        if progress and index and index % 50 == 0:
            progress(f"check-data: {index}/{len(table)} cases read")
        rules = row_problems(line, row, seen)  # the loader's rules (d2tl.data.case_rules), all listed
        problems += [p.check_message() for p in rules if p.view is None]
        scale = _number(row["scale"] or "1")
        if scale is None or scale <= 0:
            scale = 1.0
        pitches = set()
        centres = {column: _number(row[column]) for column in CENTRE_COLUMNS}
        for view in VIEWS:
            paths = {key: _resolve(base, row[column]) for key, column in (
                (f"le_{view}", f"le_{view}_path"), (f"rec_{view}", f"rec_{view}_path"),
                (f"he_{view}", f"he_{view}_path"), (f"{view} mask", f"{view}_mask_path"))}
            problems += [p.check_message() for p in rules if p.view == view]
            if not paths[f"rec_{view}"] and paths[f"he_{view}"]:
                he_views += 1
            if paths[f"{view} mask"]:
                masks += 1
            pixels = {}
            for key, path in paths.items():
                if not path:
                    continue
                try:
                    image = read_image(path)
                except DataError as exc:
                    problems.append(f"{at}, image {key}: {exc}")
                    continue
                except Exception as exc:  # a decoder's own error: still this file's problem
                    problems.append(f"{at}, image {key}: file {path}: cannot be decoded ({type(exc).__name__}: {exc})")
                    continue
                pixels[key] = image
                if "mask" not in key:
                    sizes[key][f"{image.shape[1]}x{image.shape[0]}"] += 1
                    try:
                        bits[key][bit_depth(path)] += 1
                    except Exception:  # noqa: BLE001 - the pixels decoded; the depth is only reported
                        bits[key]["unknown"] += 1
                    if _is_dicom(Path(path)):
                        try:
                            pitches.add(dicom.add(path, key, at, problems))
                        except DataError as exc:
                            problems.append(f"{at}, image {key}: {exc}")
                    if float(image.max()) <= float(image.min()):
                        problems.append(f"{at}, image {key}: file {path} is blank (every pixel {float(image.min()):g})")
            shapes = {k: v.shape for k, v in pixels.items()}
            if len(set(shapes.values())) > 1:
                problems.append(f"{at}: the {view.upper()} images differ in size: " + ", ".join(
                    f"{k} {s[1]}x{s[0]} ({paths[k]})" for k, s in shapes.items()))
            x, y = centres[f"{view}_x"], centres[f"{view}_y"]
            le = pixels.get(f"le_{view}")
            if x is None or y is None:
                skipped.append(f"{at}, {view.upper()}: box centre checks (centre is not a number)")
            elif le is None:
                skipped.append(f"{at}, {view.upper()}: box centre checks (no readable LE image)")
            elif not (0 <= x < le.shape[1] and 0 <= y < le.shape[0]):
                problems.append(f"{at}: {view.upper()} box centre ({x:g}, {y:g}) is outside the image "
                                f"({le.shape[1]}x{le.shape[0]} px, {paths[f'le_{view}']})")
            else:
                inside, threshold, value = in_breast(le, x, y, tolerance * scale)
                if not inside:
                    problems.append(f"{at}: {view.upper()} box centre ({x:g}, {y:g}) lies in the background air of "
                                    f"{paths[f'le_{view}']} (value {value:g}; no pixel within {tolerance * scale:g} px "
                                    f"above the air/breast threshold {threshold:g})")
            mask = pixels.get(f"{view} mask")
            if mask is not None and not (mask > 0).any():
                problems.append(f"{at}: {view.upper()} mask {paths[f'{view} mask']} is empty")
        pitches.discard(None)
        if len(pitches) == 1:
            expected = dicom_tags.scale_from_pitch(pitches.pop())
            if abs(expected - scale) > 0.01 * expected:
                scale_mismatch.append(f"{cid}: scale {scale:g}, pixel pitch gives {expected:g}")
    from .duplicates import breast_label_problems, duplicate_problems

    problems += duplicate_problems(table, base)  # images used twice
    two_labels = breast_label_problems(table)  # one breast with two labels
    notes = two_labels if allow_two_labels_per_breast else []
    problems += [] if allow_two_labels_per_breast else two_labels
    mixed = dicom_tags.mixed_intent(dicom.intents)
    if mixed and not allow_mixed_intent:
        problems.append(mixed)
    groups = table.groupby("group")["id"].agg(list)
    summary = {
        "cases": int(len(table)),
        "labels": {label: int((table["label"] == label).sum()) for label in LABELS},
        "invalid_labels": int((~table["label"].isin(LABELS)).sum()),
        "persons": int(table["group"].nunique()),
        "persons_with_several_cases": int((groups.map(len) > 1).sum()),
        "persons_with_both_labels": int((table.groupby("group")["label"].nunique() > 1).sum()),
        "laterality": {lat: int((table["laterality"] == lat).sum()) for lat in LATERALITIES},
        "scale": sorted({row or "1" for row in table["scale"]}),
        "image_sizes": {k: dict(sizes[k].most_common()) for k in (*IMAGES, *(f"he_{v}" for v in VIEWS)) if sizes[k]},
        "bit_depths": {k: dict(bits[k]) for k in (*IMAGES, *(f"he_{v}" for v in VIEWS)) if bits[k]},
        "views_with_mask": masks, "views_from_high_energy": he_views,
        "dicom_conventions": dicom.summary(), "scale_vs_pixel_spacing": scale_mismatch,
    }
    if split is not None:
        summary["split"] = _check_split(split, table, problems)
    report = cases_csv.with_name(cases_csv.stem + "-report.json")
    if report.is_file():
        try:
            counts = json.loads(report.read_text()).get("left_out_counts")
        except (json.JSONDecodeError, AttributeError):
            counts = None
        if counts:
            summary["left_out_by_adapter"] = {"report": str(report), **{k: v for k, v in counts.items() if v}}
    return CheckResult(problems=problems, summary=summary, skipped=skipped, notes=notes)


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
