"""Building the case table: the download's files found, every breast matched, centred, masked and aligned."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from ....io.atomic import write_text
from ....io.errors import DataError
from ....io.provenance import write_json
from ....protocol.views import VIEWS
from ...cases import validate_cases, write_cases
from .align import _save_png, estimate_offset, move_into_frame
from .annotations import breast_label, read_annotations
from .image_files import choose_file, index_images
from .options import (ALIGN_TOLERANCE, ANNOTATIONS_PATTERN, BuildOptions, CITATION, CM_FOLDER, LE_FOLDER,
                      SEGMENTATIONS_PATTERN)
from .outlines import _regions_for, choose_region, read_segmentations
from .report import _report, report_markdown


def _find_one(root: Path, pattern: str, what: str, is_dir: bool, newest: bool = False) -> Path:
    hits = sorted(p for p in root.rglob(pattern) if (p.is_dir() if is_dir else p.is_file())
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not hits:
        raise DataError(f"CDD-CESM folder {root}: no {what} ({pattern!r}) found in it or below it")
    if len(hits) > 1:
        if newest:  # several segmentation versions: the last name (..._v2 after ...)
            return sorted(hits, key=lambda p: _natural(p.name))[-1]
        raise DataError(f"CDD-CESM folder {root}: {len(hits)} matches for {what} {pattern!r} "
                        f"({', '.join(map(str, hits))}); give the one to use explicitly")
    return hits[0]


@dataclasses.dataclass(frozen=True)
class Sources:
    root: Path
    annotations: Path
    segmentations: Path
    le_dir: Path
    cm_dir: Path

    @classmethod
    def locate(cls, root, annotations=None, segmentations=None, le_dir=None, cm_dir=None) -> "Sources":
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"CDD-CESM folder {root} does not exist (give the folder you downloaded)")
        return cls(root=root,
                   annotations=Path(annotations) if annotations else _find_one(root, ANNOTATIONS_PATTERN, "annotation spreadsheet", False),
                   segmentations=Path(segmentations) if segmentations else _find_one(root, SEGMENTATIONS_PATTERN, "segmentation CSV", False, newest=True),
                   le_dir=Path(le_dir) if le_dir else _find_one(root, LE_FOLDER, "low-energy image folder", True),
                   cm_dir=Path(cm_dir) if cm_dir else _find_one(root, CM_FOLDER, "subtracted image folder", True))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


LEFT_OUT_REASONS = ("incomplete_listing", "normal", "unlabelled", "disagree", "missing_on_disk", "size_mismatch",
                    "no_outline", "centre_outside", "registration_failed")
WANTED = tuple((m, v) for m in ("le", "rec") for v in VIEWS)  # the four images of a breast


def build_cases(sources: Sources, out_csv, options: BuildOptions = BuildOptions(),
                progress=None) -> tuple[pd.DataFrame | None, dict]:
    """Build the case table for the benign-vs-malignant task; write it and its report.

    Returns (table as validated by :func:`validate_cases`, report dict). Writes
    ``out_csv``, ``<stem>-report.json``, ``<stem>-report.md``, ``dataset.json``, the masks
    under ``masks/`` and aligned LE images under ``le-aligned/`` beside ``out_csv``.
    Raises :class:`DataError` (after writing the report) when no case could be built.
    """
    out_csv = Path(out_csv)
    found = read_download(sources, options)
    tally = build_breasts(found, out_csv.parent, options, progress)
    table = None
    if tally.records:
        table = validate_cases(pd.DataFrame(tally.records).astype(str), base=out_csv.parent,
                               source="cdd-cesm case table", check_files=True)
    report = _report(sources, out_csv, options, found, tally, table)
    _write_outputs(sources, out_csv, options, table, report)
    return table, report


@dataclasses.dataclass
class Found:
    """What the download holds: the spreadsheet's rows, the image files and outlines, their irregularities."""

    rows: pd.DataFrame
    sheet_notes: dict
    index: dict
    file_notes: dict
    segs: dict
    seg_notes: dict
    listed: set
    images_missing: list
    not_listed: list
    duplicates: list


def read_download(sources: Sources, options: BuildOptions) -> Found:
    """Read the spreadsheet, index both image folders, read the outlines; note what does not match."""
    for d in (sources.le_dir, sources.cm_dir):
        if not d.is_dir():
            raise DataError(f"image folder {d} does not exist")
    rows, sheet_notes = read_annotations(sources.annotations)
    index, file_notes = index_images([("le", sources.le_dir), ("rec", sources.cm_dir)])
    segs, seg_notes = read_segmentations(sources.segmentations)
    listed_keys = {tuple(k) for k in rows[["patient", "side", "mode", "view"]].itertuples(index=False)}
    images_missing = sorted(rows.loc[[(r.patient, r.side, r.mode, r.view) not in index
                                      for r in rows.itertuples()], "image"].unique(),
                            key=_natural)
    not_listed = sorted(str(f.path) for k, files in index.items() if k not in listed_keys for f in files)
    return Found(rows, sheet_notes, index, file_notes, segs, seg_notes, set(rows["image"]), images_missing,
                 not_listed, _duplicates(index, options.duplicates))


def _duplicates(index: dict, rule: str) -> list[dict]:
    """Every image with several files: the one ``rule`` chooses and the ones it discards."""
    duplicates = []
    for key, files in sorted(index.items(), key=lambda kv: _natural(kv[1][0].name.base)):
        if len(files) > 1:
            chosen = choose_file(files, rule)
            duplicates.append({"image": files[0].name.base, "chosen": str(chosen.path),
                               "discarded": [str(f.path) for f in files if f is not chosen], "rule": rule})
    return duplicates


@dataclasses.dataclass
class Tally:
    """What became of the breasts: case records, the left out by reason, alignments, four-image counts."""

    n_breasts: int = 0
    records: list = dataclasses.field(default_factory=list)
    left_out: dict = dataclasses.field(default_factory=lambda: {k: [] for k in LEFT_OUT_REASONS})
    mixed: list = dataclasses.field(default_factory=list)
    alignment: list = dataclasses.field(default_factory=list)
    counts_four: Counter = dataclasses.field(default_factory=Counter)
    persons_four: set = dataclasses.field(default_factory=set)


class LeftOut(Exception):
    """A breast that cannot be a case: ``reason`` (a key of the report's ``left_out``) and its entry."""

    def __init__(self, reason: str, entry):
        super().__init__(reason)
        self.reason, self.entry = reason, entry


def build_breasts(found: Found, folder: Path, options: BuildOptions, progress=None) -> Tally:
    """Every breast of the spreadsheet, in natural order, built into a case record or left out with its reason."""
    breasts = list(found.rows.groupby(["patient", "side"], sort=False))
    breasts.sort(key=lambda kv: (_natural(kv[0][0]), kv[0][1]))
    tally = Tally(n_breasts=len(breasts))
    started = time.time()
    for n_done, ((patient, side), images) in enumerate(breasts):
        if progress and n_done and n_done % 50 == 0:
            progress(f"cdd-cesm: {n_done}/{len(breasts)} breasts, {len(tally.records)} cases, "
                     f"{time.time() - started:.0f} s")
        try:
            tally.records.append(build_breast(patient, side, images, found, folder, options, tally))
        except LeftOut as left:
            tally.left_out[left.reason].append(left.entry)
    return tally


def build_breast(patient, side, images, found: Found, folder: Path, options: BuildOptions, tally: Tally) -> dict:
    """One breast's case record; raises :class:`LeftOut` with the reason it cannot be one."""
    cid = f"{patient}_{side}"
    pathologies = sorted({p for p in images["pathology"] if p})
    if len(pathologies) > 1:
        tally.mixed.append({"id": cid, "labels": pathologies})
    label = _task_label(patient, side, images, pathologies, options, tally)
    files = _files_on_disk(patient, side, label, found.index, options)
    record = {"id": cid, "group": patient, "label": label, "laterality": side, "scale": 1}
    for v in VIEWS:
        record.update(_build_view(cid, label, v, files, found.segs, folder, options, tally.alignment))
    return record


def _task_label(patient, side, images, pathologies, options: BuildOptions, tally: Tally) -> str:
    """The label of a breast with its four images listed, counted; left out unless benign or malignant."""
    cid = f"{patient}_{side}"
    have = {(m, v) for m, v in zip(images["mode"], images["view"])}
    label = breast_label(images, options.label_rule)
    if len(have) < 4:
        raise LeftOut("incomplete_listing", {"id": cid, "label": label, "missing": [
            _image_name(patient, side, m, v) for m, v in WANTED if (m, v) not in have]})
    tally.counts_four[label] += 1
    tally.persons_four.add(patient)
    if label == "normal":
        raise LeftOut(label, cid)
    if label == "unlabelled":
        raise LeftOut(label, {"id": cid})
    if label == "disagree":
        raise LeftOut(label, {"id": cid, "labels": pathologies})
    return label


def _files_on_disk(patient, side, label, index: dict, options: BuildOptions) -> dict:
    """The file chosen for each of the breast's four images; left out when one has none."""
    files = {}
    for m, v in WANTED:
        found = index.get((patient, side, m, v), [])
        if found:
            files[(m, v)] = choose_file(found, options.duplicates)
    absent = [_image_name(patient, side, m, v) for m, v in WANTED if (m, v) not in files]
    if absent:
        raise LeftOut("missing_on_disk", {"id": f"{patient}_{side}", "label": label, "images": absent})
    return files


def _build_view(cid, label, v, files, segs, folder: Path, options: BuildOptions, alignment: list) -> dict:
    """One view's columns of the case record: LE image (registered into the CM frame), box centre, mask."""
    where = {"id": cid, "label": label, "view": v}
    cm_file, dm_file = files[("rec", v)], files[("le", v)]
    cm_regions, dm_regions = _regions_for(cm_file, segs), _regions_for(dm_file, segs)
    if not cm_regions and not (options.outline_source == "cm-then-dm" and dm_regions):
        raise LeftOut("no_outline", {**where, "dm_outline": bool(dm_regions), "image": cm_file.name.base})
    cm_size, dm_size = _size(cm_file.path), _size(dm_file.path)
    dx = dy = 0
    le_path = dm_file.path
    if options.align == "none":
        if cm_size != dm_size:
            raise LeftOut("size_mismatch", {**where, "cm": _wh(cm_size), "dm": _wh(dm_size)})
    else:
        dx, dy, le_path, entry = register_view(where, cm_file, dm_file, cm_size, dm_size, cm_regions, dm_regions,
                                               options.region, folder / "le-aligned")
        alignment.append(entry)
    if cm_regions:
        regions, source = cm_regions, "cm"
    else:  # outline_source cm-then-dm: the DM outline moved into the CM frame
        regions, source = [r.moved(-dx, -dy) for r in dm_regions], "dm"
    region = choose_region(regions, options.region)
    x, y = region.centre()
    rows_, cols_ = cm_size
    if not (0 <= x < cols_ and 0 <= y < rows_):
        raise LeftOut("centre_outside", {**where, "x": x, "y": y, "image": _wh(cm_size), "file": str(cm_file.path)})
    mask = (region.rasterise(cm_size, options.point_radius) if options.mask_regions == "chosen"
            else np.logical_or.reduce([r.rasterise(cm_size, options.point_radius) for r in regions]))
    mask_path = folder / "masks" / f"{cid}_{v}.png"
    _save_png(mask_path, (mask * 255).astype(np.uint8))
    return {f"le_{v}_path": str(le_path.resolve()), f"rec_{v}_path": str(cm_file.path.resolve()),
            f"{v}_x": x, f"{v}_y": y, f"{v}_mask_path": str(mask_path.resolve()),
            f"{v}_region": f"{region.image}#{region.region_id} {region.shape}", f"{v}_outline_from": source}


def register_view(where, cm_file, dm_file, cm_size, dm_size, cm_regions, dm_regions, region_rule: str,
                  aligned_dir: Path):
    """Register the DM image into the CM frame: (dx, dy, LE path, alignment entry).

    The DM image is moved and written as a PNG under ``aligned_dir`` when the sizes differ or the
    offset exceeds ``ALIGN_TOLERANCE``; otherwise the original file is kept and the offset is 0.
    """
    from ...images import read_image

    cm_pixels, dm_pixels = read_image(cm_file.path), read_image(dm_file.path)
    dx, dy, score = estimate_offset(cm_pixels, dm_pixels)
    entry = {"id": where["id"], "view": where["view"], "dx": dx, "dy": dy, "score": round(score, 3),
             "cm": _wh(cm_size), "dm": _wh(dm_size)}
    if score <= 0:
        raise LeftOut("registration_failed", {**where, "why": "no skin line found"})
    if cm_regions and dm_regions:
        c_cm = choose_region(cm_regions, region_rule).centre()
        c_dm = choose_region(dm_regions, region_rule).centre()
        ox, oy = c_dm[0] - c_cm[0], c_dm[1] - c_cm[1]
        entry["outline_dx"], entry["outline_dy"] = round(ox, 1), round(oy, 1)
        entry["disagreement"] = round(math.hypot(ox - dx, oy - dy), 1)
    le_path = dm_file.path
    if cm_size != dm_size or max(abs(dx), abs(dy)) > ALIGN_TOLERANCE:
        moved = move_into_frame(np.clip(np.rint(dm_pixels), 0, 255).astype(np.uint8), cm_size, dx, dy)
        le_path = aligned_dir / f"{dm_file.name.base}.png"
        _save_png(le_path, moved)
        entry["written"] = str(le_path)
    else:
        dx = dy = 0
    return dx, dy, le_path, entry


def _write_outputs(sources: Sources, out_csv: Path, options: BuildOptions, table, report: dict) -> None:
    """The report (JSON and Markdown) always; the case table and ``dataset.json`` when a case was built."""
    json_path = out_csv.with_name(out_csv.stem + "-report.json")
    md_path = out_csv.with_name(out_csv.stem + "-report.md")
    write_json(json_path, report)
    write_text(md_path, report_markdown(report))
    if table is None:
        raise DataError(f"CDD-CESM folder {sources.root}: no case could be built; see {md_path}")
    write_cases(table, out_csv)
    write_json(out_csv.parent / "dataset.json", {"name": "cdd-cesm", "generator": "d2tl cdd-cesm",
                                                 "config": dataclasses.asdict(options), "citation": CITATION,
                                                 "report": json_path.name})


def _natural(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _image_name(patient, side, mode, view) -> str:
    return f"{patient}_{side}_{'DM' if mode == 'le' else 'CM'}_{view.upper()}"


def _size(path: Path) -> tuple[int, int]:
    from ...images import image_size

    return image_size(path)


def _wh(size) -> str:
    return f"{size[1]}x{size[0]}"
