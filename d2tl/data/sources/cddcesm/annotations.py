"""The annotation spreadsheet: one row per image, read and checked; a breast's label from its images."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ....io.errors import DataError
from .names import parse_name
from .options import PATHOLOGIES, SHEET, SHEET_COLUMNS, TYPE_MODES


def _norm_header(text) -> str:
    return " ".join(str(text).split()).lower()


def read_annotations(path, sheet: str = SHEET) -> tuple[pd.DataFrame, dict]:
    """Sheet ``all`` of ``Radiology-manual-annotations.xlsx`` as one row per spreadsheet row.

    Returns (rows, notes): rows have ``image`` (canonical base name), ``patient``, ``side``,
    ``mode``, ``view``, ``pathology`` (normal/benign/malignant or ''), ``row`` (the sheet's row
    number) and ``raw_name``; notes list what was irregular (names with spaces, duplicate
    rows, rows that do not parse, fields that contradict the name, unknown pathologies).
    """
    path = Path(path)
    raw = _read_sheet(path, sheet)
    columns = _find_columns(raw, path, sheet)
    notes = {"rows": int(len(raw)), "blank_rows": [], "names_with_spaces": [], "unparsed_names": [],
             "field_conflicts": [], "unknown_pathology": [], "duplicate_rows": []}
    records = []
    for index, row in enumerate(raw.to_dict("records")):
        record = read_row(index + 2, row, columns, notes)  # header is row 1
        if record is not None:
            records.append(record)
    rows = pd.DataFrame(records, columns=["image", "patient", "side", "mode", "view", "pathology", "row",
                                          "raw_name"])
    for image, group in rows.groupby("image", sort=False):
        if len(group) > 1:
            notes["duplicate_rows"].append({"image": image, "rows": [int(r) for r in group["row"]],
                                            "pathologies": sorted(set(group["pathology"]))})
    return rows, notes


def _read_sheet(path: Path, sheet: str) -> pd.DataFrame:
    """The sheet as text, or an error naming the file and what is wrong with it."""
    if not path.is_file():
        raise DataError(f"annotation spreadsheet {path} does not exist")
    try:
        with pd.ExcelFile(path) as book:
            if sheet not in book.sheet_names:
                raise DataError(f"annotation spreadsheet {path}: no sheet {sheet!r} "
                                f"(sheets: {', '.join(map(repr, book.sheet_names))})")
            return pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False)
    except DataError:
        raise
    except Exception as exc:  # openpyxl/zipfile raise many types for a file that is not xlsx
        raise DataError(f"annotation spreadsheet {path} is not a readable .xlsx file "
                        f"({type(exc).__name__}: {exc})") from None


def _find_columns(raw: pd.DataFrame, path: Path, sheet: str) -> dict:
    """{key of ``SHEET_COLUMNS``: the sheet's header}, matched ignoring case and spacing."""
    headers = {_norm_header(c): c for c in raw.columns}
    columns, missing = {}, []
    for key, header in SHEET_COLUMNS.items():
        found = headers.get(_norm_header(header))
        if found is None and key == "pathology":  # tolerate a reworded pathology header
            found = next((c for n, c in headers.items() if n.startswith("pathology")), None)
        if found is None:
            missing.append(header)
        columns[key] = found
    if missing:
        raise DataError(f"annotation spreadsheet {path}, sheet {sheet!r}: missing column(s) "
                        f"{', '.join(map(repr, missing))}; found: {', '.join(map(repr, raw.columns))}")
    return columns


def read_row(line: int, row: dict, columns: dict, notes: dict) -> dict | None:
    """One sheet row as a record named by its image (the name wins over the other fields), or None
    for a blank row or a name that does not parse; what is irregular goes into ``notes``."""
    raw_name = str(row[columns["image"]])
    if raw_name.strip() == "":
        notes["blank_rows"].append(line)
        return None
    if raw_name != raw_name.strip() or " " in raw_name:
        notes["names_with_spaces"].append({"row": line, "name": raw_name})
    name = parse_name(raw_name)
    if name is None or name.copy is not None:
        notes["unparsed_names"].append({"row": line, "name": raw_name})
        return None
    value = lambda key: str(row[columns[key]]).strip()  # noqa: E731
    conflicts = []
    if value("patient") and _patient_number(value("patient")) != int(name.patient[1:]):
        conflicts.append(f"Patient_ID {value('patient')!r}")
    if value("side").upper() != name.side:
        conflicts.append(f"Side {value('side')!r}")
    if TYPE_MODES.get(value("type").upper()) != name.mode:
        conflicts.append(f"Type {value('type')!r}")
    if value("view").lower() != name.view:
        conflicts.append(f"View {value('view')!r}")
    if conflicts:
        notes["field_conflicts"].append({"row": line, "name": raw_name.strip(),
                                         "conflicts": conflicts, "used": "the image name"})
    pathology = value("pathology").lower()
    if pathology not in PATHOLOGIES:
        notes["unknown_pathology"].append({"row": line, "name": raw_name.strip(), "value": value("pathology")})
        pathology = ""
    return {"image": name.base, "patient": name.patient, "side": name.side, "mode": name.mode,
            "view": name.view, "pathology": pathology, "row": line, "raw_name": raw_name}


def _patient_number(text: str) -> int | None:
    try:
        return int(float(str(text).strip().lstrip("Pp")))
    except ValueError:
        return None


def breast_label(images: pd.DataFrame, rule: str) -> str:
    """The breast's label from its images' rows (``mode``, ``pathology``) under ``rule``.

    Returns ``malignant``, ``benign``, ``normal``, ``disagree`` (rule ``all`` only) or
    ``unlabelled`` (no usable pathology).
    """
    if rule == "subtracted":
        images = images[images["mode"] == "rec"]
    values = {p for p in images["pathology"] if p}
    if not values:
        return "unlabelled"
    if rule == "all":
        return values.pop() if len(values) == 1 else "disagree"
    for label in ("malignant", "benign", "normal"):
        if label in values:
            return label
    return "unlabelled"  # pragma: no cover - values are always PATHOLOGIES
