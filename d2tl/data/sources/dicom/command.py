"""``python -m d2tl from-dicom``: its options and what it prints."""

from __future__ import annotations

import sys
from pathlib import Path

from ....io.errors import DataError
from .build import build_cases, pseudonyms_path


def add_arguments(parser) -> None:
    parser.add_argument("--dicom-dir", required=True, help="folder of CEDM DICOM files (searched recursively)")
    parser.add_argument("--labels", required=True, help="CSV: patient,label,cc_x,cc_y,mlo_x,mlo_y "
                        "[,laterality,group,id,cc_mask_path,mlo_mask_path]")
    from ....protocol.options import add_out

    add_out(parser, "from-dicom")  # a case table, e.g. data/mine/cases.csv
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
    from ....io import checks

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
