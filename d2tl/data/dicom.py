"""One's own CEDM data as DICOM files plus a small label CSV -> a case table.

Layout: any folder tree of DICOM files (``.dcm``/``.dicom``/``.ima``, or any file that starts
like DICOM), one file per image, plus a CSV with one row per case::

    patient,label,cc_x,cc_y,mlo_x,mlo_y[,laterality][,group][,id][,cc_mask_path,mlo_mask_path]
    ANON0001,malignant,812,1630,744,1702,L
    ANON0002,benign,455,990,501,1210

* ``patient`` matches the files' PatientID tag (``--patient-from folder``: the first folder
  under the DICOM folder instead); ``label`` is benign or malignant; box centres are in the
  view's stored pixel coordinates (x = column, y = row, as the file stores them, before the
  mirroring of right breasts); ``laterality`` (L/R) is needed only when a patient has images
  of both breasts; ``group`` (the person) and ``id`` default to a pseudonym of the patient,
  ``P0001``, ``P0002`` ... in the sorted order of the CSV's patients (``<pseudonym>_<L|R>`` when
  the patient has two rows): a PatientID is an identifier and must not reach results/. The
  mapping is written beside the case table (``<stem>-pseudonyms.csv``: patient, id, group),
  never under a ``results`` folder. ``keep_patient_id`` (``--keep-patient-id``) uses the
  patient itself instead, and says so loudly.
* Each file's role comes from its tags (:mod:`d2tl.data.dicom_tags`): view from ViewPosition
  or the View Code Sequence (CC, MLO; other views are ignored), laterality from
  ImageLaterality (or Laterality; the two must agree), mode from Image Type values 4 and 5
  (vendor aliases accepted, kVp as a reported fallback). A view needs one LE image and one
  recombined image; a high-energy image stands in for a missing recombined one (the
  recombined image is then computed on reading, see :func:`d2tl.data.images.recombine`).
* A case's ``scale`` is 0.07 mm / the images' pixel pitch (ImagerPixelSpacing, else
  PixelSpacing; 1 when neither is given). FOR PROCESSING and FOR PRESENTATION images are not
  mixed unless ``allow_mixed_intent`` (``--mixed-intent``).
* Every problem -- an unreadable file (empty, not DICOM, truncated pixel data), a patient
  whose four images cannot be identified (missing, duplicated, contradictory tags), a centre
  outside its image -- is collected, and all are raised together as one :class:`DataError`
  naming the patients and files.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pydicom
from pydicom.errors import InvalidDicomError

from ..atomic import write_csv
from ..errors import DataError
from ..provenance import write_json
from ..views import LABELS, LATERALITIES, VIEWS
from .cases import validate_cases, write_cases
from . import dicom_tags
from .dicom_tags import ContradictoryTags
from ..text_table import read_text_table

DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".txt", ".csv", ".json", ".md", ".xlsx")
CSV_REQUIRED = ("patient", "label", "cc_x", "cc_y", "mlo_x", "mlo_y")
CSV_OPTIONAL = ("laterality", "group", "id", "cc_mask_path", "mlo_mask_path")
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
MAX_LISTED = 20  # problems listed in one error message


@dataclasses.dataclass(frozen=True)
class DicomImage:
    path: Path
    patient: str
    view: str | None  # cc / mlo / None (other or absent)
    laterality: str | None
    mode: str | None  # le / rec / he / None
    rows: int
    cols: int
    note: str = ""  # why the file cannot serve (contradictory tags, other view ...)
    mode_from: str = ""  # standard / vendor alias / kVp fallback ("" when unidentified)
    mode_detail: str = ""  # the values that gave the mode
    view_from: str = ""  # ViewPosition / View Code Sequence / both
    pitch_mm: str | None = None  # pixel pitch, mm
    pitch_from: str = ""  # ImagerPixelSpacing / PixelSpacing
    intent: str = ""  # FOR PRESENTATION / FOR PROCESSING / "" unknown

    def record(self) -> dict:
        """What the report says about this file."""
        return {"file": str(self.path), "patient": self.patient, "mode": self.mode, "mode_from": self.mode_from,
                "mode_detail": self.mode_detail, "view": self.view, "view_from": self.view_from,
                "laterality": self.laterality, "pitch_mm": self.pitch_mm, "pitch_from": self.pitch_from,
                "intent": self.intent, "note": self.note}


def _candidates(folder: Path):
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        if path.name.upper() == "DICOMDIR":
            continue
        suffix = path.suffix.lower()
        if suffix in DICOM_SUFFIXES:
            yield path
        elif suffix not in RASTER_SUFFIXES and path.stat().st_size >= 132 and pydicom.misc.is_dicom(str(path)):
            yield path


def read_dicom_file(path: Path, patient_from: str = "tag", root: Path | None = None) -> DicomImage | None:
    """The identifying tags of one file, after checking that its pixel data is all there.

    Returns None for DICOM objects that are not images (no pixel data, e.g. a structured
    report). Raises :class:`DataError` naming the file when it cannot be read.
    """
    if path.stat().st_size == 0:
        raise DataError(f"file {path}: empty file")
    try:
        ds = pydicom.dcmread(str(path))
    except InvalidDicomError:
        raise DataError(f"file {path}: not a DICOM file (no 'DICM' marker after the 128-byte preamble)") from None
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise DataError(f"file {path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from None
    if str(ds.get("SOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
        return None
    if "PixelData" not in ds:
        if "Rows" in ds:
            raise DataError(f"file {path}: DICOM image without pixel data (truncated file?)")
        return None
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax is None or not getattr(syntax, "is_compressed", False):
        bits = int(ds.get("BitsAllocated", 16) or 16)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        expected = (rows * cols * frames * samples * bits + 7) // 8
        if len(ds.PixelData) < expected:
            raise DataError(f"file {path}: truncated: {len(ds.PixelData)} bytes of pixel data, "
                            f"{expected} expected for {cols}x{rows} px at {bits} bits")
    # (compressed pixel data is decoded by check-data, which reads every image)
    if patient_from == "folder" and root is not None:
        patient = path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else ""
    else:
        patient = str(ds.get("PatientID", "")).strip()
    notes = []
    view = dicom_tags.view_of(ds)
    if view.note:
        notes.append(view.note)
    lats = {str(ds.get(k, "")).strip().upper() for k in ("ImageLaterality", "Laterality")} - {""}
    laterality = None
    if len(lats) > 1:
        notes.append(f"ImageLaterality {ds.get('ImageLaterality')!r} and Laterality {ds.get('Laterality')!r} disagree")
    elif lats and lats <= set(LATERALITIES):
        laterality = lats.pop()
    else:
        notes.append(f"laterality {(lats.pop() if lats else '(none)')!r} is not L or R")
    mode = dicom_tags.mode_of(ds, path)  # two roles named: ContradictoryTags
    if mode.value is None:
        notes.append(mode.note)
    pitch = dicom_tags.pitch_of(ds)
    return DicomImage(path=path, patient=patient, view=view.value, laterality=laterality, mode=mode.value,
                      rows=rows, cols=cols, note=", ".join(notes), mode_from=mode.source,
                      mode_detail=mode.note if mode.value else "", view_from=view.source,
                      pitch_mm=pitch.value, pitch_from=pitch.source, intent=dicom_tags.intent_of(ds))


def scan_folder(folder, patient_from: str = "tag", skip_unreadable: bool = False) -> tuple[list[DicomImage], dict]:
    """Every DICOM image under ``folder``; raises one error listing every unreadable file
    (unless ``skip_unreadable``, which lists them in the notes instead)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"DICOM folder {folder} does not exist")
    images, unreadable, contradictory, not_images = [], [], [], []
    for path in _candidates(folder):
        try:
            image = read_dicom_file(path, patient_from, folder)
        except ContradictoryTags as exc:
            contradictory.append(str(exc))
            continue
        except DataError as exc:
            unreadable.append(str(exc))
            continue
        if image is None:
            not_images.append(str(path))
        else:
            images.append(image)
    if (unreadable or contradictory) and not skip_unreadable:
        heads = [f"{len(unreadable)} unreadable file(s)"] * bool(unreadable) + \
                [f"{len(contradictory)} file(s) with contradictory ImageType"] * bool(contradictory)
        raise DataError(_listing(f"DICOM folder {folder}: {' and '.join(heads)}", unreadable + contradictory))
    return images, {"unreadable": unreadable, "contradictory": contradictory, "not_images": not_images,
                    "images": len(images)}


def _listing(head: str, items: list[str]) -> str:
    shown = items[:MAX_LISTED]
    more = f"; ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"{head}: " + "; ".join(shown) + more


def read_label_csv(path) -> pd.DataFrame:
    """The small label CSV, columns named case-insensitively; errors name the file and line."""
    path = Path(path)
    table = read_text_table(path, "label CSV")
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in CSV_REQUIRED if c not in table.columns]
    if missing:
        raise DataError(f"label CSV {path}: missing column(s) {', '.join(missing)}; required: "
                        f"{', '.join(CSV_REQUIRED)}; optional: {', '.join(CSV_OPTIONAL)}")
    for column in CSV_OPTIONAL:
        if column not in table.columns:
            table[column] = ""
    table = table.apply(lambda c: c.str.strip())
    if table.empty:
        raise DataError(f"label CSV {path}: no rows")
    return table


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


def add_arguments(parser) -> None:
    parser.add_argument("--dicom-dir", required=True, help="folder of CEDM DICOM files (searched recursively)")
    parser.add_argument("--labels", required=True, help="CSV: patient,label,cc_x,cc_y,mlo_x,mlo_y "
                        "[,laterality,group,id,cc_mask_path,mlo_mask_path]")
    parser.add_argument("--out", required=True, help="case table to write, e.g. data/mine/cases.csv")
    parser.add_argument("--patient-from", choices=("tag", "folder"), default="tag",
                        help="match the CSV's patient to the PatientID tag or to the first folder under "
                             "--dicom-dir (default %(default)s)")
    parser.add_argument("--skip-unreadable", action="store_true",
                        help="list unreadable files (and files whose ImageType names two roles) in the report "
                             "instead of stopping")
    parser.add_argument("--mixed-intent", action="store_true",
                        help="allow FOR PROCESSING (raw) and FOR PRESENTATION images in one data set")
    parser.add_argument("--keep-patient-id", action="store_true",
                        help="name cases and persons by the patient (PatientID or folder) instead of pseudonyms "
                             "P0001 ...; results then carry patient identifiers")


def run(args) -> int:
    from .. import checks

    if not Path(args.dicom_dir).is_dir():
        raise DataError(f"--dicom-dir {args.dicom_dir}: folder does not exist")
    checks.input_file("--labels", args.labels, "label CSV")
    checks.output_file("--out", args.out, "case table")
    if args.keep_patient_id:
        print("WARNING: --keep-patient-id: case ids and persons are the patients' "
              f"{'PatientID tags' if args.patient_from == 'tag' else 'folder names'}; every result will carry "
              "these identifiers", file=sys.stderr, flush=True)
    table, report = build_cases(args.dicom_dir, args.labels, args.out, args.patient_from, args.skip_unreadable,
                                args.mixed_intent, keep_patient_id=args.keep_patient_id)
    counts = ", ".join(f"{k} {v}" for k, v in report["labels_count"].items())
    print(f"wrote {args.out}: {report['cases']} cases ({counts}) from {report['persons']} persons, "
          f"{report['dicom_images']} DICOM images scanned")
    if not args.keep_patient_id:
        print(f"case ids are pseudonyms; the mapping to patients is {pseudonyms_path(args.out)} "
              "(keep it with the DICOM files, never with results)")
    if report["views_from_high_energy"]:
        print(f"{report['views_from_high_energy']} views have HE instead of recombined images "
              "(recombined is computed on reading)")
    used = report["conventions"]["image_type"]
    print("image modes read from: " + ", ".join(f"{k} {v}" for k, v in used.items())
          + f"; scale {', '.join(f'{v:g}' for v in report['scales'])}"
          + (f" ({len(report['cases_without_pixel_spacing'])} cases without pixel spacing: scale 1)"
             if report["cases_without_pixel_spacing"] else ""))
    for key in ("not_images", "unreadable_skipped", "contradictory_skipped", "mode_from_kvp", "unidentified",
                "patients_ignored"):
        if report[key]:
            print(f"{key.replace('_', ' ')}: {len(report[key])} (see the report)")
    return 0
