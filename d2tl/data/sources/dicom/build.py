"""Building the case table: each labelled patient's images matched by role, scaled, pseudonymised, checked."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from ....atomic import write_csv
from ....errors import DataError
from ....provenance import write_json
from ....views import LABELS, LATERALITIES, VIEWS
from ... import dicom_tags
from ...cases import validate_cases, write_cases
from .labels import read_label_csv
from .scan import DicomImage, _listing, scan_folder


def case_scale(files: list[DicomImage], at: str) -> tuple[float, str | None]:
    """(scale, pitch) of one case's images: 0.07 mm / their common pitch, (1, None) when none has one.

    Raises :class:`DataError` (``at`` names the case) when their pitches differ by more than 1 %.
    """
    pitched = [f for f in files if f.pitch_mm is not None]
    if not pitched:
        return 1.0, None
    pitches = [float(f.pitch_mm) for f in pitched]
    if max(pitches) > 1.01 * min(pitches):
        raise DataError(f"{at}: the images' pixel pitches differ: " +
                        ", ".join(f"{f.path} {f.pitch_mm} mm ({f.pitch_from})" for f in pitched))
    return dicom_tags.scale_from_pitch(pitched[0].pitch_mm), pitched[0].pitch_mm


def conventions(images: list[DicomImage]) -> dict:
    """How many files follow each convention: mode (standard / vendor alias / kVp fallback),
    view source, pitch source, presentation intent."""
    count = lambda values: dict(Counter(v or "none" for v in values).most_common())  # noqa: E731
    return {"image_type": count(f.mode_from for f in images), "view": count(f.view_from for f in images),
            "pixel_spacing": count(f.pitch_from for f in images), "presentation_intent": count(f.intent for f in images)}


def pseudonyms_path(out_csv) -> Path:
    """The patient -> id, group mapping beside a from-dicom case table."""
    out_csv = Path(out_csv)
    return out_csv.with_name(out_csv.stem + "-pseudonyms.csv")


def build_cases(dicom_dir, labels_csv, out_csv=None, patient_from: str = "tag",
                skip_unreadable: bool = False, allow_mixed_intent: bool = False,
                keep_patient_id: bool = False) -> tuple[pd.DataFrame, dict]:
    """Identify each CSV row's four images among the DICOM files; return (case table, report).

    Writes the case table (with ``<stem>-report.json`` and ``<stem>-pseudonyms.csv``) when
    ``out_csv`` is given. Images of both presentation intents are refused unless
    ``allow_mixed_intent``. Ids and groups are pseudonyms unless ``keep_patient_id``.
    """
    labels_csv = Path(labels_csv)
    if out_csv is not None and "results" in Path(out_csv).resolve().parent.parts:
        raise DataError(f"--out {out_csv}: a case table and its pseudonym mapping must not be under a results "
                        "folder (results must hold no patient identifiers)")
    rows = read_label_csv(labels_csv)
    pseudonym = ({p: p for p in rows["patient"]} if keep_patient_id else
                 {p: f"P{i:04d}" for i, p in enumerate(sorted(set(rows["patient"]) - {""}), start=1)})
    images, notes = scan_folder(dicom_dir, patient_from, skip_unreadable)
    by_patient: dict[str, list[DicomImage]] = defaultdict(list)
    for image in images:
        by_patient[image.patient].append(image)
    per_patient_rows = rows["patient"].value_counts()
    problems, records, ignored, used, unpitched = [], [], [], [], []
    for index, row in enumerate(rows.to_dict("records")):
        line = index + 2
        patient = row["patient"]
        at = f"{labels_csv} line {line} (patient {patient})"
        if patient == "":
            problems.append(f"{labels_csv} line {line}: column patient is empty")
            continue
        label = row["label"].lower()
        if label not in LABELS:
            problems.append(f"{at}: label {row['label']!r} is not one of {', '.join(LABELS)}")
        files = by_patient.get(patient, [])
        if not files:
            known = sorted(by_patient)[:5]
            problems.append(f"{at}: no DICOM image with this patient "
                            f"{'id' if patient_from == 'tag' else 'folder'} (found e.g. {known})")
            continue
        lat = row["laterality"].upper()
        if lat and lat not in LATERALITIES:
            problems.append(f"{at}: laterality {row['laterality']!r} is not L or R")
            continue
        if not lat:
            sides = sorted({f.laterality for f in files if f.laterality})
            if len(sides) != 1:
                problems.append(f"{at}: " + (
                    f"images of both breasts ({', '.join(f'{s}: {sum(f.laterality == s for f in files)} files' for s in sides)}), "
                    "give the breast in a laterality column" if sides else
                    "no file has a usable laterality: " + ", ".join(f"{f.path} ({f.note})" for f in files)))
                continue
            lat = sides[0]
        alias = pseudonym[patient]
        record = {"id": row["id"] or (alias if per_patient_rows[patient] == 1 else f"{alias}_{lat}"),
                  "group": row["group"] or alias, "patient": patient, "label": label, "laterality": lat, "scale": 1,
                  "cc_mask_path": row["cc_mask_path"], "mlo_mask_path": row["mlo_mask_path"]}
        unclear = [f for f in files if f.note and f.laterality in (None, lat)]
        ok, chosen_files = True, []
        for view in VIEWS:
            chosen, view_ok = {}, True
            for mode in ("le", "rec", "he"):
                hits = [f for f in files if f.view == view and f.laterality == lat and f.mode == mode and not f.note]
                if len(hits) > 1:
                    problems.append(f"{at}: {len(hits)} {mode.upper()} {view.upper()} images of the {lat} breast "
                                    f"({', '.join(str(f.path) for f in hits)}), keep one")
                    view_ok = False
                elif hits:
                    chosen[mode] = hits[0]
            need = ["le"] + ([] if "rec" in chosen or "he" in chosen else ["rec"])
            missing = [m for m in need if m not in chosen]
            if missing and view_ok:
                hint = (" (files whose role is unclear: " + ", ".join(f"{f.path} ({f.note})" for f in unclear) + ")") if unclear else ""
                problems.append(f"{at}: no {' or '.join('recombined (or high-energy)' if m == 'rec' else 'low-energy' for m in missing)} "
                                f"{view.upper()} image of the {lat} breast among {len(files)} file(s){hint}")
                view_ok = False
            if not view_ok:
                ok = False
                continue
            for mode, column in (("le", f"le_{view}_path"), ("rec", f"rec_{view}_path"), ("he", f"he_{view}_path")):
                record[column] = str(chosen[mode].path.resolve()) if mode in chosen else ""
            chosen_files += chosen.values()
            sizes = {(f.rows, f.cols) for f in chosen.values()}
            if len(sizes) > 1:
                problems.append(f"{at}: the {view.upper()} images differ in size: " +
                                ", ".join(f"{f.path} {f.cols}x{f.rows}" for f in chosen.values()))
                ok = False
                continue
            rows_, cols_ = sizes.pop()
            for axis, limit in (("x", cols_), ("y", rows_)):
                value = row[f"{view}_{axis}"]
                try:
                    number = float(value)
                except ValueError:
                    problems.append(f"{at}, column {view}_{axis}: {value!r} is not a number")
                    ok = False
                    continue
                if not 0 <= number < limit:
                    problems.append(f"{at}, column {view}_{axis}: box centre {value} is outside the {view.upper()} "
                                    f"image ({cols_}x{rows_} px, {chosen['le'].path})")
                    ok = False
                record[f"{view}_{axis}"] = value
        if ok:
            try:
                record["scale"], pitch = case_scale(chosen_files, at)
            except DataError as exc:
                problems.append(str(exc))
                ok = False
        if ok and label in LABELS:
            records.append(record)
            used += chosen_files
            if pitch is None:
                unpitched.append(record["id"])
    listed = set(rows["patient"])
    for patient, files in sorted(by_patient.items()):
        if patient not in listed:
            ignored.append({"patient": patient, "files": len(files), "why": "not in the label CSV"})
    ids = pd.Series([r["id"] for r in records])
    for dup in sorted(set(ids[ids.duplicated()])):
        problems.append(f"{labels_csv}: id {dup!r} names two cases; give an id column")
    mixed = dicom_tags.mixed_intent([(f.path, f.intent) for f in used])
    if mixed and not allow_mixed_intent:
        problems.append(f"{dicom_dir}: {mixed}")
    if problems:
        raise DataError(_listing(f"cannot build a case table from {dicom_dir} and {labels_csv}: "
                                 f"{len(problems)} problem(s)", problems))
    base = Path(out_csv).parent if out_csv else labels_csv.parent
    mapping = pd.DataFrame(records)[["patient", "id", "group"]].astype(str)
    table = validate_cases(pd.DataFrame(records).drop(columns="patient").astype(str), base=base,
                           source="from-dicom case table", check_files=True)
    report = {"dicom_dir": str(dicom_dir), "labels": str(labels_csv), "patient_from": patient_from,
              "ids": "patient (--keep-patient-id)" if keep_patient_id else "pseudonyms",
              "cases": int(len(table)), "labels_count": {k: int((table["label"] == k).sum()) for k in LABELS},
              "persons": int(table["group"].nunique()),
              "views_from_high_energy": int(sum((table[f"rec_{v}_path"] == "").sum() for v in VIEWS)),
              "dicom_images": notes["images"], "not_images": notes["not_images"],
              "unreadable_skipped": notes["unreadable"], "contradictory_skipped": notes["contradictory"],
              "patients_ignored": ignored, "scales": sorted({float(s) for s in table["scale"]}),
              "cases_without_pixel_spacing": unpitched, "mixed_intent_allowed": bool(mixed),
              "conventions": conventions(used), "conventions_all_files": conventions(images),
              "mode_from_kvp": [f.record() for f in images if f.mode_from == dicom_tags.KVP_FALLBACK],
              "unidentified": [f.record() for f in images if f.note], "images": [f.record() for f in used]}
    if out_csv:
        out_csv = Path(out_csv)
        write_cases(table, out_csv)
        write_json(out_csv.with_name(out_csv.stem + "-report.json"), report)
        write_csv(pseudonyms_path(out_csv), mapping)
    return table, report
