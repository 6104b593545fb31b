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

from ....atomic import write_text
from ....errors import DataError
from ....provenance import write_json
from ....views import VIEWS
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


def build_cases(sources: Sources, out_csv, options: BuildOptions = BuildOptions(),
                progress=None) -> tuple[pd.DataFrame | None, dict]:
    """Build the case table for the benign-vs-malignant task; write it and its report.

    Returns (table as validated by :func:`validate_cases`, report dict). Writes
    ``out_csv``, ``<stem>-report.json``, ``<stem>-report.md``, ``dataset.json``, the masks
    under ``masks/`` and aligned LE images under ``le-aligned/`` beside ``out_csv``.
    Raises :class:`DataError` (after writing the report) when no case could be built.
    """
    out_csv = Path(out_csv)
    folder = out_csv.parent
    mask_dir, aligned_dir = folder / "masks", folder / "le-aligned"
    for d in (sources.le_dir, sources.cm_dir):
        if not d.is_dir():
            raise DataError(f"image folder {d} does not exist")
    rows, sheet_notes = read_annotations(sources.annotations)
    index, file_notes = index_images([("le", sources.le_dir), ("rec", sources.cm_dir)])
    segs, seg_notes = read_segmentations(sources.segmentations)

    listed = set(rows["image"])
    listed_keys = {tuple(k) for k in rows[["patient", "side", "mode", "view"]].itertuples(index=False)}
    images_missing = sorted(rows.loc[[(r.patient, r.side, r.mode, r.view) not in index
                                      for r in rows.itertuples()], "image"].unique(),
                            key=_natural)
    not_listed = sorted(str(f.path) for k, files in index.items() if k not in listed_keys for f in files)
    duplicates = []
    for key, files in sorted(index.items(), key=lambda kv: _natural(kv[1][0].name.base)):
        if len(files) > 1:
            chosen = choose_file(files, options.duplicates)
            duplicates.append({"image": files[0].name.base, "chosen": str(chosen.path),
                               "discarded": [str(f.path) for f in files if f is not chosen],
                               "rule": options.duplicates})

    left_out = {k: [] for k in ("incomplete_listing", "normal", "unlabelled", "disagree", "missing_on_disk",
                                "size_mismatch", "no_outline", "centre_outside", "registration_failed")}
    mixed, alignment, records = [], [], []
    counts_four = Counter()
    persons_four = set()
    breasts = list(rows.groupby(["patient", "side"], sort=False))
    breasts.sort(key=lambda kv: (_natural(kv[0][0]), kv[0][1]))
    started = time.time()
    for n_done, ((patient, side), images) in enumerate(breasts):
        if progress and n_done and n_done % 50 == 0:
            progress(f"cdd-cesm: {n_done}/{len(breasts)} breasts, {len(records)} cases, "
                     f"{time.time() - started:.0f} s")
        cid = f"{patient}_{side}"
        pathologies = sorted({p for p in images["pathology"] if p})
        if len(pathologies) > 1:
            mixed.append({"id": cid, "labels": pathologies})
        have = {(m, v) for m, v in zip(images["mode"], images["view"])}
        wanted = [(m, v) for m in ("le", "rec") for v in VIEWS]
        label = breast_label(images, options.label_rule)
        if len(have) < 4:
            left_out["incomplete_listing"].append(
                {"id": cid, "label": label, "missing": [_image_name(patient, side, m, v) for m, v in wanted
                                                        if (m, v) not in have]})
            continue
        counts_four[label] += 1
        persons_four.add(patient)
        if label in ("normal", "unlabelled", "disagree"):
            entry = {"id": cid}
            if label == "disagree":
                entry["labels"] = pathologies
            left_out[label].append(entry if label != "normal" else cid)
            continue
        files = {}
        for m, v in wanted:
            found = index.get((patient, side, m, v), [])
            if found:
                files[(m, v)] = choose_file(found, options.duplicates)
        absent = [_image_name(patient, side, m, v) for m, v in wanted if (m, v) not in files]
        if absent:
            left_out["missing_on_disk"].append({"id": cid, "label": label, "images": absent})
            continue
        record = {"id": cid, "group": patient, "label": label, "laterality": side, "scale": 1}
        problem = None
        for v in VIEWS:
            cm_file, dm_file = files[("rec", v)], files[("le", v)]
            cm_regions, dm_regions = _regions_for(cm_file, segs), _regions_for(dm_file, segs)
            if not cm_regions and not (options.outline_source == "cm-then-dm" and dm_regions):
                problem = ("no_outline", {"id": cid, "label": label, "view": v,
                                          "dm_outline": bool(dm_regions), "image": cm_file.name.base})
                break
            cm_size, dm_size = _size(cm_file.path), _size(dm_file.path)
            dx = dy = 0
            le_path = dm_file.path
            if options.align == "none":
                if cm_size != dm_size:
                    problem = ("size_mismatch", {"id": cid, "label": label, "view": v,
                                                 "cm": _wh(cm_size), "dm": _wh(dm_size)})
                    break
            else:
                from ...images import read_image

                cm_pixels, dm_pixels = read_image(cm_file.path), read_image(dm_file.path)
                dx, dy, score = estimate_offset(cm_pixels, dm_pixels)
                entry = {"id": cid, "view": v, "dx": dx, "dy": dy, "score": round(score, 3),
                         "cm": _wh(cm_size), "dm": _wh(dm_size)}
                if score <= 0:
                    problem = ("registration_failed", {"id": cid, "label": label, "view": v,
                                                       "why": "no skin line found"})
                    break
                if cm_regions and dm_regions:
                    c_cm = choose_region(cm_regions, options.region).centre()
                    c_dm = choose_region(dm_regions, options.region).centre()
                    ox, oy = c_dm[0] - c_cm[0], c_dm[1] - c_cm[1]
                    entry["outline_dx"], entry["outline_dy"] = round(ox, 1), round(oy, 1)
                    entry["disagreement"] = round(math.hypot(ox - dx, oy - dy), 1)
                if cm_size != dm_size or max(abs(dx), abs(dy)) > ALIGN_TOLERANCE:
                    moved = move_into_frame(np.clip(np.rint(dm_pixels), 0, 255).astype(np.uint8), cm_size, dx, dy)
                    le_path = aligned_dir / f"{dm_file.name.base}.png"
                    _save_png(le_path, moved)
                    entry["written"] = str(le_path)
                else:
                    dx = dy = 0
                alignment.append(entry)
            if cm_regions:
                regions, source = cm_regions, "cm"
            else:  # outline_source cm-then-dm: the DM outline moved into the CM frame
                regions, source = [r.moved(-dx, -dy) for r in dm_regions], "dm"
            region = choose_region(regions, options.region)
            x, y = region.centre()
            rows_, cols_ = cm_size
            if not (0 <= x < cols_ and 0 <= y < rows_):
                problem = ("centre_outside", {"id": cid, "label": label, "view": v, "x": x, "y": y,
                                              "image": _wh(cm_size), "file": str(cm_file.path)})
                break
            mask = (region.rasterise(cm_size, options.point_radius) if options.mask_regions == "chosen"
                    else np.logical_or.reduce([r.rasterise(cm_size, options.point_radius) for r in regions]))
            mask_path = mask_dir / f"{cid}_{v}.png"
            _save_png(mask_path, (mask * 255).astype(np.uint8))
            record.update({f"le_{v}_path": str(le_path.resolve()), f"rec_{v}_path": str(cm_file.path.resolve()),
                           f"{v}_x": x, f"{v}_y": y, f"{v}_mask_path": str(mask_path.resolve()),
                           f"{v}_region": f"{region.image}#{region.region_id} {region.shape}",
                           f"{v}_outline_from": source})
        if problem:
            left_out[problem[0]].append(problem[1])
            continue
        records.append(record)

    table = None
    if records:
        table = validate_cases(pd.DataFrame(records).astype(str), base=folder, source="cdd-cesm case table",
                               check_files=True)
    report = _report(sources, out_csv, options, rows, sheet_notes, file_notes, seg_notes, breasts,
                     counts_four, persons_four, images_missing, not_listed, duplicates, left_out, mixed,
                     alignment, table, listed)
    json_path, md_path = out_csv.with_name(out_csv.stem + "-report.json"), out_csv.with_name(out_csv.stem + "-report.md")
    write_json(json_path, report)
    write_text(md_path, report_markdown(report))
    if table is None:
        raise DataError(f"CDD-CESM folder {sources.root}: no case could be built; see {md_path}")
    write_cases(table, out_csv)
    write_json(folder / "dataset.json", {"name": "cdd-cesm", "generator": "d2tl cdd-cesm",
                                         "config": dataclasses.asdict(options), "citation": CITATION,
                                         "report": json_path.name})
    return table, report


def _natural(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _image_name(patient, side, mode, view) -> str:
    return f"{patient}_{side}_{'DM' if mode == 'le' else 'CM'}_{view.upper()}"


def _size(path: Path) -> tuple[int, int]:
    from ...images import image_size

    return image_size(path)


def _wh(size) -> str:
    return f"{size[1]}x{size[0]}"
