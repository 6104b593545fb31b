"""The case table's column names and the helpers that read one row: the facts every reader shares.

Kept apart from :mod:`d2tl.data.cases` (loading) so that image reading and checking can name
columns without importing the loader (no import cycle).
"""

from __future__ import annotations

from ..protocol.views import IMAGES, VIEWS

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
