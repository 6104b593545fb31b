"""The adapter's constants (folder and file names, CDD-CESM's vocabulary) and its rules (:class:`BuildOptions`)."""

from __future__ import annotations

import dataclasses
import re

from ....io.errors import DataError


LE_FOLDER = "Low energy images of CDD-CESM"
CM_FOLDER = "Subtracted images of CDD-CESM"
ANNOTATIONS_PATTERN = "Radiology*manual*annotations*.xlsx"
SEGMENTATIONS_PATTERN = "Radiology*hand*drawn*segmentations*.csv"
SHEET = "all"
CITATION = ("Khaled R. et al., Categorized contrast enhanced mammography dataset for diagnostic and "
            "artificial intelligence research, Scientific Data 9, 122 (2022); TCIA, DOI 10.7937/29kw-ae92; CC BY 4.0")

# spreadsheet column -> its header in sheet "all" (matched ignoring case and repeated spaces)
SHEET_COLUMNS = {"image": "Image_name", "patient": "Patient_ID", "side": "Side", "type": "Type",
                 "view": "View", "pathology": "Pathology Classification/ Follow up"}
TYPE_MODES = {"DM": "le", "CM": "rec", "CESM": "rec"}
PATHOLOGIES = ("normal", "benign", "malignant")

LABEL_RULES = ("any", "subtracted", "all")
REGION_RULES = ("largest", "first")
DUPLICATE_RULES = ("first", "last")
OUTLINE_SOURCES = ("cm", "cm-then-dm")
MASK_REGIONS = ("chosen", "all")
ALIGN_MODES = ("register", "none")

NAME_RE = re.compile(r"^P(\d+)_([LR])_(DM|CM)_(CC|MLO)(?:_?(\d+))?$", re.IGNORECASE)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
ALIGN_TOLERANCE = 2  # px: a registration offset this small on equal sizes keeps the original JPEG
ALIGN_FACTOR = 4  # coarse registration at 1/4 resolution
WEAK_SCORE = 0.5  # registrations whose skin lines agree less than this are flagged in the report
OUTLINE_DISAGREEMENT = 25.0  # px: registration vs outline-implied offset flagged above this


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """The documented rules of the adapter (see the module docstring)."""

    label_rule: str = "any"
    region: str = "largest"
    duplicates: str = "first"
    outline_source: str = "cm"
    mask_regions: str = "chosen"
    point_radius: float = 10.0
    align: str = "register"

    def __post_init__(self):
        for name, allowed in (("label_rule", LABEL_RULES), ("region", REGION_RULES),
                              ("duplicates", DUPLICATE_RULES), ("outline_source", OUTLINE_SOURCES),
                              ("mask_regions", MASK_REGIONS), ("align", ALIGN_MODES)):
            if getattr(self, name) not in allowed:
                raise DataError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if not self.point_radius > 0:
            raise DataError(f"point_radius must be positive, got {self.point_radius!r}")
