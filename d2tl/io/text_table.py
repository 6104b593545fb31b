"""The one strict CSV read for the text tables a user writes (case tables, label CSVs, split
files, segmentation files): every cell a string, nothing turned into NaN, a BOM (Excel) not part
of the first column name, and an unreadable file a :class:`DataError` that names it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError


def read_text_table(path, what: str, bom: bool = True) -> pd.DataFrame:
    """``path`` as a table of strings; ``what`` names it in errors ("case table", "split file")."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig" if bom else None)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{what} {path} is not a readable CSV: {exc}") from None
