"""Paired comparisons of two classifiers on the same test cases: an exact McNemar test of their
calls, a paired bootstrap interval of their AUC difference, and Holm's adjustment over a
table's tests. Pure functions over arrays; :mod:`d2tl.stats.section_tests` applies them to sections.

Why paired: every comparison the paper makes is of two models scored on the same 20 test cases,
so the cases' own difficulty is shared; a paired test uses that, two independent intervals
do not.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from .evaluate import AUC_RESAMPLES, AUC_SEED, auc_of_rows

ALPHA = 0.05


def mcnemar_exact(y_true, calls_a, calls_b) -> dict:
    """Exact McNemar test of two sets of 0/1 calls against the same labels (statsmodels'
    ``mcnemar(exact=True)``: a two-sided binomial test of the discordant cases, p = 0.5).

    ``a_only`` counts cases that A gets right and B wrong, ``b_only`` the reverse; with no
    discordant case the p-value is 1."""
    y = np.asarray(y_true, dtype=int)
    right_a = np.asarray(calls_a, dtype=int) == y
    right_b = np.asarray(calls_b, dtype=int) == y
    table = [[int(np.sum(right_a & right_b)), int(np.sum(right_a & ~right_b))],
             [int(np.sum(~right_a & right_b)), int(np.sum(~right_a & ~right_b))]]
    result = mcnemar(table, exact=True)
    return {"both_right": table[0][0], "a_only": table[0][1], "b_only": table[1][0], "both_wrong": table[1][1],
            "mcnemar_p": float(result.pvalue)}


def paired_bootstrap_auc(y_true, scores_a, scores_b, confidence: float = 0.95, n_resamples: int = AUC_RESAMPLES,
                         seed: int = AUC_SEED) -> dict:
    """AUC(A) - AUC(B) and its percentile interval from a paired bootstrap: the cases are
    resampled jointly (the same resampled cases score both models), stratified by class so that
    every resample keeps both classes at their sizes. Deterministic from ``seed``. Written by
    hand: scipy.stats.bootstrap has no strata. Interval None when only one class is present."""
    y = np.asarray(y_true, dtype=int)
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    out = {"auc_a": None, "auc_b": None, "auc_difference": None, "auc_difference_low": None,
           "auc_difference_high": None, "resamples": int(n_resamples), "seed": int(seed)}
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) == 0 or len(neg) == 0:
        return out
    labels = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
    auc_a, auc_b = (float(auc_of_rows(labels, s[np.r_[pos, neg]])) for s in (a, b))
    rng = np.random.default_rng(seed)
    index = np.concatenate([pos[rng.integers(0, len(pos), (n_resamples, len(pos)))],
                            neg[rng.integers(0, len(neg), (n_resamples, len(neg)))]], axis=1)
    grid = np.broadcast_to(labels, index.shape)
    differences = auc_of_rows(grid, a[index]) - auc_of_rows(grid, b[index])
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(differences, [tail, 100 - tail])
    out.update(auc_a=auc_a, auc_b=auc_b, auc_difference=auc_a - auc_b, auc_difference_low=float(low),
               auc_difference_high=float(high))
    return out


def holm(pvalues) -> list:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``) over the given
    tests; None entries stay None and are not counted as tests."""
    values = [None if p is None or (isinstance(p, float) and np.isnan(p)) else float(p) for p in pvalues]
    present = [p for p in values if p is not None]
    if not present:
        return values
    adjusted = iter(multipletests(present, method="holm")[1].tolist())
    return [None if p is None else float(next(adjusted)) for p in values]


def indistinguishable(mcnemar_p, low, high, alpha: float = ALPHA) -> bool:
    """True when neither the calls (McNemar p >= alpha) nor the AUCs (difference interval holds
    0, or is undefined) tell the two models apart."""
    calls_same = mcnemar_p is None or mcnemar_p >= alpha
    auc_same = low is None or high is None or low <= 0 <= high
    return bool(calls_same and auc_same)


def compare(y_true, scores_a, scores_b, calls_a=None, calls_b=None, threshold: float = 0.5, **bootstrap) -> dict:
    """One paired comparison row: accuracies, McNemar, the AUC difference and its interval.
    Calls default to ``score >= threshold`` (the paper's rule)."""
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    calls_a = (a >= threshold).astype(int) if calls_a is None else np.asarray(calls_a, dtype=int)
    calls_b = (b >= threshold).astype(int) if calls_b is None else np.asarray(calls_b, dtype=int)
    y = np.asarray(y_true, dtype=int)
    return {"n": int(len(y)), "accuracy_a": float(np.mean(calls_a == y)), "accuracy_b": float(np.mean(calls_b == y)),
            **mcnemar_exact(y, calls_a, calls_b), **paired_bootstrap_auc(y, a, b, **bootstrap)}
