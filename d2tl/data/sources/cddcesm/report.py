"""What the adapter did, for ``cases-report.json`` and ``cases-report.md``: counts and every left-out breast."""

from __future__ import annotations

import dataclasses
import json

from ....protocol.views import LABELS, VIEWS
from .options import CITATION, OUTLINE_DISAGREEMENT, WEAK_SCORE


def _report(sources, out_csv, options, found, tally, table) -> dict:
    """The report of one build: ``found`` (what the download holds), ``tally`` (what became of each breast)."""
    rows, sheet_notes, file_notes, seg_notes = found.rows, found.sheet_notes, found.file_notes, found.seg_notes
    counts_four, left_out, alignment = tally.counts_four, tally.left_out, tally.alignment
    flagged = [a for a in alignment if a["score"] < WEAK_SCORE or a.get("disagreement", 0) > OUTLINE_DISAGREEMENT]
    return {
        "data_set": "CDD-CESM", "citation": CITATION,
        "sources": {k: str(v) for k, v in dataclasses.asdict(sources).items()},
        "case_table": str(out_csv), "options": dataclasses.asdict(options),
        "cases": _case_counts(table),
        "spreadsheet": {
            "rows": sheet_notes["rows"], "images": len(found.listed), "patients": int(rows["patient"].nunique()),
            "breasts": tally.n_breasts,
            "breasts_with_four_images_listed": int(sum(counts_four.values())),
            "labels_of_four_image_breasts": {k: int(counts_four.get(k, 0)) for k in
                                             ("benign", "malignant", "normal", "unlabelled", "disagree")},
            "persons_with_a_four_image_breast": len(tally.persons_four),
            "breasts_with_mixed_image_labels": tally.mixed,
        },
        "left_out": {k: v for k, v in left_out.items()},
        "left_out_counts": {k: len(v) for k, v in left_out.items()},
        "irregularities": {
            "spreadsheet_names_with_spaces": sheet_notes["names_with_spaces"],
            "spreadsheet_duplicate_rows": sheet_notes["duplicate_rows"],
            "spreadsheet_unparsed_names": sheet_notes["unparsed_names"],
            "spreadsheet_field_conflicts": sheet_notes["field_conflicts"],
            "spreadsheet_unknown_pathology": sheet_notes["unknown_pathology"],
            "spreadsheet_blank_rows": sheet_notes["blank_rows"],
            "file_names_normalised": file_notes["names_normalised"],
            "duplicate_files_resolved": found.duplicates,
            "images_missing_on_disk": found.images_missing,
            "files_not_in_spreadsheet": found.not_listed,
            "unrecognised_files": file_notes["unrecognised_files"],
            "files_in_the_other_folder": file_notes["wrong_folder"],
            "segmentation_rows_skipped": seg_notes["rows_skipped"],
            "segmentation_names_normalised": seg_notes["names_normalised"],
        },
        "image_files": file_notes["files"], "segmentation_rows": seg_notes["rows"],
        "alignment": {"mode": options.align, "views": alignment, "flagged": flagged,
                      "note": "dx, dy: DM pixel (x+dx, y+dy) shows CM pixel (x, y); score: share of DM "
                              "skin-line pixels on the CM skin line after the shift; outline_dx/dy: the "
                              "same offset implied by outlines drawn on both images"},
    }


def _case_counts(table) -> dict:
    """Cases per label and persons (two cases, both labels), views outlined from the DM image."""
    if table is None:
        return {"n": 0, "labels": {label: 0 for label in LABELS}, "persons": 0}
    per_person = table.groupby("group")["label"].agg(lambda s: sorted(set(s)))
    return {"n": int(len(table)),
            "labels": {label: int((table["label"] == label).sum()) for label in LABELS},
            "persons": int(table["group"].nunique()),
            "persons_with_two_cases": int((table.groupby("group").size() > 1).sum()),
            "persons_with_benign_and_malignant": int(sum(len(v) > 1 for v in per_person)),
            "views_outlined_from_dm": int(sum((table[f"{v}_outline_from"] == "dm").sum() for v in VIEWS))}


LEFT_OUT_WHY = {"incomplete_listing": "fewer than four images listed in the spreadsheet",
                "normal": "normal (not part of the benign-vs-malignant task)",
                "unlabelled": "no usable pathology", "disagree": "images disagree (label rule `all`)",
                "missing_on_disk": "an image listed but missing on disk",
                "size_mismatch": "DM and CM images of a view differ in size (align `none`)",
                "no_outline": "no lesion outline on a view's CM image",
                "centre_outside": "outline centre outside the image",
                "registration_failed": "DM/CM registration failed"}


def report_markdown(report: dict) -> str:
    """A human-readable version of the report."""
    c, s, out = report["cases"], report["spreadsheet"], report["left_out"]
    lines = ["# CDD-CESM case table report", "",
             f"Case table: `{report['case_table']}`  ", f"Data: {report['citation']}", "",
             "Options: " + ", ".join(f"`{k}={v}`" for k, v in report["options"].items()), "",
             "## Cases", "",
             f"{c['n']} cases (" + ", ".join(f"{k} {v}" for k, v in c["labels"].items()) +
             f") from {c['persons']} persons."]
    if c["n"]:
        lines += [f"Persons with two cases: {c['persons_with_two_cases']}; with one benign and one malignant "
                  f"breast: {c['persons_with_benign_and_malignant']} (group = patient keeps them on one side of a split)."]
    lines += ["", "## The spreadsheet", "",
              f"{s['rows']} rows, {s['images']} distinct images, {s['patients']} patients, {s['breasts']} breasts; "
              f"{s['breasts_with_four_images_listed']} breasts have all four images listed "
              f"({', '.join(f'{k} {v}' for k, v in s['labels_of_four_image_breasts'].items() if v or k in ('benign', 'malignant', 'normal'))}) "
              f"from {s['persons_with_a_four_image_breast']} persons.",
              f"Breasts whose images carry different labels: {len(s['breasts_with_mixed_image_labels'])}.", ""]
    return "\n".join(lines + _left_out_lines(out) + _irregularity_lines(report["irregularities"])
                     + _alignment_lines(report["alignment"])) + "\n"


def _entry(e) -> str:
    return json.dumps(e) if not isinstance(e, str) else e


def _left_out_lines(out: dict) -> list[str]:
    """A count per reason, then every left-out breast by reason (the normal ones as one list)."""
    lines = ["## Left out", "", "| reason | breasts |", "|---|---|"]
    for key, entries in out.items():
        lines.append(f"| {LEFT_OUT_WHY.get(key, key)} | {len(entries)} |")
    for key, entries in out.items():
        if entries and key != "normal":
            lines += ["", f"### {LEFT_OUT_WHY.get(key, key)}", ""]
            lines += [f"- {_entry(e)}" for e in entries]
    if out.get("normal"):
        lines += ["", "### normal breasts", "", ", ".join(out["normal"])]
    return lines


def _irregularity_lines(irregularities: dict) -> list[str]:
    """A count per kind of irregularity, with its first 200 entries."""
    lines = ["", "## Irregularities in the files", ""]
    for key, entries in irregularities.items():
        lines.append(f"- {key.replace('_', ' ')}: {len(entries)}")
        for e in entries[:200]:
            lines.append(f"  - {_entry(e)}")
        if len(entries) > 200:
            lines.append(f"  - ... {len(entries) - 200} more (see the JSON report)")
    return lines


def _alignment_lines(al: dict) -> list[str]:
    """The registration mode and, when views were registered, how many moved and which are flagged."""
    lines = ["", "## Low energy to subtracted frame", "", f"Mode `{al['mode']}`. {al['note']}.", ""]
    if al["views"]:
        moved = sum(1 for a in al["views"] if "written" in a)
        lines += [f"{len(al['views'])} views registered; {moved} DM images written moved into the CM frame; "
                  f"{len(al['flagged'])} flagged (score < {WEAK_SCORE} or more than {OUTLINE_DISAGREEMENT:g} px from "
                  "the outline-implied offset): check these by eye.", ""]
        lines += [f"- {json.dumps(a)}" for a in al["flagged"]]
    return lines
