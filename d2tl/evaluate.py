"""Metrics: the paper's (accuracy, sensitivity, specificity) and ours (ROC AUC, confusion
matrix, and the spread of per-run results)."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

from .paper import DECISION_THRESHOLD

METRICS = ("accuracy", "sensitivity", "specificity", "auc")


def binary_metrics(y_true, p_malignant, threshold: float = DECISION_THRESHOLD) -> dict:
    """Metrics of malignancy probabilities against labels (1 = malignant).

    Sensitivity: malignant cases called malignant; specificity: benign cases called benign.
    A case is called malignant when its probability is >= ``threshold`` (the paper's 0.5).
    AUC is None when only one class is present.
    """
    y_true = np.asarray(y_true, dtype=int)
    p = np.asarray(p_malignant, dtype=float)
    y_pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "sensitivity": float(tp / (tp + fn)) if tp + fn else None,
        "specificity": float(tn / (tn + fp)) if tn + fp else None,
        "auc": float(roc_auc_score(y_true, p)) if len(set(y_true.tolist())) == 2 else None,
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "threshold": threshold,
    }


def spread(values, confidence: float = 0.95) -> dict:
    """Mean, sample SD and a t-interval for the mean of per-run values (None entries dropped)."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if len(v) == 0:
        return {"n": 0, "mean": None, "sd": None, "ci_low": None, "ci_high": None}
    mean = float(v.mean())
    if len(v) == 1:
        return {"n": 1, "mean": mean, "sd": None, "ci_low": None, "ci_high": None}
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * sd / np.sqrt(len(v)))
    return {"n": int(len(v)), "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half,
            "confidence": confidence}


def summarise_runs(run_metrics: list[dict]) -> dict:
    """Per-metric spread over runs (each item a :func:`binary_metrics` dict)."""
    return {name: spread([m.get(name) for m in run_metrics]) for name in METRICS}
