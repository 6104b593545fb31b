"""CDD-CESM, the public CEDM data set closest to the paper's, as a case table.

CDD-CESM (Khaled R. et al., "Categorized contrast enhanced mammography dataset for diagnostic
and artificial intelligence research", Scientific Data 9, 122 (2022); The Cancer Imaging
Archive, DOI 10.7937/29kw-ae92; CC BY 4.0). What a download holds (folder names as TCIA gives
them; they may sit one or two folders deep under the folder given as ``--root``)::

    Low energy images of CDD-CESM/        P1_L_DM_MLO.jpg ...  (DM = low energy, LE)
    Subtracted images of CDD-CESM/        P1_L_CM_MLO.jpg ...  (CM = subtracted = recombined)
    Radiology-manual-annotations.xlsx     sheet "all": one row per image, with its pathology
    Radiology_hand_drawn_segmentations_v2.csv   VGG Image Annotator export of lesion outlines

The rules below are the adapter's readings; each is a named option (``BuildOptions``).

* **Case** = one breast (patient + side) whose four images (DM-CC, DM-MLO, CM-CC, CM-MLO) are
  all listed in the spreadsheet and found on disk. ``id`` is ``P<n>_<side>``, ``group`` is
  the patient ``P<n>``: some patients have one benign and one malignant breast, and a split
  must never put a person on both sides. Laterality comes from the image name (checked
  against the ``Side`` column). ``scale`` is 1.
* **Label** (``label_rule``): ``any`` (default) -- malignant if any of the breast's images is
  malignant, else benign if any is benign, else normal; ``subtracted`` -- the same on the
  two CM images only; ``all`` -- all four images must carry the same label (breasts whose
  images disagree are left out). Normal breasts are left out of the benign-vs-malignant task
  and counted in the report.
* **Box centre** of a view: from the lesion outlines of the view's CM image
  (``outline_source="cm"``, default), reused for the DM image of that view;
  ``cm-then-dm`` falls back to the DM image's outline, moved into the CM image's frame.
  Of several outlines on an image, ``region`` picks the ``largest`` (default; area of the
  polygon, ellipse, circle or rectangle; a point has area 0, so any drawn outline beats a
  point) or the ``first`` (lowest ``region_id``). The centre is the centre of the region's
  enclosing axis-aligned rectangle (for an ellipse or circle, its centre; for a point, the
  point). A breast without an outline on a view is left out.
* **Lesion mask** per view, for the conventional baseline: the same region rasterised in the
  CM image's frame (``skimage.draw``: polygon, ellipse incl. VIA's ``theta``, disk, rectangle)
  and written as a 0/255 PNG under ``masks/`` beside the case table; ``mask_regions="all"``
  draws every outline of the image instead. A point carries no extent: its mask is a disc of
  ``point_radius`` px (default 10), a placeholder, not a segmentation.
* **Low energy vs subtracted frame**: the two JPEGs of one view are framed differently
  (different crops, hence different sizes; the outlines drawn on both differ by a pure
  translation, e.g. P6_L_MLO by (82, -96) px), while the case table needs one frame per view.
  ``align="register"`` (default) estimates the DM-to-CM translation from the breast's skin
  line (the boundary of the pixels above the air/breast threshold of ``check-data``;
  phase correlation of the skin-line edges at 1/4 resolution, refined at full
  resolution) and, where it is not zero or the sizes differ, writes the DM image moved into
  the CM frame as a PNG under ``le-aligned/`` (uncovered pixels 0 = air). The report lists
  every estimated offset, its score, and the offset implied by outlines drawn on both images
  where there are some. ``align="none"`` uses the JPEGs as they are and leaves out breasts
  whose DM and CM sizes differ.
* **Irregular names**: names are matched after removing surrounding spaces and a space
  before ``.jpg`` (``P3_L_CM_CC .jpg``, a trailing space in the spreadsheet). Several files
  for one image (``P99_L_DM_MLO.jpg`` and ``P99_L_DM_MLO_2.jpg``, ``P281_L_CM_MLO2.jpg``):
  ``duplicates="first"`` (default) takes the one without a copy number (else the lowest),
  which is the name the spreadsheet and the outlines use; ``last`` the highest copy number.
  In the current release both such breasts are normal, so the rule changes no case.
  Images listed but missing on disk are reported (their breasts are left out), not fatal.
* Segmentation coordinates are original JPEG pixels; a centre that falls outside its image
  is reported and the breast left out.

Writes ``cases.csv`` (via :func:`d2tl.data.cases.write_cases`), ``cases-report.json`` and
``cases-report.md`` beside it (every count and every left-out breast with its reason), and a
``dataset.json`` naming the data set for provenance.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..atomic import atomic_path, write_text
from ..errors import DataError
from ..provenance import write_json
from ..views import LABELS, VIEWS
from .cases import validate_cases, write_cases
from ..text_table import read_text_table

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


# ---------------------------------------------------------------------------------------------
# names


def canonical_stem(name: str) -> str:
    """``"P3_L_CM_CC .jpg "`` -> ``"P3_L_CM_CC"``: spaces around the name and before the
    extension removed, an image extension dropped, letters upper case."""
    stem = str(name).strip()
    lower = stem.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem.strip().upper()


@dataclasses.dataclass(frozen=True)
class ImageName:
    patient: str  # "P12"
    side: str  # "L" / "R"
    mode: str  # "le" / "rec"
    view: str  # "cc" / "mlo"
    copy: int | None  # 2 for P99_L_DM_MLO_2

    @property
    def base(self) -> str:
        """The name without copy number, e.g. ``P99_L_DM_MLO``."""
        return f"{self.patient}_{self.side}_{'DM' if self.mode == 'le' else 'CM'}_{self.view.upper()}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.patient, self.side, self.mode, self.view


def parse_name(name: str) -> ImageName | None:
    """Parse a CDD-CESM image name (any spacing, with or without extension), or None."""
    match = NAME_RE.match(canonical_stem(name))
    if not match:
        return None
    number, side, kind, view, copy = match.groups()
    return ImageName(patient=f"P{int(number)}", side=side.upper(), mode=TYPE_MODES[kind.upper()],
                     view=view.lower(), copy=int(copy) if copy else None)


# ---------------------------------------------------------------------------------------------
# the spreadsheet


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
    if not path.is_file():
        raise DataError(f"annotation spreadsheet {path} does not exist")
    try:
        with pd.ExcelFile(path) as book:
            if sheet not in book.sheet_names:
                raise DataError(f"annotation spreadsheet {path}: no sheet {sheet!r} "
                                f"(sheets: {', '.join(map(repr, book.sheet_names))})")
            raw = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False)
    except DataError:
        raise
    except Exception as exc:  # openpyxl/zipfile raise many types for a file that is not xlsx
        raise DataError(f"annotation spreadsheet {path} is not a readable .xlsx file "
                        f"({type(exc).__name__}: {exc})") from None
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
    notes = {"rows": int(len(raw)), "blank_rows": [], "names_with_spaces": [], "unparsed_names": [],
             "field_conflicts": [], "unknown_pathology": [], "duplicate_rows": []}
    records = []
    for index, row in enumerate(raw.to_dict("records")):
        line = index + 2  # header is row 1
        raw_name = str(row[columns["image"]])
        if raw_name.strip() == "":
            notes["blank_rows"].append(line)
            continue
        if raw_name != raw_name.strip() or " " in raw_name:
            notes["names_with_spaces"].append({"row": line, "name": raw_name})
        name = parse_name(raw_name)
        if name is None or name.copy is not None:
            notes["unparsed_names"].append({"row": line, "name": raw_name})
            continue
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
            notes["unknown_pathology"].append({"row": line, "name": raw_name.strip(),
                                               "value": value("pathology")})
            pathology = ""
        records.append({"image": name.base, "patient": name.patient, "side": name.side, "mode": name.mode,
                        "view": name.view, "pathology": pathology, "row": line, "raw_name": raw_name})
    rows = pd.DataFrame(records, columns=["image", "patient", "side", "mode", "view", "pathology", "row",
                                          "raw_name"])
    for image, group in rows.groupby("image", sort=False):
        if len(group) > 1:
            notes["duplicate_rows"].append({"image": image, "rows": [int(r) for r in group["row"]],
                                            "pathologies": sorted(set(group["pathology"]))})
    return rows, notes


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


# ---------------------------------------------------------------------------------------------
# the image folders


@dataclasses.dataclass(frozen=True)
class ImageFile:
    path: Path
    name: ImageName

    @property
    def regular(self) -> bool:
        """True for the plain ``P1_L_DM_MLO.jpg`` form (no spaces, no copy number)."""
        return self.path.name == f"{self.name.base}{self.path.suffix}" and self.name.copy is None


def index_images(folders) -> tuple[dict, dict]:
    """Every image file in ``folders`` by (patient, side, mode, view), plus notes.

    Notes: files whose names were normalised (spaces), files whose name does not parse, and
    DM files found in the subtracted folder or CM files in the low-energy folder.
    """
    index: dict[tuple, list[ImageFile]] = defaultdict(list)
    notes = {"files": 0, "names_normalised": [], "unrecognised_files": [], "wrong_folder": []}
    for expected_mode, folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            if not path.name.strip().lower().endswith(IMAGE_SUFFIXES):
                notes["unrecognised_files"].append(str(path))
                continue
            name = parse_name(path.name)
            if name is None:
                notes["unrecognised_files"].append(str(path))
                continue
            notes["files"] += 1
            if path.name.strip() != path.name or " " in path.name:
                notes["names_normalised"].append({"file": str(path), "as": name.base + (
                    f" (copy {name.copy})" if name.copy else "")})
            if expected_mode is not None and name.mode != expected_mode:
                notes["wrong_folder"].append(str(path))
            index[name.key].append(ImageFile(path=path, name=name))
    return dict(index), notes


def choose_file(files: list[ImageFile], rule: str) -> ImageFile:
    """One of several files for the same image: ``first`` = no copy number (else the lowest),
    ``last`` = the highest copy number; among equals a regularly named file wins."""
    def order(f: ImageFile):
        copy = f.name.copy or 0
        return (copy if rule == "first" else -copy, not f.regular, f.path.name)

    return sorted(files, key=order)[0]


# ---------------------------------------------------------------------------------------------
# the outlines


@dataclasses.dataclass(frozen=True)
class Region:
    """One VIA region: ``polygon`` (xs, ys), ``ellipse`` (cx, cy, rx, ry, theta), ``circle``
    (cx, cy, r), ``point`` (cx, cy) or ``rect`` (x, y, width, height); original pixels."""

    image: str
    region_id: int
    shape: str
    params: dict

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the enclosing axis-aligned rectangle."""
        p = self.params
        if self.shape == "polygon":
            return min(p["xs"]), min(p["ys"]), max(p["xs"]), max(p["ys"])
        if self.shape == "ellipse":
            t = p.get("theta", 0.0)
            hx = math.hypot(p["rx"] * math.cos(t), p["ry"] * math.sin(t))
            hy = math.hypot(p["rx"] * math.sin(t), p["ry"] * math.cos(t))
            return p["cx"] - hx, p["cy"] - hy, p["cx"] + hx, p["cy"] + hy
        if self.shape == "circle":
            return p["cx"] - p["r"], p["cy"] - p["r"], p["cx"] + p["r"], p["cy"] + p["r"]
        if self.shape == "rect":
            return p["x"], p["y"], p["x"] + p["width"], p["y"] + p["height"]
        return p["cx"], p["cy"], p["cx"], p["cy"]  # point

    def centre(self) -> tuple[float, float]:
        """Centre (x, y) of the enclosing rectangle: the box centre this region gives."""
        x0, y0, x1, y1 = self.bbox
        return (x0 + x1) / 2.0, (y0 + y1) / 2.0

    def area(self) -> float:
        p = self.params
        if self.shape == "polygon":
            x, y = np.asarray(p["xs"], float), np.asarray(p["ys"], float)
            return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2.0)
        if self.shape == "ellipse":
            return math.pi * p["rx"] * p["ry"]
        if self.shape == "circle":
            return math.pi * p["r"] ** 2
        if self.shape == "rect":
            return float(p["width"] * p["height"])
        return 0.0

    def moved(self, dx: float, dy: float) -> "Region":
        """The same region with every coordinate moved by (dx, dy)."""
        p = dict(self.params)
        if self.shape == "polygon":
            p["xs"] = [x + dx for x in p["xs"]]
            p["ys"] = [y + dy for y in p["ys"]]
        elif self.shape == "rect":
            p["x"] += dx
            p["y"] += dy
        else:
            p["cx"] += dx
            p["cy"] += dy
        return dataclasses.replace(self, params=p)

    def rasterise(self, shape: tuple[int, int], point_radius: float = 10.0) -> np.ndarray:
        """A bool mask of ``shape`` (rows, cols), the region clipped to the image."""
        from skimage import draw

        p = self.params
        mask = np.zeros(shape, dtype=bool)
        if self.shape == "polygon":
            rr, cc = draw.polygon(np.asarray(p["ys"], float), np.asarray(p["xs"], float), shape=shape)
        elif self.shape == "ellipse" and p["rx"] > 0 and p["ry"] > 0:
            # VIA's theta turns the x axis towards +y (clockwise on screen); skimage's rotation
            # is the other way round in (row, col).
            rr, cc = draw.ellipse(p["cy"], p["cx"], p["ry"], p["rx"], shape=shape,
                                  rotation=-p.get("theta", 0.0))
        elif self.shape == "circle" and p["r"] > 0:
            rr, cc = draw.disk((p["cy"], p["cx"]), p["r"], shape=shape)
        elif self.shape == "rect":
            x0, y0, x1, y1 = self.bbox
            rr, cc = draw.polygon([y0, y0, y1, y1], [x0, x1, x1, x0], shape=shape)
        else:  # a point, or a degenerate ellipse/circle: a small disc
            rr, cc = draw.disk((p["cy"], p["cx"]), point_radius, shape=shape)
        mask[rr, cc] = True
        return mask


def _region_from_json(image: str, region_id: int, text: str) -> Region | None:
    """Parse VIA ``region_shape_attributes``; None for ``{}`` (an image without regions)."""
    attrs = json.loads(text) if text.strip() else {}
    if not attrs:
        return None
    if not isinstance(attrs, dict) or "name" not in attrs:
        raise ValueError(f"no shape name in {text!r}")
    shape = str(attrs["name"]).lower()
    num = lambda key: float(attrs[key])  # noqa: E731
    if shape in ("polygon", "polyline"):
        xs, ys = [float(v) for v in attrs["all_points_x"]], [float(v) for v in attrs["all_points_y"]]
        if len(xs) != len(ys) or not xs:
            raise ValueError(f"{len(xs)} x and {len(ys)} y points")
        return Region(image, region_id, "polygon", {"xs": xs, "ys": ys})
    if shape == "ellipse":
        return Region(image, region_id, "ellipse", {"cx": num("cx"), "cy": num("cy"), "rx": abs(num("rx")),
                                                    "ry": abs(num("ry")), "theta": float(attrs.get("theta", 0.0))})
    if shape == "circle":
        return Region(image, region_id, "circle", {"cx": num("cx"), "cy": num("cy"), "r": abs(num("r"))})
    if shape == "point":
        return Region(image, region_id, "point", {"cx": num("cx"), "cy": num("cy")})
    if shape == "rect":
        return Region(image, region_id, "rect", {"x": num("x"), "y": num("y"), "width": num("width"),
                                                 "height": num("height")})
    raise ValueError(f"unsupported shape {shape!r}")


def read_segmentations(path) -> tuple[dict[str, list[Region]], dict]:
    """``Radiology_hand_drawn_segmentations_v2.csv`` as regions per image (canonical name with
    copy number, e.g. ``P1_L_CM_MLO``), plus notes (rows skipped, names normalised)."""
    path = Path(path)
    raw = read_text_table(path, "segmentation file", bom=False)
    headers = {c.strip().lstrip("#").strip().lower(): c for c in raw.columns}
    missing = [c for c in ("filename", "region_shape_attributes") if c not in headers]
    if missing:
        raise DataError(f"segmentation file {path}: missing column(s) {', '.join(missing)}; "
                        f"found: {', '.join(map(repr, raw.columns))} (expected a VGG Image Annotator CSV export)")
    regions: dict[str, list[Region]] = defaultdict(list)
    notes = {"rows": int(len(raw)), "rows_skipped": [], "names_normalised": []}
    for index, row in enumerate(raw.to_dict("records")):
        line = index + 2
        filename = str(row[headers["filename"]])
        name = parse_name(filename)
        if name is None:
            notes["rows_skipped"].append({"line": line, "file": filename, "why": "name not of the form P<n>_<L|R>_<DM|CM>_<CC|MLO>"})
            continue
        if filename != filename.strip() or " " in filename:
            notes["names_normalised"].append({"line": line, "file": filename})
        stem = name.base + (f"_{name.copy}" if name.copy else "")
        rid_text = str(row[headers["region_id"]]).strip() if "region_id" in headers else ""
        try:
            rid = int(rid_text) if rid_text else len(regions[stem])
            region = _region_from_json(stem, rid, str(row[headers["region_shape_attributes"]]))
        except (ValueError, KeyError, TypeError) as exc:
            notes["rows_skipped"].append({"line": line, "file": filename, "why": f"unreadable region: {exc}"})
            continue
        if region is not None:
            regions[stem].append(region)
    for stem in regions:
        regions[stem].sort(key=lambda r: r.region_id)
    return dict(regions), notes


def choose_region(regions: list[Region], rule: str) -> Region:
    """``largest`` by area (ties: lowest region_id) or ``first`` (lowest region_id)."""
    ordered = sorted(regions, key=lambda r: r.region_id)
    if rule == "first":
        return ordered[0]
    return max(ordered, key=lambda r: r.area())  # max keeps the first of equals


def _regions_for(file: ImageFile, segs: dict) -> list[Region]:
    stem = file.name.base + (f"_{file.name.copy}" if file.name.copy else "")
    return segs.get(stem, [])


# ---------------------------------------------------------------------------------------------
# low energy -> subtracted frame


def _skin_edges(image: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Skin-line edge pixels (bool) of ``image``: (every ``factor``-th px, full resolution).

    Breast = above the air/breast threshold (:func:`d2tl.data.breast.breast_threshold`),
    largest connected part, holes filled (on the coarse image); its boundary, less the pixels on the image border (the chest wall and crop
    edges). At full resolution the same threshold's boundary is kept only near the coarse
    skin line (so the edges of holes inside the breast do not count).
    """
    from scipy import ndimage as ndi

    from .breast import breast_threshold

    small = image[::factor, ::factor].astype(np.float32)
    empty = np.zeros(small.shape, bool), np.zeros(image.shape, bool)
    if small.size == 0 or float(small.max()) <= float(small.min()):
        return empty
    threshold = breast_threshold(small)
    labels, n = ndi.label(small > threshold)
    if n == 0:
        return empty
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = ndi.binary_fill_holes(labels == int(np.argmax(sizes)))
    coarse = mask & ~ndi.binary_erosion(mask)
    coarse[:2, :] = coarse[-2:, :] = False
    coarse[:, :2] = coarse[:, -2:] = False
    band = ndi.binary_dilation(coarse, iterations=2)
    band = np.repeat(np.repeat(band, factor, axis=0), factor, axis=1)[: image.shape[0], : image.shape[1]]
    full = image > threshold
    full = full & ~ndi.binary_erosion(full) & band
    full[:2, :] = full[-2:, :] = False
    full[:, :2] = full[:, -2:] = False
    return coarse, full


def estimate_offset(cm: np.ndarray, dm: np.ndarray, factor: int = ALIGN_FACTOR) -> tuple[int, int, float]:
    """Translation (dx, dy) with DM pixel (x + dx, y + dy) showing what CM pixel (x, y) shows.

    Phase correlation of blurred skin-line edges at 1/``factor`` resolution, then a search of
    +-``factor`` px at full resolution for the shift that lands most DM edge pixels on (or next
    to) CM edge pixels. Returns (dx, dy, score), score = the share of the DM edge pixels that
    land inside the CM image within 1 px of a CM edge pixel (1 = the skin lines agree; 0 = no
    skin line found).
    """
    from scipy import ndimage as ndi
    from skimage.registration import phase_cross_correlation

    (a, exact), (b, dm_full) = _skin_edges(cm, factor), _skin_edges(dm, factor)
    if not a.any() or not b.any():
        return 0, 0, 0.0
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    pa, pb = np.zeros(shape), np.zeros(shape)
    pa[: a.shape[0], : a.shape[1]] = ndi.gaussian_filter(a.astype(float), 1.5)
    pb[: b.shape[0], : b.shape[1]] = ndi.gaussian_filter(b.astype(float), 1.5)
    shift = phase_cross_correlation(pa, pb, normalization=None)[0]
    cy, cx = -int(round(shift[0] * factor)), -int(round(shift[1] * factor))  # dm = cm + (cx, cy)

    near = ndi.binary_dilation(exact, iterations=1)
    ey, ex = np.nonzero(dm_full)
    if len(ey) == 0:
        return cx, cy, 0.0
    best = (-1.0, 0.0, cx, cy)  # (exact + near hits, near share, dx, dy)
    for dy in range(cy - factor, cy + factor + 1):
        for dx in range(cx - factor, cx + factor + 1):
            y, x = ey - dy, ex - dx  # DM edge pixels in CM coordinates
            inside = (y >= 0) & (y < exact.shape[0]) & (x >= 0) & (x < exact.shape[1])
            if not inside.any():
                continue
            hits_near = float(near[y[inside], x[inside]].sum())
            hits = hits_near + float(exact[y[inside], x[inside]].sum())
            if hits > best[0]:
                best = (hits, hits_near / int(inside.sum()), dx, dy)
    return best[2], best[3], max(best[1], 0.0)


def move_into_frame(dm: np.ndarray, shape: tuple[int, int], dx: int, dy: int) -> np.ndarray:
    """DM image resampled into a frame of ``shape``: out[y, x] = dm[y + dy, x + dx] (0 outside)."""
    out = np.zeros(shape, dtype=dm.dtype)
    y0, y1 = max(0, -dy), min(shape[0], dm.shape[0] - dy)
    x0, x1 = max(0, -dx), min(shape[1], dm.shape[1] - dx)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = dm[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    return out


def _save_png(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


# ---------------------------------------------------------------------------------------------
# the download folder


def _find_one(root: Path, pattern: str, what: str, is_dir: bool, newest: bool = False) -> Path:
    hits = sorted(p for p in root.rglob(pattern) if (p.is_dir() if is_dir else p.is_file())
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not hits:
        raise DataError(f"CDD-CESM folder {root}: no {what} ({pattern!r}) found in it or below it")
    if len(hits) > 1:
        if newest:  # several segmentation versions: the last name (..._v2 after ...)
            return sorted(hits, key=lambda p: _natural(p.name))[-1]
        raise DataError(f"CDD-CESM folder {root}: {len(hits)} matches for {what} {pattern!r} "
                        f"({', '.join(map(str, hits))}); give the one to use explicitly")
    return hits[0]


@dataclasses.dataclass(frozen=True)
class Sources:
    root: Path
    annotations: Path
    segmentations: Path
    le_dir: Path
    cm_dir: Path

    @classmethod
    def locate(cls, root, annotations=None, segmentations=None, le_dir=None, cm_dir=None) -> "Sources":
        root = Path(root)
        if not root.is_dir():
            raise DataError(f"CDD-CESM folder {root} does not exist (give the folder you downloaded)")
        return cls(root=root,
                   annotations=Path(annotations) if annotations else _find_one(root, ANNOTATIONS_PATTERN, "annotation spreadsheet", False),
                   segmentations=Path(segmentations) if segmentations else _find_one(root, SEGMENTATIONS_PATTERN, "segmentation CSV", False, newest=True),
                   le_dir=Path(le_dir) if le_dir else _find_one(root, LE_FOLDER, "low-energy image folder", True),
                   cm_dir=Path(cm_dir) if cm_dir else _find_one(root, CM_FOLDER, "subtracted image folder", True))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_cases(sources: Sources, out_csv, options: BuildOptions = BuildOptions(),
                progress=None) -> tuple[pd.DataFrame | None, dict]:
    """Build the case table for the benign-vs-malignant task; write it and its report.

    Returns (table as validated by :func:`validate_cases`, report dict). Writes
    ``out_csv``, ``<stem>-report.json``, ``<stem>-report.md``, ``dataset.json``, the masks
    under ``masks/`` and aligned LE images under ``le-aligned/`` beside ``out_csv``.
    Raises :class:`DataError` (after writing the report) when no case could be built.
    """
    out_csv = Path(out_csv)
    folder = out_csv.parent
    mask_dir, aligned_dir = folder / "masks", folder / "le-aligned"
    for d in (sources.le_dir, sources.cm_dir):
        if not d.is_dir():
            raise DataError(f"image folder {d} does not exist")
    rows, sheet_notes = read_annotations(sources.annotations)
    index, file_notes = index_images([("le", sources.le_dir), ("rec", sources.cm_dir)])
    segs, seg_notes = read_segmentations(sources.segmentations)

    listed = set(rows["image"])
    listed_keys = {tuple(k) for k in rows[["patient", "side", "mode", "view"]].itertuples(index=False)}
    images_missing = sorted(rows.loc[[(r.patient, r.side, r.mode, r.view) not in index
                                      for r in rows.itertuples()], "image"].unique(),
                            key=_natural)
    not_listed = sorted(str(f.path) for k, files in index.items() if k not in listed_keys for f in files)
    duplicates = []
    for key, files in sorted(index.items(), key=lambda kv: _natural(kv[1][0].name.base)):
        if len(files) > 1:
            chosen = choose_file(files, options.duplicates)
            duplicates.append({"image": files[0].name.base, "chosen": str(chosen.path),
                               "discarded": [str(f.path) for f in files if f is not chosen],
                               "rule": options.duplicates})

    left_out = {k: [] for k in ("incomplete_listing", "normal", "unlabelled", "disagree", "missing_on_disk",
                                "size_mismatch", "no_outline", "centre_outside", "registration_failed")}
    mixed, alignment, records = [], [], []
    counts_four = Counter()
    persons_four = set()
    breasts = list(rows.groupby(["patient", "side"], sort=False))
    breasts.sort(key=lambda kv: (_natural(kv[0][0]), kv[0][1]))
    started = time.time()
    for n_done, ((patient, side), images) in enumerate(breasts):
        if progress and n_done and n_done % 50 == 0:
            progress(f"cdd-cesm: {n_done}/{len(breasts)} breasts, {len(records)} cases, "
                     f"{time.time() - started:.0f} s")
        cid = f"{patient}_{side}"
        pathologies = sorted({p for p in images["pathology"] if p})
        if len(pathologies) > 1:
            mixed.append({"id": cid, "labels": pathologies})
        have = {(m, v) for m, v in zip(images["mode"], images["view"])}
        wanted = [(m, v) for m in ("le", "rec") for v in VIEWS]
        label = breast_label(images, options.label_rule)
        if len(have) < 4:
            left_out["incomplete_listing"].append(
                {"id": cid, "label": label, "missing": [_image_name(patient, side, m, v) for m, v in wanted
                                                        if (m, v) not in have]})
            continue
        counts_four[label] += 1
        persons_four.add(patient)
        if label in ("normal", "unlabelled", "disagree"):
            entry = {"id": cid}
            if label == "disagree":
                entry["labels"] = pathologies
            left_out[label].append(entry if label != "normal" else cid)
            continue
        files = {}
        for m, v in wanted:
            found = index.get((patient, side, m, v), [])
            if found:
                files[(m, v)] = choose_file(found, options.duplicates)
        absent = [_image_name(patient, side, m, v) for m, v in wanted if (m, v) not in files]
        if absent:
            left_out["missing_on_disk"].append({"id": cid, "label": label, "images": absent})
            continue
        record = {"id": cid, "group": patient, "label": label, "laterality": side, "scale": 1}
        problem = None
        for v in VIEWS:
            cm_file, dm_file = files[("rec", v)], files[("le", v)]
            cm_regions, dm_regions = _regions_for(cm_file, segs), _regions_for(dm_file, segs)
            if not cm_regions and not (options.outline_source == "cm-then-dm" and dm_regions):
                problem = ("no_outline", {"id": cid, "label": label, "view": v,
                                          "dm_outline": bool(dm_regions), "image": cm_file.name.base})
                break
            cm_size, dm_size = _size(cm_file.path), _size(dm_file.path)
            dx = dy = 0
            le_path = dm_file.path
            if options.align == "none":
                if cm_size != dm_size:
                    problem = ("size_mismatch", {"id": cid, "label": label, "view": v,
                                                 "cm": _wh(cm_size), "dm": _wh(dm_size)})
                    break
            else:
                from .images import read_image

                cm_pixels, dm_pixels = read_image(cm_file.path), read_image(dm_file.path)
                dx, dy, score = estimate_offset(cm_pixels, dm_pixels)
                entry = {"id": cid, "view": v, "dx": dx, "dy": dy, "score": round(score, 3),
                         "cm": _wh(cm_size), "dm": _wh(dm_size)}
                if score <= 0:
                    problem = ("registration_failed", {"id": cid, "label": label, "view": v,
                                                       "why": "no skin line found"})
                    break
                if cm_regions and dm_regions:
                    c_cm = choose_region(cm_regions, options.region).centre()
                    c_dm = choose_region(dm_regions, options.region).centre()
                    ox, oy = c_dm[0] - c_cm[0], c_dm[1] - c_cm[1]
                    entry["outline_dx"], entry["outline_dy"] = round(ox, 1), round(oy, 1)
                    entry["disagreement"] = round(math.hypot(ox - dx, oy - dy), 1)
                if cm_size != dm_size or max(abs(dx), abs(dy)) > ALIGN_TOLERANCE:
                    moved = move_into_frame(np.clip(np.rint(dm_pixels), 0, 255).astype(np.uint8), cm_size, dx, dy)
                    le_path = aligned_dir / f"{dm_file.name.base}.png"
                    _save_png(le_path, moved)
                    entry["written"] = str(le_path)
                else:
                    dx = dy = 0
                alignment.append(entry)
            if cm_regions:
                regions, source = cm_regions, "cm"
            else:  # outline_source cm-then-dm: the DM outline moved into the CM frame
                regions, source = [r.moved(-dx, -dy) for r in dm_regions], "dm"
            region = choose_region(regions, options.region)
            x, y = region.centre()
            rows_, cols_ = cm_size
            if not (0 <= x < cols_ and 0 <= y < rows_):
                problem = ("centre_outside", {"id": cid, "label": label, "view": v, "x": x, "y": y,
                                              "image": _wh(cm_size), "file": str(cm_file.path)})
                break
            mask = (region.rasterise(cm_size, options.point_radius) if options.mask_regions == "chosen"
                    else np.logical_or.reduce([r.rasterise(cm_size, options.point_radius) for r in regions]))
            mask_path = mask_dir / f"{cid}_{v}.png"
            _save_png(mask_path, (mask * 255).astype(np.uint8))
            record.update({f"le_{v}_path": str(le_path.resolve()), f"rec_{v}_path": str(cm_file.path.resolve()),
                           f"{v}_x": x, f"{v}_y": y, f"{v}_mask_path": str(mask_path.resolve()),
                           f"{v}_region": f"{region.image}#{region.region_id} {region.shape}",
                           f"{v}_outline_from": source})
        if problem:
            left_out[problem[0]].append(problem[1])
            continue
        records.append(record)

    table = None
    if records:
        table = validate_cases(pd.DataFrame(records).astype(str), base=folder, source="cdd-cesm case table",
                               check_files=True)
    report = _report(sources, out_csv, options, rows, sheet_notes, file_notes, seg_notes, breasts,
                     counts_four, persons_four, images_missing, not_listed, duplicates, left_out, mixed,
                     alignment, table, listed)
    json_path, md_path = out_csv.with_name(out_csv.stem + "-report.json"), out_csv.with_name(out_csv.stem + "-report.md")
    write_json(json_path, report)
    write_text(md_path, report_markdown(report))
    if table is None:
        raise DataError(f"CDD-CESM folder {sources.root}: no case could be built; see {md_path}")
    write_cases(table, out_csv)
    write_json(folder / "dataset.json", {"name": "cdd-cesm", "generator": "d2tl cdd-cesm",
                                         "config": dataclasses.asdict(options), "citation": CITATION,
                                         "report": json_path.name})
    return table, report


def _natural(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _image_name(patient, side, mode, view) -> str:
    return f"{patient}_{side}_{'DM' if mode == 'le' else 'CM'}_{view.upper()}"


def _size(path: Path) -> tuple[int, int]:
    from .images import image_size

    return image_size(path)


def _wh(size) -> str:
    return f"{size[1]}x{size[0]}"


def _report(sources, out_csv, options, rows, sheet_notes, file_notes, seg_notes, breasts, counts_four,
            persons_four, images_missing, not_listed, duplicates, left_out, mixed, alignment, table, listed):
    cases = {"n": 0, "labels": {label: 0 for label in LABELS}, "persons": 0}
    if table is not None:
        per_person = table.groupby("group")["label"].agg(lambda s: sorted(set(s)))
        cases = {"n": int(len(table)),
                 "labels": {label: int((table["label"] == label).sum()) for label in LABELS},
                 "persons": int(table["group"].nunique()),
                 "persons_with_two_cases": int((table.groupby("group").size() > 1).sum()),
                 "persons_with_benign_and_malignant": int(sum(len(v) > 1 for v in per_person)),
                 "views_outlined_from_dm": int(sum((table[f"{v}_outline_from"] == "dm").sum() for v in VIEWS))}
    flagged = [a for a in alignment if a["score"] < WEAK_SCORE or a.get("disagreement", 0) > OUTLINE_DISAGREEMENT]
    return {
        "data_set": "CDD-CESM", "citation": CITATION,
        "sources": {k: str(v) for k, v in dataclasses.asdict(sources).items()},
        "case_table": str(out_csv), "options": dataclasses.asdict(options),
        "cases": cases,
        "spreadsheet": {
            "rows": sheet_notes["rows"], "images": len(listed), "patients": int(rows["patient"].nunique()),
            "breasts": len(breasts),
            "breasts_with_four_images_listed": int(sum(counts_four.values())),
            "labels_of_four_image_breasts": {k: int(counts_four.get(k, 0)) for k in
                                             ("benign", "malignant", "normal", "unlabelled", "disagree")},
            "persons_with_a_four_image_breast": len(persons_four),
            "breasts_with_mixed_image_labels": mixed,
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
            "duplicate_files_resolved": duplicates,
            "images_missing_on_disk": images_missing,
            "files_not_in_spreadsheet": not_listed,
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


def report_markdown(report: dict) -> str:
    """A human-readable version of the report."""
    c, s, out = report["cases"], report["spreadsheet"], report["left_out"]
    lines = [f"# CDD-CESM case table report", "",
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
              f"Breasts whose images carry different labels: {len(s['breasts_with_mixed_image_labels'])}.", "",
              "## Left out", "", "| reason | breasts |", "|---|---|"]
    why = {"incomplete_listing": "fewer than four images listed in the spreadsheet",
           "normal": "normal (not part of the benign-vs-malignant task)",
           "unlabelled": "no usable pathology", "disagree": "images disagree (label rule `all`)",
           "missing_on_disk": "an image listed but missing on disk",
           "size_mismatch": "DM and CM images of a view differ in size (align `none`)",
           "no_outline": "no lesion outline on a view's CM image",
           "centre_outside": "outline centre outside the image",
           "registration_failed": "DM/CM registration failed"}
    for key, entries in out.items():
        lines.append(f"| {why.get(key, key)} | {len(entries)} |")
    for key, entries in out.items():
        if entries and key != "normal":
            lines += ["", f"### {why.get(key, key)}", ""]
            lines += [f"- {json.dumps(e) if not isinstance(e, str) else e}" for e in entries]
    if out.get("normal"):
        lines += ["", "### normal breasts", "", ", ".join(out["normal"])]
    lines += ["", "## Irregularities in the files", ""]
    for key, entries in report["irregularities"].items():
        lines.append(f"- {key.replace('_', ' ')}: {len(entries)}")
        for e in entries[:200]:
            lines.append(f"  - {json.dumps(e) if not isinstance(e, str) else e}")
        if len(entries) > 200:
            lines.append(f"  - ... {len(entries) - 200} more (see the JSON report)")
    al = report["alignment"]
    lines += ["", "## Low energy to subtracted frame", "", f"Mode `{al['mode']}`. {al['note']}.", ""]
    if al["views"]:
        moved = sum(1 for a in al["views"] if "written" in a)
        lines += [f"{len(al['views'])} views registered; {moved} DM images written moved into the CM frame; "
                  f"{len(al['flagged'])} flagged (score < {WEAK_SCORE} or more than {OUTLINE_DISAGREEMENT:g} px from "
                  "the outline-implied offset): check these by eye.", ""]
        lines += [f"- {json.dumps(a)}" for a in al["flagged"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# command line


def add_arguments(parser) -> None:
    parser.add_argument("--root", required=True, help="the downloaded CDD-CESM folder (searched recursively "
                        f"for '{LE_FOLDER}', '{CM_FOLDER}', the annotation spreadsheet and the segmentation CSV)")
    parser.add_argument("--out", default="data/cdd-cesm/cases.csv", help="case table to write (default %(default)s)")
    parser.add_argument("--label-rule", choices=LABEL_RULES, default="any",
                        help="breast label from its images' pathology: any = malignant if any image is, else "
                             "benign if any is; subtracted = the same on CM images only; all = all four agree "
                             "(default %(default)s)")
    parser.add_argument("--region", choices=REGION_RULES, default="largest",
                        help="which outline of an image gives the box centre (default %(default)s)")
    parser.add_argument("--duplicates", choices=DUPLICATE_RULES, default="first",
                        help="of several files for one image: first = without copy number, last = highest copy "
                             "number (default %(default)s)")
    parser.add_argument("--outline-source", choices=OUTLINE_SOURCES, default="cm",
                        help="cm = outlines of the CM image only; cm-then-dm = fall back to the DM image's "
                             "outline (default %(default)s)")
    parser.add_argument("--mask-regions", choices=MASK_REGIONS, default="chosen",
                        help="lesion mask from the chosen outline or from all outlines of the image (default %(default)s)")
    parser.add_argument("--point-radius", type=float, default=10.0,
                        help="radius in px of the disc mask a point annotation gets (default %(default)s)")
    parser.add_argument("--align", choices=ALIGN_MODES, default="register",
                        help="register = move each DM image into its CM image's frame (written as PNG); none = "
                             "use the JPEGs as they are, leaving out views whose sizes differ (default %(default)s)")
    parser.add_argument("--annotations", help="the annotation spreadsheet, if not found under --root")
    parser.add_argument("--segmentations", help="the segmentation CSV, if not found under --root")
    parser.add_argument("--low-energy-dir", help=f"the '{LE_FOLDER}' folder, if not found under --root")
    parser.add_argument("--subtracted-dir", help=f"the '{CM_FOLDER}' folder, if not found under --root")


def run(args) -> int:
    from .. import checks

    checks.number("--point-radius", args.point_radius, low=0, low_open=True, high=1000)
    checks.output_file("--out", args.out, "case table")
    options = BuildOptions(label_rule=args.label_rule, region=args.region, duplicates=args.duplicates,
                           outline_source=args.outline_source, mask_regions=args.mask_regions,
                           point_radius=args.point_radius, align=args.align)
    sources = Sources.locate(args.root, args.annotations, args.segmentations, args.low_energy_dir,
                             args.subtracted_dir)
    table, report = build_cases(sources, args.out, options, progress=_progress)
    c, s = report["cases"], report["spreadsheet"]
    print(f"wrote {args.out}: {c['n']} cases ({', '.join(f'{k} {v}' for k, v in c['labels'].items())}) "
          f"from {c['persons']} persons")
    print(f"spreadsheet: {s['breasts']} breasts, {s['breasts_with_four_images_listed']} with four images listed "
          f"({', '.join(f'{k} {v}' for k, v in s['labels_of_four_image_breasts'].items() if v)})")
    left = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report["left_out_counts"].items() if v)
    print(f"left out: {left or 'none'}")
    print(f"report: {Path(args.out).with_name(Path(args.out).stem + '-report.md')}")
    return 0
