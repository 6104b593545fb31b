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
- ``local_contrast``: the lesion's mean minus the median of a ring around it (1-3.5 mm outside
  its outline), as stored: what a reader sees of the enhancement, free of the breast's
  large-scale thickness profile that the breast-wide median carries;
- the oracles, cross-validated logistic regressions (scikit-learn, 5 folds) on what the stored
  image shows, each case scored by a model that never saw it (:mod:`d2tl.data.oracle` reads the
  drawn features instead): ``pixel_oracle`` on the pixel values in the true lesion region (local
  contrast, heterogeneity, rim = outer band minus core, edge gradient); ``true_outline_oracle``
  on those plus the true outline's solidity and circularity (an upper bound on what the image's
  shape can tell: it knows the drawn outline, which the image shows only as far as the
  lesion's contrast lets it); ``normalised_pixel_oracle`` on the pixel features after D2TL's
  intensity normalisation; ``input_pixel_oracle`` on the same pixel features read from the
  model's input (the normalised box resized to the input side, the outline resized with it):
  what the resizing to the input side leaves of the pixel oracle;
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

from ..data.dicom_tags import REFERENCE_PITCH_MM
from ..data.images import breast_mask, load_view
from ..data.roi import RoiConfig, box_side_px, cut_box, normalise, resize_square
from ..protocol.paper import MIN_INPUT
from ..protocol.views import VIEWS

SCORES = ("truth_enhancement", "raw_lesion", "raw_lesion_contrast", "local_contrast", "normalised_lesion",
          "normalised_lesion_contrast", "box_centre", "box_mean", "pixel_oracle", "true_outline_oracle",
          "normalised_pixel_oracle", "input_pixel_oracle")
PIXEL_FEATURES = ("local_contrast", "heterogeneity", "rim", "edge_gradient")
ORACLES = {"pixel_oracle": PIXEL_FEATURES,
           "true_outline_oracle": PIXEL_FEATURES + ("solidity", "circularity"),
           "normalised_pixel_oracle": tuple(f"normalised_{name}" for name in PIXEL_FEATURES),
           "input_pixel_oracle": tuple(f"input_{name}" for name in PIXEL_FEATURES)}
RING_MM = (1.0, 3.5)  # the ring around the lesion that local contrast compares it with


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
    pixel_mm = REFERENCE_PITCH_MM / images.scale
    as_normalised = image_features(normalised, lesion, region, pixel_mm)
    return {**input_features(roi, lesion, region, images.centre, side, pixel_mm, config,
                             float(np.median(normalised[region]))),
            "raw_lesion": float(rec[lesion].mean()),
            "raw_lesion_contrast": float(rec[lesion].mean() - np.median(rec[region & ~lesion])),
            **image_features(rec, lesion, region, pixel_mm),
            **{f"normalised_{name}": as_normalised[name] for name in PIXEL_FEATURES},
            "normalised_lesion": float(normalised[lesion].mean()),
            "normalised_lesion_contrast": float(normalised[lesion].mean() - np.median(normalised[region])),
            "box_centre": float(roi[q:-q, q:-q].mean()), "box_mean": float(roi.mean()),
            "lesion_in_box": float(inside.sum() / max(lesion.sum(), 1)), "box_is_lesion": float(inside.mean())}


def image_features(rec: np.ndarray, lesion: np.ndarray, region: np.ndarray, pixel_mm: float,
                   fallback_background: float = np.nan) -> dict:
    """What the stored recombined image shows of one lesion, given its true outline
    (:data:`PIXEL_FEATURES`, and the true outline's solidity and circularity);
    ``fallback_background`` stands for the background where ``rec`` shows no breast outside the
    lesion (a box the lesion fills)."""
    from scipy import ndimage
    from skimage import filters

    gap, outer = (max(1, int(round(mm / pixel_mm))) for mm in RING_MM)
    ring = ndimage.binary_dilation(lesion, iterations=outer) & ~ndimage.binary_dilation(lesion, iterations=gap) & region
    around = region & ~lesion
    background = float(np.median(rec[ring] if ring.any() else rec[around])) if around.any() else fallback_background
    band = max(1, int(round(0.25 * np.sqrt(lesion.sum() / np.pi))))
    core = ndimage.binary_erosion(lesion, iterations=band)
    edge = lesion & ~ndimage.binary_erosion(lesion)
    return {"local_contrast": float(rec[lesion].mean()) - background,
            "heterogeneity": float(rec[lesion].std()),
            "rim": float(rec[lesion & ~core].mean() - rec[core].mean()) if core.any() else 0.0,
            **dict(zip(("solidity", "circularity"), _outline_shape(lesion))),
            "edge_gradient": float(filters.sobel(rec)[edge].mean())}


def input_features(roi: np.ndarray, lesion: np.ndarray, region: np.ndarray, centre, side: int, pixel_mm: float,
                   config: RoiConfig, breast_level: float) -> dict:
    """:func:`image_features` of the model's input: the normalised box at ``config.input_size``
    px, with the true outline and the breast cut and resized the same way (``input_`` names).
    Where the lesion fills the box, its contrast is read against ``breast_level`` (the normalised
    breast's median, the level the normalisation fixes for every case)."""
    def to_input(mask):
        return resize_square(cut_box(mask.astype(np.float32), centre, side), config.input_size)

    cover = to_input(lesion)
    small = cover >= 0.5
    if not small.any():  # a lesion smaller than an input pixel: the pixel it covers most
        small = cover == cover.max()
    features = image_features(roi, small, to_input(region) >= 0.5, pixel_mm * side / config.input_size,
                              fallback_background=breast_level)
    return {f"input_{name}": features[name] for name in PIXEL_FEATURES}


def _outline_shape(region: np.ndarray) -> tuple[float, float]:
    """Solidity and circularity (4 pi area / perimeter^2) of a region's largest component."""
    from skimage import measure

    if not region.any():
        return 0.0, 0.0
    props = max(measure.regionprops(measure.label(region)), key=lambda r: r.area)
    return float(props.solidity), float(4 * np.pi * props.area / max(props.perimeter, 1.0) ** 2)


def image_oracle(cases: pd.DataFrame, features, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Cross-validated probability of malignancy from ``features`` (each case scored by a model
    that never saw it)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    x, y = cases[list(features)].to_numpy(), cases["malignant"].to_numpy()
    return cross_val_predict(model, x, y, cv=split, method="predict_proba")[:, 1]


def contrast_fit(cases: pd.DataFrame, column: str) -> dict:
    """What sets a contrast: ordinary least squares (statsmodels) on log concentration and log
    size, each effect per SD of its predictor."""
    import statsmodels.formula.api as smf

    data = cases.assign(log_conc=np.log(cases["truth_enhancement"]), log_size=np.log(cases["size_full_px"]))
    m = smf.ols(f"{column} ~ log_conc + log_size", data).fit()
    return {"conc_per_sd": float(m.params["log_conc"] * data["log_conc"].std()),
            "size_per_sd": float(m.params["log_size"] * data["log_size"].std()),
            "residual_sd": float(np.sqrt(m.scale)), "r2": float(m.rsquared)}


def case_stages(table: pd.DataFrame, truth: dict, config: RoiConfig = RoiConfig(box=256, input_scale=MIN_INPUT / 256)
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
    cases = pd.DataFrame(rows)
    for name, features in ORACLES.items():
        cases[name] = image_oracle(cases, features)
    return cases


def stage_aucs(cases: pd.DataFrame) -> pd.DataFrame:
    """The AUC of every stage's number for malignancy: all cases, lesions that fit the box, larger
    ones; with the class-stratified bootstrap interval of :func:`d2tl.stats.evaluate.auc_interval`."""
    from sklearn.metrics import roc_auc_score

    from ..stats.evaluate import auc_interval

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
