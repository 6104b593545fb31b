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
them. Every problem found on load is an error naming the line, column and value (the first one;
the rules are :mod:`d2tl.data.case_rules`'s, which check-data lists all of).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..io.atomic import atomic_path
from ..io.errors import DataError
from ..io.text_table import read_text_table
from ..protocol.views import VIEWS
from .case_columns import (CENTRE_COLUMNS, COLUMNS, FILE_COLUMNS, HE_COLUMNS, MASK_COLUMNS,  # noqa: F401
                           OPTIONAL_COLUMNS, PATH_COLUMNS, REQUIRED_COLUMNS, centre, image_path_column,
                           mask_path_column)
from .case_rules import case_problems, normalise, scale_of


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
    table = normalise(table, source)
    for problem in case_problems(table):
        raise DataError(problem.load_message(source))
    base = Path(base)
    lines = range(2, len(table) + 2)  # line 1 is the header
    table["scale"] = [scale_of(row) for row in table.to_dict("records")]
    for column in CENTRE_COLUMNS:
        table[column] = [float(v) for v in table[column]]
    for column in FILE_COLUMNS:
        table[column] = [_resolve(base, v) for v in table[column]]
    if check_files:
        for line, (_, row) in zip(lines, table.iterrows()):
            _check_row_files(row, lambda column, r=row, n=line: _where(source, n, r["id"], column))
    return table.reset_index(drop=True)[list(COLUMNS) + [c for c in table.columns if c not in COLUMNS]]


def _resolve(base: Path, value: str) -> str:
    if value == "":
        return ""
    p = Path(os.path.expanduser(value))
    return str(p if p.is_absolute() else (base / p).resolve())


def _check_row_files(row, at) -> None:
    from .images import image_size  # on use: loading with check_files=False needs no image reader

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
