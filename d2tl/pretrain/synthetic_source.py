"""A synthetic CEDM source domain for pre-training: ROIs labelled by the generator's ground truth.

The paper transfers from ImageNet. Where that file cannot be had, the backbone can instead learn
CEDM itself, the way RadImageNet pre-trains on radiology images: on many ROIs of synthetic cases
(:mod:`d2tl.data.sources.synthetic`, generator seeds disjoint from every data set the model is
tuned or scored on), with labels that are **not** the diagnosis:

- ``lesion``: the box holds the lesion (the case table's box, cut as D2TL cuts it) or not (a box
  of the same side elsewhere in the breast, touching no lesion pixel);
- ``density``: the breast's volumetric glandular fraction, in :data:`DENSITY_EDGES` classes;
- ``bpe``: background parenchymal enhancement (mg/ml iodine in glandular tissue), :data:`BPE_EDGES`;
- ``size``: the lesion's long side in :data:`SIZE_EDGES` bins (lesion boxes only).

Every box gives two samples, its low-energy and its recombined ROI, normalised, cut and resized
exactly as :func:`d2tl.data.roi.extract_case_many` does for D2TL's inputs. The generator draws
density, enhancement and size independently of the label (sizes are log-spaced per class), and
every case gives one lesion and one background box per view, so none of these labels is a
disguised diagnosis; :func:`label_association` measures that on the corpus itself.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..data.images import breast_mask, load_view
from ..data.roi import RoiConfig, box_side_px, cut_box, normalise, resize_square
from ..io.errors import D2TLError
from ..protocol.views import LABELS, MODES, VIEWS

# class edges of each proxy label (the generator's ranges: d2tl/data/sources/synthetic/config.py)
DENSITY_EDGES = (0.20, 0.35)  # glandular fraction drawn uniformly in 0.05-0.50: three equal classes
BPE_EDGES = (0.0967, 0.1733)  # mg/ml drawn uniformly in 0.02-0.25: three equal classes
SIZE_EDGES = tuple(float(e) for e in np.geomspace(35.0, 1175.0, 5)[1:-1])  # log-spaced sizes: 4 bins
TASKS = {"lesion": 2, "density": len(DENSITY_EDGES) + 1, "bpe": len(BPE_EDGES) + 1, "size": len(SIZE_EDGES) + 1}
BACKGROUND_TRIES = 200  # candidate centres per background box before the view is given up


@dataclasses.dataclass
class Corpus:
    """``images`` (n, s, s, 1) float32 in [0, 1]; ``labels[task]`` (n,) int; ``weights[task]``
    (n,) 0/1 (a lesion-free box has no size); ``table`` one row per sample (case, view, mode,
    box kind, the case's diagnosis, kept only to measure leaks)."""

    images: np.ndarray
    labels: dict
    weights: dict
    table: pd.DataFrame

    def __len__(self) -> int:
        return len(self.images)


def bin_of(value: float, edges) -> int:
    return int(np.searchsorted(np.asarray(edges), value, side="right"))


def background_centre(breast: np.ndarray, lesion: np.ndarray, side: int, rng) -> tuple[float, float] | None:
    """A box centre whose ``side`` px box lies at least 90% in the breast and holds no lesion pixel
    (the lesion mask grown by the box's half side, so the box never grazes it)."""
    rows, cols = np.nonzero(breast)
    if len(rows) == 0:
        return None
    inside = breast.astype(np.float32)
    lesion = None if lesion is None else lesion.astype(np.float32)
    for _ in range(BACKGROUND_TRIES):
        i = rng.integers(len(rows))
        x, y = float(cols[i]), float(rows[i])
        if cut_box(inside, (x, y), side).mean() < 0.9:
            continue
        if lesion is not None and cut_box(lesion, (x, y), side).any():
            continue
        return x, y
    return None


def _view_samples(row, view: str, config: RoiConfig, rng) -> list[tuple[str, str, np.ndarray]]:
    """(box kind, mode, ROI) of one view: its lesion box and one background box, both modes."""
    images = load_view(row, view, recombine_weight=config.recombine_weight, with_mask=True)
    region = breast_mask(images.le)
    normalised = {mode: normalise(images.image(mode), config.intensity_percentiles, region) for mode in MODES}
    side = box_side_px(config, images.scale)
    centres = {"lesion": images.centre,
               "background": background_centre(region, images.mask, side, rng)}
    return [(kind, mode, resize_square(cut_box(normalised[mode], centre, side), config.input_size))
            for kind, centre in centres.items() if centre is not None for mode in MODES]


def case_truth(dataset: dict) -> dict:
    """id -> the generator's truth of each case of a ``dataset.json``."""
    return {case["id"]: case for case in dataset["cases"]}


def build_corpus(table: pd.DataFrame, truth: dict, config: RoiConfig, seed: int, log=print) -> Corpus:
    """The labelled ROIs of every case in ``table`` (a synthetic case table; ``truth`` from
    :func:`case_truth`); background boxes are placed from ``seed``."""
    rng = np.random.default_rng([seed, 27])
    images, rows = [], []
    for n, (_, row) in enumerate(table.iterrows()):
        if row["id"] not in truth:
            raise D2TLError(f"patient {row['id']}: not in the source set's dataset.json (no ground truth)")
        t = truth[row["id"]]
        for view in VIEWS:
            for kind, mode, roi in _view_samples(row, view, config, rng):
                images.append(roi)
                rows.append({"id": row["id"], "view": view, "mode": mode, "box": kind, "diagnosis": t["label"],
                             "lesion": int(kind == "lesion"), "density": bin_of(t["density"], DENSITY_EDGES),
                             "bpe": bin_of(t["bpe_mg_ml"], BPE_EDGES), "size": bin_of(t["size_full_px"], SIZE_EDGES),
                             "size_weight": float(kind == "lesion")})
        if (n + 1) % 200 == 0:
            log(f"source ROIs: {n + 1}/{len(table)} cases, {len(images)} samples")
    frame = pd.DataFrame(rows)
    labels = {task: frame[task].to_numpy(np.int64) for task in TASKS}
    weights = {task: (frame["size_weight"] if task == "size" else pd.Series(1.0, index=frame.index))
               .to_numpy(np.float32) for task in TASKS}
    return Corpus(np.stack(images)[..., None].astype(np.float32), labels, weights, frame)


def label_association(table: pd.DataFrame) -> list[dict]:
    """How strongly each proxy label goes with malignancy on the corpus, measured (one row per
    task): Cramér's V and the chi-square test of the label x diagnosis table (scipy), and the
    AUC of the label's class index as a score for malignancy (scikit-learn). A case's own labels
    (density, enhancement, size) count once per case, not once per ROI, so the test's sample is
    the cases; ``lesion`` counts every box; ``size`` only lesion boxes. A label with V near 0 and
    AUC near 0.5 carries no diagnosis."""
    from scipy.stats import chi2_contingency
    from scipy.stats.contingency import association
    from sklearn.metrics import roc_auc_score

    out = []
    for task in TASKS:
        part = table[table["size_weight"] > 0] if task == "size" else table
        if task != "lesion":
            part = part.drop_duplicates("id")
        counts = pd.crosstab(part[task], part["diagnosis"])
        y = (part["diagnosis"] == LABELS[1]).to_numpy(int)
        chi2, p, _, _ = chi2_contingency(counts) if counts.shape[0] > 1 else (0.0, 1.0, 0, None)
        out.append({"task": task, "samples": int(len(part)), "classes": int(counts.shape[0]),
                    "cramers_v": float(association(counts, method="cramer")) if counts.shape[0] > 1 else 0.0,
                    "chi2_p": float(p), "auc_for_malignancy": float(roc_auc_score(y, part[task])),
                    "malignant_share_by_class": {int(k): float(v) for k, v in
                                                 (counts.get(LABELS[1], 0) / counts.sum(axis=1)).items()}})
    return out
