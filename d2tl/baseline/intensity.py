"""The intensity-only control: a classifier on the lesion's brightness alone, no texture, no shape.

On the synthetic data the enhancement strength (iodine concentration) is one of the four class
features, and the best reader of it alone reaches about 78 % at the default difficulty
(:mod:`d2tl.data.oracle`). A model whose accuracy is near this control's may be reading
brightness and nothing else. The control is fitted and selected exactly like the other baseline
classifiers (same split, same masks, L1-penalised logistic regression whose ``C`` is chosen on
the validation cases, :mod:`d2tl.baseline.classify`).

Features, per image (``le_cc``, ``le_mlo``, ``rec_cc``, ``rec_mlo``; named
``<image>_intensity_<statistic>``), on the raw pixel values (LE: inverse transmission;
recombined: ln HE - w ln LE; no per-image normalisation, so absolute brightness counts):

============== ==================================================================================
``mean``       mean inside the lesion mask
``sd``         standard deviation inside the mask
``p10``,       10th and 90th percentiles inside the mask
``p90``
``max``        maximum inside the mask
``contrast``   mean inside minus mean of the surround: the ring from :data:`SURROUND_FULL_PX`
               (8 to 32 full-resolution px, 0.56-2.24 mm) outside the mask, in image px via the
               case table's ``scale``; the surround carries the breast thickness and background
               enhancement, which the lesion's own values also hold
``contrast_    ``contrast`` divided by the mask's equivalent diameter (full-resolution px). The
per_px``       projected enhancement is concentration x path length, and the path grows with the
               lesion, whose size spans 35-1175 px in both classes; this divides that out, so the
               control reads the concentration rather than the size (measured on the tuning set,
               data/synthetic-tuning: 10-fold logistic accuracy 0.55 from the raw statistics,
               0.65 from this one; 0.73 for the true concentration). It uses the mask's area,
               not its outline.
============== ==================================================================================

Cost: one read of the four images per case (about 0.03 s), so it is not cached.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from ..io.errors import DataError, where
from ..protocol.views import VIEWS
from .features import check_mask

INTENSITY_VERSION = 1
INTENSITY_STATS = ("mean", "sd", "p10", "p90", "max", "contrast", "contrast_per_px")
SURROUND_FULL_PX = (8.0, 32.0)  # ring of the surround, full-resolution px outside the mask


def _scale(row) -> float:
    value = row.get("scale", 1.0) if hasattr(row, "get") else 1.0
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if np.isfinite(value) and value > 0 else 1.0


def intensity_features(image: np.ndarray, mask: np.ndarray, scale: float = 1.0) -> dict:
    """The first-order statistics of :data:`INTENSITY_STATS` (module docstring) of one image."""
    image = np.asarray(image, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if image.shape != mask.shape:
        raise DataError(f"image {image.shape} and mask {mask.shape} differ in size")
    inner_px = max(1.0, SURROUND_FULL_PX[0] * scale)
    outer_px = max(inner_px + 2.0, SURROUND_FULL_PX[1] * scale)
    rows, cols = np.nonzero(mask)
    pad = int(np.ceil(outer_px)) + 1
    r0, r1 = max(0, rows.min() - pad), min(mask.shape[0], rows.max() + pad + 1)
    c0, c1 = max(0, cols.min() - pad), min(mask.shape[1], cols.max() + pad + 1)
    local, values_img = mask[r0:r1, c0:c1], image[r0:r1, c0:c1]
    distance = ndi.distance_transform_edt(~local)
    ring = (distance > inner_px) & (distance <= outer_px)
    inside = values_img[local]
    surround = values_img[ring].mean() if ring.any() else np.nan
    diameter_full_px = 2.0 * np.sqrt(local.sum() / np.pi) / scale
    contrast = inside.mean() - surround
    p10, p90 = np.percentile(inside, [10, 90])
    return {"mean": float(inside.mean()), "sd": float(inside.std()), "p10": float(p10), "p90": float(p90),
            "max": float(inside.max()), "contrast": float(contrast),
            "contrast_per_px": float(contrast / diameter_full_px)}


def case_intensity(row, perturbations: dict, recombine_weight: float | None = None) -> dict:
    """``{mask name: {feature: value}}`` for one case-table row, one entry per mask variant of
    ``perturbations`` (``{name: MaskPerturbation or None}``; None = the masks as given)."""
    from ..data.images import DEFAULT_RECOMBINE_WEIGHT, load_view

    weight = DEFAULT_RECOMBINE_WEIGHT if recombine_weight is None else recombine_weight
    case_id = row["id"]
    scale = _scale(row)
    out = {name: {} for name in perturbations}
    for view in VIEWS:
        images = load_view(row, view, recombine_weight=weight)
        given = check_mask(images.mask, case_id, view)
        for name, perturbation in perturbations.items():
            mask = given if perturbation is None else check_mask(perturbation.apply(given, case_id, view),
                                                                 case_id, view)
            for mode in ("le", "rec"):
                key = f"{mode}_{view}"
                image = images.image(mode)
                if not np.isfinite(image[mask]).all():
                    raise DataError(f"{where(case_id, key)}: non-finite pixel values inside the lesion mask")
                stats = intensity_features(image, mask, scale)
                out[name].update({f"{key}_intensity_{s}": stats[s] for s in INTENSITY_STATS})
    return out


def extract_intensity(table: pd.DataFrame, perturbations: dict, recombine_weight: float | None = None,
                      ) -> tuple[dict, float]:
    """``({mask name: feature table (rows: cases in table order, index id)}, seconds)``."""
    start = time.perf_counter()
    ids = [str(i) for i in table["id"]]
    per_case = [case_intensity(row, perturbations, recombine_weight) for _, row in table.iterrows()]
    tables = {}
    for name in perturbations:
        columns = list(per_case[0][name]) if per_case else []
        tables[name] = pd.DataFrame([[case[name][c] for c in columns] for case in per_case],
                                    index=pd.Index(ids, name="id"), columns=columns, dtype=float)
    return tables, time.perf_counter() - start

