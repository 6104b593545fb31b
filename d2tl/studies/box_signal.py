"""Where the class signal of a synthetic set is lost between the generator and the model's box.

For every case of a synthetic set (its ``dataset.json`` holds the generator's truth) and both
views, one number per stage, each read as a score for malignancy (ROC AUC over the cases, the
two views averaged):

- ``truth_enhancement``: the lesion's iodine concentration as drawn (the generator's own signal);
- ``raw_lesion``: the recombined image's mean inside the lesion mask, as stored (before any
  normalisation);
- ``raw_lesion_contrast``: that mean minus the median of the breast around it, as stored;
- ``normalised_lesion``: the lesion's mean after D2TL's intensity normalisation (percentiles of breast
  pixels, :func:`d2tl.data.roi.normalise`);
- ``normalised_lesion_contrast``: that mean minus the breast's median, after normalisation;
- ``box_centre`` / ``box_mean``: the model-ready ROI's (box 256 px, cut and resized as D2TL does)
  central quarter and whole mean;
- ``lesion_in_box``: the share of the lesion inside the box, and ``box_is_lesion``: the share of
  the box the lesion fills (not scores: they say what the box shows).

Rows are also split by whether the lesion's long side fits in the box. Hand-written: it reads
the generator's truth, which no library knows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.images import breast_mask, load_view
from ..data.roi import RoiConfig, box_side_px, cut_box, normalise, resize_square
from ..views import VIEWS

SCORES = ("truth_enhancement", "raw_lesion", "raw_lesion_contrast", "normalised_lesion", "normalised_lesion_contrast", "box_centre",
          "box_mean")


def view_stages(row, view: str, config: RoiConfig) -> dict:
    """The stages' numbers for one view of one case."""
    images = load_view(row, view, recombine_weight=config.recombine_weight, with_mask=True)
    region = breast_mask(images.le)
    rec = images.rec
    normalised = normalise(rec, config.intensity_percentiles, region)
    lesion = images.mask.astype(bool)
    side = box_side_px(config, images.scale)
    inside = cut_box(lesion.astype(np.float32), images.centre, side)
    roi = resize_square(cut_box(normalised, images.centre, side), config.input_size)
    q = config.input_size // 4
    return {"raw_lesion": float(rec[lesion].mean()),
            "raw_lesion_contrast": float(rec[lesion].mean() - np.median(rec[region & ~lesion])),
            "normalised_lesion": float(normalised[lesion].mean()),
            "normalised_lesion_contrast": float(normalised[lesion].mean() - np.median(normalised[region])),
            "box_centre": float(roi[q:-q, q:-q].mean()), "box_mean": float(roi.mean()),
            "lesion_in_box": float(inside.sum() / max(lesion.sum(), 1)), "box_is_lesion": float(inside.mean())}


def case_stages(table: pd.DataFrame, truth: dict, config: RoiConfig = RoiConfig(box=256, input_scale=75 / 256)
                ) -> pd.DataFrame:
    """One row per case: the label, the size, whether the lesion fits the box, every stage."""
    rows = []
    for _, row in table.iterrows():
        t = truth[row["id"]]
        views = [view_stages(row, view, config) for view in VIEWS]
        stages = {k: float(np.mean([v[k] for v in views])) for k in views[0]}
        rows.append({"id": row["id"], "malignant": int(t["label"] == "malignant"), "size_full_px": t["size_full_px"],
                     "fits_box": bool(t["size_full_px"] <= config.box), "truth_enhancement": t["enhancement_mg_ml"],
                     **stages})
    return pd.DataFrame(rows)


def stage_aucs(cases: pd.DataFrame) -> pd.DataFrame:
    """The AUC of every stage's number for malignancy: all cases, lesions that fit the box, larger
    ones; with the class-stratified bootstrap interval of :func:`d2tl.evaluate.auc_interval`."""
    from sklearn.metrics import roc_auc_score

    from ..evaluate import auc_interval

    rows = []
    for subset, part in (("all", cases), ("fits the box", cases[cases["fits_box"]]),
                         ("larger than the box", cases[~cases["fits_box"]])):
        y = part["malignant"].to_numpy()
        if len(set(y.tolist())) < 2:
            continue  # e.g. no lesion larger than the box
        for score in SCORES:
            low, high = auc_interval(y, part[score].to_numpy()) or (None, None)
            rows.append({"cases": subset, "n": int(len(part)), "stage": score,
                         "auc": float(roc_auc_score(y, part[score])), "auc_low": low, "auc_high": high})
    return pd.DataFrame(rows)


def load_truth(cases_csv) -> dict:
    meta = Path(cases_csv).parent / "dataset.json"
    return {case["id"]: case for case in json.loads(meta.read_text())["cases"]}
