"""The label CSV: one row per case (patient, label, box centres; optional laterality, group, id, masks)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ....io.errors import DataError
from ....io.text_table import read_text_table


CSV_REQUIRED = ("patient", "label", "cc_x", "cc_y", "mlo_x", "mlo_y")
CSV_OPTIONAL = ("laterality", "group", "id", "cc_mask_path", "mlo_mask_path")
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
