"""Intervals, the external test set, and "the best conventional baseline" of a finished run.

External set (``--external CASES.csv``, ``run_baseline(..., external=...)``)
    Twenty test cases give an AUC whose standard error is about 0.1, so the selected classifiers
    (each method chosen on validation and fitted on the training cases exactly as for the test
    set; nothing is refitted or re-chosen) also score an independent case table, e.g. a
    synthetic set made with another generator seed (``data/synthetic-external``, 200 cases).
    Its features are extracted with the same settings and masks. The external table's
    fingerprint is part of the configuration hash and of the provenance.

Intervals (test and external)
    95 % intervals as :func:`d2tl.stats.evaluate.metrics_with_intervals` computes them: exact
    (Clopper-Pearson) intervals for accuracy, sensitivity and specificity (:func:`proportion_interval`), a
    percentile bootstrap stratified by class (2000 resamples, seed 0) for the ROC AUC
    (:func:`auc_interval`), both from :mod:`d2tl.stats.evaluate`. They are computed from the
    classifier's own calls (``predict``), so they belong to exactly the counts in the table.
    ``prediction_sd`` is the SD of the malignancy score
    (a probability, or the SVM's decision value) over the cases.

The best conventional baseline (:func:`best_baseline`, :func:`best_external_baseline`)
    Among the rows whose ``role`` is ``"baseline"`` (GLM-LASSO, SVM, random forest and the two
    "in the style of" rows) with the run's default masks, the one with the highest validation
    AUC (``val_auc``: its chosen setting fitted on the training cases, scored on the validation
    cases; ties: table order). Only then is it scored on the
    test and external sets: one choice for both, made before either is looked at. Choosing the
    classifier with the highest test or external AUC would flatter it (the maximum of five noisy
    estimates). The intensity-only control (``role`` ``"control"``), the exact-mask rows and
    D2TL are never candidates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

RATES = ("accuracy", "sensitivity", "specificity")
SCORED = (*RATES, "auc")


from ..stats.evaluate import auc_interval, proportion_interval  # noqa: E402,F401  (re-exported)


def interval_columns(metrics: dict, y, scores, prefix: str = "") -> dict:
    """Flat columns ``<prefix><metric>``, ``..._low``, ``..._high`` for accuracy, sensitivity,
    specificity and AUC, plus counts, ``n`` and ``prediction_sd``, from a
    :func:`d2tl.baseline.classify.binary_metrics` dict and the scores it was computed from."""
    tn, fp, fn, tp = (int(metrics[k]) for k in ("tn", "fp", "fn", "tp"))
    intervals = {"accuracy": proportion_interval(tn + tp, tn + fp + fn + tp),
                 "sensitivity": proportion_interval(tp, tp + fn),
                 "specificity": proportion_interval(tn, tn + fp),
                 "auc": auc_interval(y, scores) if len(y) else None}
    out = {}
    for name in SCORED:
        value = metrics[name]
        out[f"{prefix}{name}"] = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        low, high = intervals[name] or (None, None)
        out[f"{prefix}{name}_low"], out[f"{prefix}{name}_high"] = low, high
    out.update({f"{prefix}{k}": int(metrics[k]) for k in ("tn", "fp", "fn", "tp", "n")})
    out[f"{prefix}prediction_sd"] = float(np.std(scores)) if len(scores) else None
    return out


def score_external(fit, X, y) -> tuple[dict, np.ndarray, np.ndarray]:
    """``(columns "ext_*", scores, calls)`` of a fitted :class:`~d2tl.baseline.classify.FitResult`
    on another case table's features ``X`` (columns matched by name to the training features)."""
    from .classify import binary_metrics, malignant_score

    model = fit.model
    X = np.asarray(X, dtype=float)
    scores = malignant_score(model, X)
    calls = model.predict(X).astype(int)
    metrics = binary_metrics(y, calls, scores)
    return interval_columns(metrics, np.asarray(y, dtype=int), scores, prefix="ext_"), scores, calls


def _number(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


SELECTED_BY = ("highest validation AUC among the conventional baselines with the default masks "
               "(intensity-only control excluded), chosen before the test and external sets are scored")


def best_baseline(rows: list[dict], default_masks: str) -> dict | None:
    """The row of the best conventional baseline, chosen on validation (module docstring)."""
    candidates = [r for r in rows if r.get("role") == "baseline" and r.get("masks") == default_masks
                  and _number(r.get("val_auc")) is not None]
    if not candidates:
        return None
    top = max(_number(r["val_auc"]) for r in candidates)
    return next(r for r in candidates if _number(r["val_auc"]) == top)


def comparison(rows: list[dict], default_masks: str, external: bool) -> dict:
    """``{"test": ..., "external": ...}`` (external only with an external set): the best
    conventional baseline and the intensity-only control on each set, for ``metrics.json``."""
    out = {}
    for where, prefix in (("test", ""), ("external", "ext_"))[: 2 if external else 1]:
        best, control = best_baseline(rows, default_masks), control_row(rows, default_masks)
        out[where] = {"best_baseline": None if best is None else summary_of(best, prefix),
                      "intensity_control": None if control is None else summary_of(control, prefix),
                      "selected_by": SELECTED_BY}
    return out


def control_row(rows: list[dict], default_masks: str) -> dict | None:
    """The intensity-only control's row with the default masks, if present."""
    return next((r for r in rows if r.get("role") == "control" and r.get("masks") == default_masks), None)


def summary_of(row: dict, prefix: str = "") -> dict:
    """Metrics of one table row as ``{metric: value, metric_interval: [low, high]}``."""
    out = {"method": row["method"], "description": row.get("description"), "masks": row.get("masks"),
           "n": _number(row.get(f"{prefix}n"))}
    for name in SCORED:
        out[name] = _number(row.get(f"{prefix}{name}"))
        low, high = _number(row.get(f"{prefix}{name}_low")), _number(row.get(f"{prefix}{name}_high"))
        out[f"{name}_interval"] = None if low is None else [low, high]
    if out["n"] is not None:
        out["n"] = int(out["n"])
    return out


def _result_folder(folder) -> Path:
    folder = Path(folder)
    if not (folder / "metrics.json").is_file() and (folder / "LATEST").is_file():
        folder = folder / (folder / "LATEST").read_text().strip()
    return folder


def best_external_baseline(folder) -> dict | None:
    """The best conventional baseline's external-set result of a finished baseline run.

    ``folder`` is a result folder (``OUT/<hash>/``, holding ``metrics.json``) or ``OUT`` itself
    (then the folder named by ``OUT/LATEST``). Returns None when there is no such file or the run
    had no external set; otherwise::

        {"method", "description", "masks", "n", "auc", "auc_interval": [low, high],
         "accuracy", "accuracy_interval", "sensitivity", ..., "specificity_interval",
         "selected_by": "...", "external": {"name", "cases", "cases_sha256", "n_cases", ...},
         "control": {same keys, the intensity-only control on the external set} or None,
         "folder": "...", "config_hash": "..."}

    The choice is made on validation (module docstring); the control is excluded from it and
    given beside it. A folder whose rows lack ``val_auc`` (made before it was recorded) gives None.
    """
    folder = _result_folder(folder)
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    rows, external = data.get("rows") or [], data.get("external")
    if not external:
        return None
    default = data.get("default_masks")
    best = best_baseline(rows, default)
    if best is None or _number(best.get("ext_auc")) is None:
        return None
    control = control_row(rows, default)
    return {**summary_of(best, "ext_"), "selected_by": SELECTED_BY,
            "external": external,
            "control": None if control is None or _number(control.get("ext_auc")) is None
            else summary_of(control, "ext_"),
            "folder": str(folder), "config_hash": data.get("config_hash")}
