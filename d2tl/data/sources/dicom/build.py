"""Building the case table: each labelled patient's images matched by role, scaled, pseudonymised, checked."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from ....io.atomic import write_csv
from ....io.errors import DataError
from ....io.provenance import write_json
from ....protocol.views import LABELS, LATERALITIES, VIEWS
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
    Every problem found is collected and raised together as one :class:`DataError`.
    """
    labels_csv = Path(labels_csv)
    _refuse_results_folder(out_csv)
    rows = read_label_csv(labels_csv)
    images, notes = scan_folder(dicom_dir, patient_from, skip_unreadable)
    by_patient: dict[str, list[DicomImage]] = defaultdict(list)
    for image in images:
        by_patient[image.patient].append(image)
    problems: list[str] = []
    cases = match_rows(rows, by_patient, labels_csv, patient_from, keep_patient_id, problems)
    used = [f for case in cases for f in case.files]
    problems += _id_clashes([case.record["id"] for case in cases], labels_csv)
    mixed = dicom_tags.mixed_intent([(f.path, f.intent) for f in used])
    if mixed and not allow_mixed_intent:
        problems.append(f"{dicom_dir}: {mixed}")
    if problems:
        raise DataError(_listing(f"cannot build a case table from {dicom_dir} and {labels_csv}: "
                                 f"{len(problems)} problem(s)", problems))
    records = [case.record for case in cases]
    table = validate_cases(pd.DataFrame(records).drop(columns="patient").astype(str),
                           base=Path(out_csv).parent if out_csv else labels_csv.parent,
                           source="from-dicom case table", check_files=True)
    report = _report(dicom_dir, labels_csv, patient_from, keep_patient_id, table, images, notes, cases,
                     _ignored(by_patient, rows), mixed)
    if out_csv:
        out_csv = Path(out_csv)
        write_cases(table, out_csv)
        write_json(out_csv.with_name(out_csv.stem + "-report.json"), report)
        write_csv(pseudonyms_path(out_csv), pd.DataFrame(records)[["patient", "id", "group"]].astype(str))
    return table, report


def _refuse_results_folder(out_csv) -> None:
    """Results must hold no patient identifiers: no case table or pseudonym mapping under ``results``."""
    if out_csv is not None and "results" in Path(out_csv).resolve().parent.parts:
        raise DataError(f"--out {out_csv}: a case table and its pseudonym mapping must not be under a results "
                        "folder (results must hold no patient identifiers)")


@dataclasses.dataclass
class Case:
    """One label-CSV row matched: its case-table record (with ``patient``), image files and pixel pitch."""

    record: dict
    files: list
    pitch: str | None


def match_rows(rows: pd.DataFrame, by_patient: dict, labels_csv: Path, patient_from: str, keep_patient_id: bool,
               problems: list) -> list[Case]:
    """Every labelled row matched to its images, in CSV order; the rows that cannot be are noted in ``problems``."""
    pseudonym = ({p: p for p in rows["patient"]} if keep_patient_id else
                 {p: f"P{i:04d}" for i, p in enumerate(sorted(set(rows["patient"]) - {""}), start=1)})
    per_patient_rows = rows["patient"].value_counts()
    cases = []
    for index, row in enumerate(rows.to_dict("records")):
        patient = row["patient"]
        line_at = f"{labels_csv} line {index + 2}"
        if patient == "":
            problems.append(f"{line_at}: column patient is empty")
            continue
        case = match_row(row, f"{line_at} (patient {patient})", by_patient, patient_from, pseudonym[patient],
                         per_patient_rows[patient] == 1, problems)
        if case is not None:
            cases.append(case)
    return cases


def match_row(row: dict, at: str, by_patient: dict, patient_from: str, alias: str, single: bool,
              problems: list) -> Case | None:
    """One row's case: the breast, each view's images and box centre, the scale; None with its problems noted.

    ``alias`` (the patient's pseudonym) is the default group, and the default id when the patient
    has a ``single`` row (else alias_laterality).
    """
    patient = row["patient"]
    label = row["label"].lower()
    if label not in LABELS:
        problems.append(f"{at}: label {row['label']!r} is not one of {', '.join(LABELS)}")
    files = by_patient.get(patient, [])
    if not files:
        known = sorted(by_patient)[:5]
        problems.append(f"{at}: no DICOM image with this patient "
                        f"{'id' if patient_from == 'tag' else 'folder'} (found e.g. {known})")
        return None
    lat = _laterality(row, at, files, problems)
    if lat is None:
        return None
    record = {"id": row["id"] or (alias if single else f"{alias}_{lat}"), "group": row["group"] or alias, "patient": patient, "label": label,
              "laterality": lat, "scale": 1, "cc_mask_path": row["cc_mask_path"], "mlo_mask_path": row["mlo_mask_path"]}
    ok, chosen_files = True, []
    for view in VIEWS:
        chosen = view_images(at, view, lat, files, problems)
        if chosen is None:
            ok = False
            continue
        for mode in ("le", "rec", "he"):
            record[f"{mode}_{view}_path"] = str(chosen[mode].path.resolve()) if mode in chosen else ""
        chosen_files += chosen.values()
        ok = box_centre(row, at, view, chosen, record, problems) and ok
    if not ok:
        return None
    try:
        record["scale"], pitch = case_scale(chosen_files, at)
    except DataError as exc:
        problems.append(str(exc))
        return None
    return Case(record, chosen_files, pitch) if label in LABELS else None


def _laterality(row: dict, at: str, files: list[DicomImage], problems: list) -> str | None:
    """The row's breast: its laterality column, else the one side its patient's files show."""
    lat = row["laterality"].upper()
    if lat and lat not in LATERALITIES:
        problems.append(f"{at}: laterality {row['laterality']!r} is not L or R")
        return None
    if lat:
        return lat
    sides = sorted({f.laterality for f in files if f.laterality})
    if len(sides) != 1:
        problems.append(f"{at}: " + (
            f"images of both breasts ({', '.join(f'{s}: {sum(f.laterality == s for f in files)} files' for s in sides)}), "
            "give the breast in a laterality column" if sides else
            "no file has a usable laterality: " + ", ".join(f"{f.path} ({f.note})" for f in files)))
        return None
    return sides[0]


def view_images(at: str, view: str, lat: str, files: list[DicomImage], problems: list) -> dict | None:
    """{mode: image} of one view of the breast: LE and REC or HE, one file per role; None with problems noted."""
    chosen, ok = {}, True
    for mode in ("le", "rec", "he"):
        hits = [f for f in files if f.view == view and f.laterality == lat and f.mode == mode and not f.note]
        if len(hits) > 1:
            problems.append(f"{at}: {len(hits)} {mode.upper()} {view.upper()} images of the {lat} breast "
                            f"({', '.join(str(f.path) for f in hits)}), keep one")
            ok = False
        elif hits:
            chosen[mode] = hits[0]
    need = ["le"] + ([] if "rec" in chosen or "he" in chosen else ["rec"])
    missing = [m for m in need if m not in chosen]
    if missing and ok:
        unclear = [f for f in files if f.note and f.laterality in (None, lat)]
        hint = (" (files whose role is unclear: " + ", ".join(f"{f.path} ({f.note})" for f in unclear) + ")") if unclear else ""
        problems.append(f"{at}: no {' or '.join('recombined (or high-energy)' if m == 'rec' else 'low-energy' for m in missing)} "
                        f"{view.upper()} image of the {lat} breast among {len(files)} file(s){hint}")
        ok = False
    return chosen if ok else None


def box_centre(row: dict, at: str, view: str, chosen: dict, record: dict, problems: list) -> bool:
    """Copy the view's box centre into ``record``; False (problems noted) unless it is a number inside
    the view's images, all of one size."""
    sizes = {(f.rows, f.cols) for f in chosen.values()}
    if len(sizes) > 1:
        problems.append(f"{at}: the {view.upper()} images differ in size: " +
                        ", ".join(f"{f.path} {f.cols}x{f.rows}" for f in chosen.values()))
        return False
    rows_, cols_ = sizes.pop()
    ok = True
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
    return ok


def _id_clashes(ids: list[str], labels_csv: Path) -> list[str]:
    """A problem per id that names two cases."""
    ids = pd.Series(ids)
    return [f"{labels_csv}: id {dup!r} names two cases; give an id column" for dup in sorted(set(ids[ids.duplicated()]))]


def _ignored(by_patient: dict, rows: pd.DataFrame) -> list[dict]:
    """The patients with DICOM files but no row in the label CSV."""
    listed = set(rows["patient"])
    return [{"patient": patient, "files": len(files), "why": "not in the label CSV"}
            for patient, files in sorted(by_patient.items()) if patient not in listed]


def _report(dicom_dir, labels_csv, patient_from, keep_patient_id, table, images, notes, cases, ignored, mixed) -> dict:
    """What was built and from what: counts, skipped and unidentified files, conventions, each image used."""
    used = [f for case in cases for f in case.files]
    return {"dicom_dir": str(dicom_dir), "labels": str(labels_csv), "patient_from": patient_from,
            "ids": "patient (--keep-patient-id)" if keep_patient_id else "pseudonyms",
            "cases": int(len(table)), "labels_count": {k: int((table["label"] == k).sum()) for k in LABELS},
            "persons": int(table["group"].nunique()),
            "views_from_high_energy": int(sum((table[f"rec_{v}_path"] == "").sum() for v in VIEWS)),
            "dicom_images": notes["images"], "not_images": notes["not_images"],
            "unreadable_skipped": notes["unreadable"], "contradictory_skipped": notes["contradictory"],
            "patients_ignored": ignored, "scales": sorted({float(s) for s in table["scale"]}),
            "cases_without_pixel_spacing": [case.record["id"] for case in cases if case.pitch is None],
            "mixed_intent_allowed": bool(mixed),
            "conventions": conventions(used), "conventions_all_files": conventions(images),
            "mode_from_kvp": [f.record() for f in images if f.mode_from == dicom_tags.KVP_FALLBACK],
            "unidentified": [f.record() for f in images if f.note], "images": [f.record() for f in used]}
