"""The case table's row rules, written once: every problem of every row, in table order.

:func:`d2tl.data.cases.validate_cases` (loading) raises on the first problem
(:meth:`RowProblem.load_message`); check-data lists them all (:meth:`RowProblem.check_message`).
The rules: id present and unique, person (group) present, label benign/malignant, laterality
L/R, scale a positive number (blank = 1), box centres finite numbers, and per view the LE path
and the recombined path (or a high-energy path to compute it from) present.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import pandas as pd

from ..io.errors import DataError
from ..protocol.views import LABELS, LATERALITIES, MODES, VIEWS
from .case_columns import CENTRE_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, image_path_column


@dataclasses.dataclass(frozen=True)
class RowProblem:
    """One broken rule in one row; ``rule`` names it, ``view`` is set for a view's image paths."""

    rule: str  # id_empty id_duplicate group_empty label laterality not_number not_finite not_positive path_empty
    line: int  # CSV line (the header is line 1)
    case_id: str
    column: str
    value: object = ""
    view: str | None = None
    first_line: int | None = None  # of the id's first row, for id_duplicate

    def load_message(self, source) -> str:
        """The loader's wording: source, line, patient and column first."""
        at = f"{source} line {self.line} (patient {self.case_id}), column {self.column}"
        if self.rule == "id_empty":
            return f"{source} line {self.line}: column id is empty"
        if self.rule == "id_duplicate":
            return (f"{source} line {self.line}, column id: duplicate id {self.case_id!r} "
                    f"(first on line {self.first_line})")
        if self.rule == "group_empty":
            return f"{at}: empty; give the person id (the case id if unknown)"
        if self.rule == "label":
            return f"{at}: {self.value!r} is not one of {', '.join(LABELS)}"
        if self.rule == "laterality":
            return f"{at}: {self.value!r} is not one of L, R"
        if self.rule == "not_number":
            return f"{at}: {self.value!r} is not a number"
        if self.rule == "not_finite":
            return f"{at}: {self.value!r} is not a finite number"
        if self.rule == "not_positive":
            return f"{at}: {self.value!r} is not a positive number"
        hint = f" (or give he_{self.view}_path to compute it)" if self.column.startswith("rec_") else ""
        return f"{at}: empty{hint}"

    def check_message(self) -> str:
        """check-data's wording: line and patient first, one line per problem."""
        at = f"line {self.line} (patient {self.case_id or '?'})"
        if self.rule == "id_empty":
            return f"line {self.line}: id is empty"
        if self.rule == "id_duplicate":
            return f"{at}: duplicate id (first on line {self.first_line})"
        if self.rule == "group_empty":
            return f"{at}: group (the person) is empty"
        if self.rule == "label":
            return f"{at}: label {self.value!r} is not one of {', '.join(LABELS)}"
        if self.rule == "laterality":
            return f"{at}: laterality {self.value!r} is not L or R"
        if self.column == "scale":
            return f"{at}: scale {self.value!r} is not a positive number"
        if self.rule in ("not_number", "not_finite"):
            return f"{at}: {self.column} {self.value!r} is not a number"
        if self.column.startswith("rec_"):
            return f"{at}: {self.column} is empty (and no he_{self.view}_path to compute it)"
        return f"{at}: {self.column} is empty"


def require_columns(table: pd.DataFrame, source) -> None:
    """Bad input (one error) when a required column is missing."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}; "
                        f"required: {', '.join(REQUIRED_COLUMNS)}")


def normalise(table: pd.DataFrame, source) -> pd.DataFrame:
    """A copy with the optional columns added (blank), blanks as "", text stripped; no rows = error."""
    require_columns(table, source)
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
    return table


def number_problem(value) -> str | None:
    """``not_number`` / ``not_finite`` for a cell that is not a finite number, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "not_number"
    return None if np.isfinite(number) else "not_finite"


def scale_of(row) -> float:
    """A row's scale (blank = 1); the row must have passed the rules."""
    return float(row["scale"] or "1")


def row_problems(line: int, row, seen: dict) -> list[RowProblem]:
    """Every rule ``row`` (a normalised row) breaks; ``seen`` maps ids to their first line."""
    cid = row["id"]
    problems = []

    def add(rule, column, value="", **extra):
        problems.append(RowProblem(rule, line, cid, column, value, **extra))

    if cid == "":
        add("id_empty", "id")
    elif cid in seen:
        add("id_duplicate", "id", cid, first_line=seen[cid])
    else:
        seen[cid] = line
    if row["group"] == "":
        add("group_empty", "group")
    if row["label"] not in LABELS:
        add("label", "label", row["label"])
    if row["laterality"] not in LATERALITIES:
        add("laterality", "laterality", row["laterality"])
    scale = row["scale"] or "1"
    broken = number_problem(scale)
    if broken:
        add(broken, "scale", scale)
    elif not float(scale) > 0:
        add("not_positive", "scale", row["scale"])
    for column in CENTRE_COLUMNS:
        broken = number_problem(row[column])
        if broken:
            add(broken, column, row[column])
    for view in VIEWS:
        for mode in MODES:
            column = image_path_column(f"{mode}_{view}")
            if row[column] == "" and not (mode == "rec" and row[f"he_{view}_path"] != ""):
                add("path_empty", column, view=view)
    return problems


def case_problems(table: pd.DataFrame) -> Iterator[RowProblem]:
    """Every problem of a normalised table, row by row (lazily: a loader stops at the first)."""
    seen = {}
    for line, row in zip(range(2, len(table) + 2), table.to_dict("records")):
        yield from row_problems(line, row, seen)
