"""The case table: the one interface between data sources and the rest of d2tl.

One row per case ("patient" in the paper: one breast with one finding). Columns:

========================  ==========================================================
``id``                    unique case id
``group``                 the person; splits never put one person on two sides
``label``                 ``benign`` or ``malignant``
``laterality``            ``L`` or ``R``; right breasts are mirrored on reading
``scale``                 image pixels per full-resolution (paper, 0.07 mm) pixel; box
                          sizes and shifts are given in full-resolution pixels.
                          from-dicom: 0.07 mm / pixel pitch; CDD-CESM: 1
``le_cc_path`` ...        the four images ``le_cc``, ``le_mlo``, ``rec_cc``, ``rec_mlo``
``he_cc_path``,           optional high-energy images; a view whose recombined path is
``he_mlo_path``           empty has its recombined image computed from HE and LE
``cc_x``, ``cc_y``,       box centre of each view, in that view's stored pixel
``mlo_x``, ``mlo_y``      coordinates (x = column, y = row), before any mirroring
``cc_mask_path``,         optional lesion mask per view (non-zero = lesion), in the
``mlo_mask_path``         view's stored pixel coordinates; serves LE and recombined
========================  ==========================================================

Paths in the CSV are relative to the CSV's folder (or absolute); :func:`load_cases` resolves
them. Every problem found on load is an error naming the line, column and value.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..errors import DataError
from ..views import IMAGES, LABELS, LATERALITIES, MODES, VIEWS
from ..text_table import read_text_table

PATH_COLUMNS = tuple(f"{key}_path" for key in IMAGES)
HE_COLUMNS = tuple(f"he_{view}_path" for view in VIEWS)
CENTRE_COLUMNS = tuple(f"{view}_{axis}" for view in VIEWS for axis in ("x", "y"))
MASK_COLUMNS = tuple(f"{view}_mask_path" for view in VIEWS)
REQUIRED_COLUMNS = ("id", "group", "label", "laterality", *PATH_COLUMNS, *CENTRE_COLUMNS)
OPTIONAL_COLUMNS = ("scale", *HE_COLUMNS, *MASK_COLUMNS)
COLUMNS = REQUIRED_COLUMNS[:4] + ("scale",) + REQUIRED_COLUMNS[4:] + HE_COLUMNS + MASK_COLUMNS
FILE_COLUMNS = PATH_COLUMNS + HE_COLUMNS + MASK_COLUMNS


def image_path_column(key: str) -> str:
    """Case-table column holding image ``key`` (``"rec_cc"`` -> ``"rec_cc_path"``)."""
    return f"{key}_path"


def mask_path_column(view: str) -> str:
    return f"{view}_mask_path"


def centre(row, view: str) -> tuple[float, float]:
    """The stored (x, y) box centre of ``view`` in a case-table row."""
    return float(row[f"{view}_x"]), float(row[f"{view}_y"])


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _where(source, line, case_id, column) -> str:
    return f"{source} line {line} (patient {case_id}), column {column}"


def load_cases(path, check_files: bool = True) -> pd.DataFrame:
    """Read and validate a case table; paths come back absolute, blanks as empty strings.

    ``check_files`` also opens each image header to check that it exists, is an image and
    that the box centres fall inside it (cheap: no pixel data is decoded).
    """
    path = Path(path)
    table = read_text_table(path, "case table")
    return validate_cases(table, base=path.parent, source=str(path), check_files=check_files)


def validate_cases(table: pd.DataFrame, base=".", source="case table", check_files=True) -> pd.DataFrame:
    """Check a case table as read from CSV (all strings) and return it typed and resolved."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; "
                        f"required: {', '.join(REQUIRED_COLUMNS)}")
    table = table.copy()
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    table = table.fillna("")
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(lambda v: v.strip() if isinstance(v, str) else v)
    if table.empty:
        raise DataError(f"{source}: no cases")
    base = Path(base)
    lines = range(2, len(table) + 2)  # line 1 is the header
    seen = {}
    scales, centres = [], {c: [] for c in CENTRE_COLUMNS}
    for line, (_, row) in zip(lines, table.iterrows()):
        cid = row["id"]
        if cid == "":
            raise DataError(f"{source} line {line}: column id is empty")
        if cid in seen:
            raise DataError(f"{source} line {line}, column id: duplicate id {cid!r} "
                            f"(first on line {seen[cid]})")
        seen[cid] = line
        at = lambda column: _where(source, line, cid, column)  # noqa: E731
        if row["group"] == "":
            raise DataError(f"{at('group')}: empty; give the person id (the case id if unknown)")
        if row["label"] not in LABELS:
            raise DataError(f"{at('label')}: {row['label']!r} is not one of {', '.join(LABELS)}")
        if row["laterality"] not in LATERALITIES:
            raise DataError(f"{at('laterality')}: {row['laterality']!r} is not one of L, R")
        scale = _number(row["scale"] or "1", at("scale"))
        if not scale > 0:
            raise DataError(f"{at('scale')}: {row['scale']!r} is not a positive number")
        scales.append(scale)
        for column in CENTRE_COLUMNS:
            centres[column].append(_number(row[column], at(column)))
        for view in VIEWS:
            for mode in MODES:
                column = image_path_column(f"{mode}_{view}")
                if row[column] == "" and not (mode == "rec" and row[f"he_{view}_path"] != ""):
                    hint = " (or give he_%s_path to compute it)" % view if mode == "rec" else ""
                    raise DataError(f"{at(column)}: empty{hint}")
    table["scale"] = scales
    for column, values in centres.items():
        table[column] = values
    for column in FILE_COLUMNS:
        table[column] = [_resolve(base, v) for v in table[column]]
    if check_files:
        for line, (_, row) in zip(lines, table.iterrows()):
            _check_row_files(row, lambda column, r=row, n=line: _where(source, n, r["id"], column))
    return table.reset_index(drop=True)[list(COLUMNS) + [c for c in table.columns if c not in COLUMNS]]


def _number(value, at) -> float:
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{at}: {value!r} is not a number") from None
    if not np.isfinite(number):
        raise DataError(f"{at}: {value!r} is not a finite number")
    return number


def _resolve(base: Path, value: str) -> str:
    if value == "":
        return ""
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def _check_row_files(row, at) -> None:
    from .images import image_size  # images depends on cases' column names, not the reverse

    for view in VIEWS:
        sizes = {}
        for column in (image_path_column(f"le_{view}"), image_path_column(f"rec_{view}"),
                       f"he_{view}_path", mask_path_column(view)):
            value = row[column]
            if value == "":
                continue
            if not Path(value).is_file():
                raise DataError(f"{at(column)}: file {value} does not exist")
            try:
                sizes[column] = image_size(value)
            except DataError as exc:
                raise DataError(f"{at(column)}: {exc}") from None
        first = next(iter(sizes))
        rows, cols = sizes[first]
        for column, size in sizes.items():
            if size != (rows, cols):
                raise DataError(f"{at(column)}: file {row[column]} is {size[1]}x{size[0]} px but "
                                f"{row[first]} is {cols}x{rows} px; images of one view must agree")
        x, y = centre(row, view)
        for axis, value, limit in (("x", x, cols), ("y", y, rows)):
            if not 0 <= value < limit:
                raise DataError(f"{at(f'{view}_{axis}')}: box centre {value:g} is outside the "
                                f"image ({cols}x{rows} px, file {row[image_path_column('le_' + view)]})")


def write_cases(table: pd.DataFrame, path) -> None:
    """Write a case table as CSV (atomically); absolute paths inside the CSV's folder become relative.

    Relative paths are taken as already relative to the CSV's folder.
    """
    path = Path(path)
    base = path.parent.resolve()
    out = table.copy()
    for column in COLUMNS:
        if column not in out.columns:
            out[column] = ""
    for column in FILE_COLUMNS:
        out[column] = [_relative(base, v) for v in out[column].fillna("")]
    out = out[list(COLUMNS) + [c for c in out.columns if c not in COLUMNS]]
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def _relative(base: Path, value: str) -> str:
    if not value or not Path(value).is_absolute():
        return value or ""  # relative paths are already relative to the CSV's folder
    p = Path(value).resolve()
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return str(p)
