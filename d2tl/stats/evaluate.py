"""Metrics: the paper's (accuracy, sensitivity, specificity) and ours (ROC AUC, confusion
matrix, and the spread of per-run results)."""

from __future__ import annotations


import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

from ..protocol.paper import DECISION_THRESHOLD

METRICS = ("accuracy", "sensitivity", "specificity", "auc")
AUC_RESAMPLES = 2000  # bootstrap resamples of every AUC interval (and paired AUC difference)
AUC_SEED = 0  # their seed: intervals are reproducible
PROPORTION_METHOD = "exact (Clopper-Pearson)"


def auc_method(n_resamples: int = AUC_RESAMPLES, seed: int = AUC_SEED) -> str:
    """How the AUC intervals are made, for outputs."""
    return f"percentile bootstrap, stratified by class, {n_resamples} resamples, seed {seed}"


def interval_note(confidence: float = 0.95) -> str:
    """The sentence that says how every table's intervals are made."""
    return (f"Intervals ({100 * confidence:g}%, in brackets and columns <metric>_low/_high): {PROPORTION_METHOD} "
            f"for accuracy, sensitivity and specificity (scipy binomtest); AUC: {auc_method()}.")


def call_metrics(y_true, y_pred, score=None) -> dict:
    """Metrics of 0/1 calls against labels (1 = malignant), and the ROC AUC of ``score``: the one
    computation behind :func:`binary_metrics` and the baseline's
    (:func:`d2tl.baseline.classify.binary_metrics`).

    Sensitivity: malignant cases called malignant; specificity: benign cases called benign.
    An undefined metric is None (JSON null; an empty cell in a CSV, as NaN would be): accuracy
    without cases, sensitivity or specificity without cases of that class, the AUC without a
    score or with one class only.
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()) if len(y_true) \
        else (0, 0, 0, 0)
    two_classes = len(set(y_true.tolist())) == 2
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else None,
        "sensitivity": float(tp / (tp + fn)) if tp + fn else None,
        "specificity": float(tn / (tn + fp)) if tn + fp else None,
        "auc": float(roc_auc_score(y_true, score)) if score is not None and two_classes else None,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def binary_metrics(y_true, p_malignant, threshold: float = DECISION_THRESHOLD) -> dict:
    """Metrics of malignancy probabilities against labels (1 = malignant): :func:`call_metrics`
    of the calls, a case being called malignant when its probability is >= ``threshold`` (the
    paper's 0.5), and the AUC of the probabilities (None when only one class is present)."""
    p = np.asarray(p_malignant, dtype=float)
    return {**call_metrics(y_true, (p >= threshold).astype(int), p), "threshold": threshold}


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


def proportion_interval(successes: int, n: int, confidence: float = 0.95) -> tuple | None:
    """Exact (Clopper-Pearson) interval of a proportion (scipy.stats.binomtest); None when n is 0.
    Exact rather than Wilson: with 20 test cases (10 per class) its coverage is guaranteed."""
    if n == 0:
        return None
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


def auc_of_rows(y, p, axis=-1):
    """ROC AUC of every row of ``y`` (0/1) and ``p`` (Mann-Whitney from mid-ranks, as
    sklearn's roc_auc_score); NaN for a row with one class only."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    ranks = stats.rankdata(p, axis=-1)
    n1 = y.sum(axis=-1)
    n0 = y.shape[-1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.where((n1 > 0) & (n0 > 0), auc, np.nan)


def bootstrap_aucs(y_true, scores, n_resamples: int = AUC_RESAMPLES, seed: int = AUC_SEED) -> np.ndarray:
    """ROC AUCs of ``n_resamples`` stratified bootstrap resamples: the malignant and the benign
    cases are each resampled with replacement, so every resample keeps both classes at their
    sizes (the usual AUC bootstrap, e.g. pROC's default; scipy.stats.bootstrap has no strata, so
    this is written by hand). Deterministic from ``seed``."""
    y, p = np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float)
    pos, neg = p[y == 1], p[y == 0]
    rng = np.random.default_rng(seed)
    draws = np.concatenate([pos[rng.integers(0, len(pos), (n_resamples, len(pos)))],
                            neg[rng.integers(0, len(neg), (n_resamples, len(neg)))]], axis=1)
    labels = np.broadcast_to(np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)], draws.shape)
    return auc_of_rows(labels, draws)


def auc_interval(y_true, scores, confidence: float = 0.95, n_resamples: int = AUC_RESAMPLES,
                 seed: int = AUC_SEED) -> tuple | None:
    """Percentile interval of the ROC AUC from :func:`bootstrap_aucs`; None when only one class
    is present."""
    y = np.asarray(y_true, dtype=int)
    if len(set(y.tolist())) < 2:
        return None
    aucs = bootstrap_aucs(y, scores, n_resamples, seed)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)


def metrics_with_intervals(y_true, p_malignant, threshold: float = DECISION_THRESHOLD,
                           confidence: float = 0.95) -> dict:
    """:func:`binary_metrics` plus 95% intervals: exact (Clopper-Pearson) for accuracy,
    sensitivity and specificity, a case bootstrap for the AUC; and the spread (SD) of the
    predictions."""
    m = binary_metrics(y_true, p_malignant, threshold)
    c = m["confusion_matrix"]
    n = c["tn"] + c["fp"] + c["fn"] + c["tp"]
    m["intervals"] = {
        "confidence": confidence,
        "accuracy": proportion_interval(c["tn"] + c["tp"], n, confidence),
        "sensitivity": proportion_interval(c["tp"], c["tp"] + c["fn"], confidence),
        "specificity": proportion_interval(c["tn"], c["tn"] + c["fp"], confidence),
        "auc": auc_interval(y_true, p_malignant, confidence),
        "auc_method": auc_method(),
    }
    m["prediction_sd"] = float(np.std(np.asarray(p_malignant, dtype=float)))
    return m


INTERVAL_METRICS = ("accuracy", "sensitivity", "specificity", "auc")


def interval_columns(confusion: dict, y_true=None, scores=None, confidence: float = 0.95) -> dict:
    """Flat ``<metric>_low`` / ``<metric>_high`` columns of a table row: exact intervals from the
    confusion counts (``tn``, ``fp``, ``fn``, ``tp``) and, when the labels and scores are given,
    the bootstrap AUC interval (None where undefined)."""
    tn, fp, fn, tp = (int(confusion[k]) for k in ("tn", "fp", "fn", "tp"))
    intervals = {"accuracy": proportion_interval(tn + tp, tn + fp + fn + tp, confidence),
                 "sensitivity": proportion_interval(tp, tp + fn, confidence),
                 "specificity": proportion_interval(tn, tn + fp, confidence),
                 "auc": None if y_true is None else auc_interval(y_true, scores, confidence)}
    out = {}
    for name in INTERVAL_METRICS:
        low, high = intervals[name] or (None, None)
        out[f"{name}_low"], out[f"{name}_high"] = low, high
    return out
