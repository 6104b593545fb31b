"""Every row and every image of a case table checked, every problem collected (:func:`check_cases`)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from ...io.errors import DataError
from ...io.text_table import read_text_table
from ...protocol.views import IMAGES, LABELS, LATERALITIES, VIEWS
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
    cases_csv = Path(cases_csv)
    table = normalise(read_text_table(cases_csv, "case table"), f"case table {cases_csv}")
    findings, seen = Findings(), {}
    for index, row in enumerate(table.to_dict("records")):
        if progress and index and index % 50 == 0:
            progress(f"check-data: {index}/{len(table)} cases read")
        check_row(index + 2, row, seen, cases_csv.parent, tolerance, findings)
    notes = _check_across_rows(table, cases_csv.parent, findings, allow_mixed_intent, allow_two_labels_per_breast)
    summary = _summary(table, findings)
    if split is not None:
        summary["split"] = _check_split(split, table, findings.problems)
    counts = _adapter_left_out(cases_csv)
    if counts:
        summary["left_out_by_adapter"] = {"report": str(_adapter_report(cases_csv)),
                                          **{k: v for k, v in counts.items() if v}}
    return CheckResult(problems=findings.problems, summary=summary, skipped=findings.skipped, notes=notes)


@dataclasses.dataclass
class Findings:
    """What the rows showed so far: problems and skipped checks, and the counts the summary reports."""

    problems: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    sizes: defaultdict = dataclasses.field(default_factory=lambda: defaultdict(Counter))  # image key -> WxH
    bits: defaultdict = dataclasses.field(default_factory=lambda: defaultdict(Counter))  # image key -> depth
    masks: int = 0
    he_views: int = 0
    dicom: object = dataclasses.field(default_factory=lambda: _conventions())
    scale_mismatch: list = dataclasses.field(default_factory=list)


def _conventions():
    from .dicom_conventions import DicomConventions

    return DicomConventions()


def check_row(line: int, row: dict, seen: dict, base: Path, tolerance: float, findings: Findings) -> None:
    """One case: the loader's rules, then per view its images, their sizes, the box centre and the mask;
    then its scale against the DICOM pixel pitch."""
    cid = row["id"]
    at = f"line {line} (patient {cid or '?'})"
    rules = row_problems(line, row, seen)  # the loader's rules (d2tl.data.case_rules), all listed
    findings.problems += [p.check_message() for p in rules if p.view is None]
    scale = _number(row["scale"] or "1")
    if scale is None or scale <= 0:
        scale = 1.0
    pitches = set()
    centres = {column: _number(row[column]) for column in CENTRE_COLUMNS}
    for view in VIEWS:
        paths = {key: _resolve(base, row[column]) for key, column in (
            (f"le_{view}", f"le_{view}_path"), (f"rec_{view}", f"rec_{view}_path"),
            (f"he_{view}", f"he_{view}_path"), (f"{view} mask", f"{view}_mask_path"))}
        findings.problems += [p.check_message() for p in rules if p.view == view]
        if not paths[f"rec_{view}"] and paths[f"he_{view}"]:
            findings.he_views += 1
        if paths[f"{view} mask"]:
            findings.masks += 1
        pixels = {}
        for key, path in paths.items():
            image = read_checked(at, key, path, findings, pitches) if path else None
            if image is not None:
                pixels[key] = image
        _check_sizes(at, view, paths, pixels, findings.problems)
        check_box_centre(at, view, centres[f"{view}_x"], centres[f"{view}_y"], pixels.get(f"le_{view}"),
                         paths[f"le_{view}"], tolerance * scale, findings)
        mask = pixels.get(f"{view} mask")
        if mask is not None and not (mask > 0).any():
            findings.problems.append(f"{at}: {view.upper()} mask {paths[f'{view} mask']} is empty")
    _check_scale(cid, scale, pitches, findings.scale_mismatch)


def read_checked(at: str, key: str, path: str, findings: Findings, pitches: set):
    """One image's pixels, or None when it cannot be read; counts its size and depth, checks its DICOM
    header (adding its pixel pitch to ``pitches``) and that it is not blank."""
    from ..images import _is_dicom, read_image

    try:
        image = read_image(path)
    except DataError as exc:
        findings.problems.append(f"{at}, image {key}: {exc}")
        return None
    except Exception as exc:  # a decoder's own error: still this file's problem
        findings.problems.append(f"{at}, image {key}: file {path}: cannot be decoded ({type(exc).__name__}: {exc})")
        return None
    if "mask" in key:
        return image
    findings.sizes[key][f"{image.shape[1]}x{image.shape[0]}"] += 1
    try:
        findings.bits[key][bit_depth(path)] += 1
    except Exception:  # noqa: BLE001 - the pixels decoded; the depth is only reported
        findings.bits[key]["unknown"] += 1
    if _is_dicom(Path(path)):
        try:
            pitches.add(findings.dicom.add(path, key, at, findings.problems))
        except DataError as exc:
            findings.problems.append(f"{at}, image {key}: {exc}")
    if float(image.max()) <= float(image.min()):
        findings.problems.append(f"{at}, image {key}: file {path} is blank (every pixel {float(image.min()):g})")
    return image


def _check_sizes(at: str, view: str, paths: dict, pixels: dict, problems: list) -> None:
    shapes = {k: v.shape for k, v in pixels.items()}
    if len(set(shapes.values())) > 1:
        problems.append(f"{at}: the {view.upper()} images differ in size: " + ", ".join(
            f"{k} {s[1]}x{s[0]} ({paths[k]})" for k, s in shapes.items()))


def check_box_centre(at: str, view: str, x, y, le, le_path: str, tolerance_px: float, findings: Findings) -> None:
    """The box centre lies in the LE image and in the breast (a pixel above the air threshold within
    ``tolerance_px``); skipped, and listed, when the centre is not a number or there is no LE image."""
    if x is None or y is None:
        findings.skipped.append(f"{at}, {view.upper()}: box centre checks (centre is not a number)")
    elif le is None:
        findings.skipped.append(f"{at}, {view.upper()}: box centre checks (no readable LE image)")
    elif not (0 <= x < le.shape[1] and 0 <= y < le.shape[0]):
        findings.problems.append(f"{at}: {view.upper()} box centre ({x:g}, {y:g}) is outside the image "
                                 f"({le.shape[1]}x{le.shape[0]} px, {le_path})")
    else:
        inside, threshold, value = in_breast(le, x, y, tolerance_px)
        if not inside:
            findings.problems.append(
                f"{at}: {view.upper()} box centre ({x:g}, {y:g}) lies in the background air of {le_path} "
                f"(value {value:g}; no pixel within {tolerance_px:g} px above the air/breast threshold {threshold:g})")


def _check_scale(cid: str, scale: float, pitches: set, scale_mismatch: list) -> None:
    """Note a case whose scale differs by over 1 % from the one its images' single pixel pitch gives."""
    from .. import dicom_tags

    pitches.discard(None)
    if len(pitches) == 1:
        expected = dicom_tags.scale_from_pitch(pitches.pop())
        if abs(expected - scale) > 0.01 * expected:
            scale_mismatch.append(f"{cid}: scale {scale:g}, pixel pitch gives {expected:g}")


def _check_across_rows(table, base: Path, findings: Findings, allow_mixed_intent: bool,
                       allow_two_labels_per_breast: bool) -> list[str]:
    """Images used twice, a breast with two labels, both presentation intents; returns the notes
    (two labels, when allowed)."""
    from .. import dicom_tags
    from .duplicates import breast_label_problems, duplicate_problems

    findings.problems += duplicate_problems(table, base)
    two_labels = breast_label_problems(table)
    findings.problems += [] if allow_two_labels_per_breast else two_labels
    mixed = dicom_tags.mixed_intent(findings.dicom.intents)
    if mixed and not allow_mixed_intent:
        findings.problems.append(mixed)
    return two_labels if allow_two_labels_per_breast else []


def _summary(table, findings: Findings) -> dict:
    groups = table.groupby("group")["id"].agg(list)
    keys = (*IMAGES, *(f"he_{v}" for v in VIEWS))
    return {
        "cases": int(len(table)),
        "labels": {label: int((table["label"] == label).sum()) for label in LABELS},
        "invalid_labels": int((~table["label"].isin(LABELS)).sum()),
        "persons": int(table["group"].nunique()),
        "persons_with_several_cases": int((groups.map(len) > 1).sum()),
        "persons_with_both_labels": int((table.groupby("group")["label"].nunique() > 1).sum()),
        "laterality": {lat: int((table["laterality"] == lat).sum()) for lat in LATERALITIES},
        "scale": sorted({row or "1" for row in table["scale"]}),
        "image_sizes": {k: dict(findings.sizes[k].most_common()) for k in keys if findings.sizes[k]},
        "bit_depths": {k: dict(findings.bits[k]) for k in keys if findings.bits[k]},
        "views_with_mask": findings.masks, "views_from_high_energy": findings.he_views,
        "dicom_conventions": findings.dicom.summary(), "scale_vs_pixel_spacing": findings.scale_mismatch,
    }


def _adapter_report(cases_csv: Path) -> Path:
    return cases_csv.with_name(cases_csv.stem + "-report.json")


def _adapter_left_out(cases_csv: Path) -> dict | None:
    """The left-out counts of the adapter that wrote the table (CDD-CESM), from its report beside it."""
    report = _adapter_report(cases_csv)
    if not report.is_file():
        return None
    try:
        return json.loads(report.read_text()).get("left_out_counts")
    except (json.JSONDecodeError, AttributeError):
        return None


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
