"""Scoring a finished configuration's selected model on an independent (external) test set.

The paper's protocol tests on 20 cases, whose ROC AUC has a standard error of about 0.1. An
external set (for the synthetic data: another generator seed, at least 200 cases) scores the
same selected model with 95% intervals (:func:`d2tl.evaluate.metrics_with_intervals`). It is
evaluation only: training and selection never see it, so it is not part of the configuration
hash; its result is kept beside the configuration's metrics, in
``OUT/<hash>/external/<first 16 hex of the external case table's SHA-256>.json``, and recomputed
only when missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .config import ExperimentConfig
from .data.cases import load_cases
from .errors import D2TLError
from .evaluate import metrics_with_intervals
from .provenance import dataset_info, write_json
from .views import LABELS


def external_path(directory: Path, external_csv) -> Path:
    return Path(directory) / "external" / f"{dataset_info(external_csv)['cases_sha256'][:16]}.json"


def score_external(config: ExperimentConfig, directory, external_csv, roi_cache_dir=None, log=print) -> dict:
    """The selected model of the finished configuration in ``directory`` scored on ``external_csv``
    (ROIs cut with the configuration's ROI settings and shift seed)."""
    from .data.roi import extract_rois
    from .data.roi_cache import RoiCache
    from .train import FINISHED, compiled_model, predict_proba, weights_only

    directory = Path(directory)
    target = external_path(directory, external_csv)
    if target.is_file():
        try:
            return json.loads(target.read_text())
        except json.JSONDecodeError:
            log(f"{target} is damaged; scoring the external set again")
    metrics_file = directory / FINISHED
    if not metrics_file.is_file():
        raise D2TLError(f"{directory} holds no finished result ({FINISHED}); train it before scoring an external set")
    finished = json.loads(metrics_file.read_text())
    selected = finished["selected"]
    table = load_cases(external_csv)
    if roi_cache_dir is not None:
        rois = RoiCache(roi_cache_dir, external_csv, table, log=log).get(config.roi, config.shift_seed)
    else:
        rois = extract_rois(table, config.roi, seed=config.shift_seed)
    model, _ = compiled_model(config, finished.get("total_steps", 1))
    weights_only(model).load_weights(directory / f"run_{selected['run']:02d}" / "best.weights.h5")
    p = predict_proba(model, rois.arrays)
    y = np.asarray(rois.labels, dtype=int)
    result = {"dataset": dataset_info(external_csv, table), **metrics_with_intervals(y, p)}
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target.with_suffix(".csv")) as tmp:
        pd.DataFrame({"id": rois.ids, "label": [LABELS[i] for i in y], "p_malignant": p}).to_csv(tmp, index=False)
    write_json(target, result)
    a = result["auc"]
    ci = result["intervals"]["auc"]
    log(f"external set {result['dataset']['name']} ({len(y)} cases): AUC "
        f"{'n/a' if a is None else f'{a:.3f}'}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        + f", accuracy {result['accuracy']:.3f}, prediction SD {result['prediction_sd']:.3f}")
    return result
