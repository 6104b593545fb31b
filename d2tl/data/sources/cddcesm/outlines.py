"""The segmentation CSV (VGG Image Annotator export): lesion outlines, their areas, centres and masks."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ....io.errors import DataError
from ....io.text_table import read_text_table
from .image_files import ImageFile
from .names import parse_name


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
