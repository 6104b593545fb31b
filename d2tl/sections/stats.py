"""Statistics of a section's repeats and learning curves: Welch's t-test and Mann-Whitney U,
the epoch a level is first reached, last-epochs means, steady epoch times."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def compare_samples(a, b) -> dict:
    """Welch's t-test and Mann-Whitney U (both two-sided) of samples ``a`` and ``b``.

    p-values are None where a test is undefined (fewer than 2 values in a sample for Welch's
    test; both samples constant, where Welch's statistic is 0/0), with the reason in ``note``.
    """
    from scipy import stats

    a = np.asarray([x for x in a if x is not None], dtype=float)
    b = np.asarray([x for x in b if x is not None], dtype=float)
    out = {"n_a": int(len(a)), "n_b": int(len(b)),
           "mean_a": float(a.mean()) if len(a) else None, "mean_b": float(b.mean()) if len(b) else None,
           "sd_a": float(a.std(ddof=1)) if len(a) > 1 else None, "sd_b": float(b.std(ddof=1)) if len(b) > 1 else None,
           "welch_t": None, "welch_p": None, "mannwhitney_u": None, "mannwhitney_p": None, "note": ""}
    notes = []
    if len(a) < 2 or len(b) < 2:
        notes.append("Welch's test needs at least 2 repeats per group")
    elif a.std() == 0 and b.std() == 0:
        notes.append("Welch's test undefined: both groups constant")
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-constant data
            r = stats.ttest_ind(a, b, equal_var=False)
        if np.isfinite(r.pvalue):
            out["welch_t"], out["welch_p"] = float(r.statistic), float(r.pvalue)
        else:
            notes.append("Welch's test undefined")
    if len(a) and len(b):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            u = stats.mannwhitneyu(a, b, alternative="two-sided")
        if np.isfinite(u.pvalue):
            out["mannwhitney_u"], out["mannwhitney_p"] = float(u.statistic), float(u.pvalue)
    out["note"] = "; ".join(notes)
    return out


def first_epoch_reaching(history: pd.DataFrame, level: float = 0.9, column: str = "accuracy") -> int | None:
    """The first epoch (1-based) whose ``column`` is at least ``level``; None if none is."""
    hit = history.loc[history[column] >= level, "epoch"]
    return int(hit.min()) if len(hit) else None


def last_epochs_mean(history: pd.DataFrame, column: str, n: int = 10) -> float:
    """Mean of ``column`` over the last ``n`` epochs (all epochs when there are fewer)."""
    h = history.sort_values("epoch")
    return float(h[column].tail(n).mean())


def steady_epoch_seconds(history: pd.DataFrame) -> float:
    """Mean epoch wall time without the first epoch of the first run, which may include the
    one-off compilation of the model graph (when it is the only epoch, it is used as is)."""
    h = history.sort_values(["run", "epoch"])
    rest = h.iloc[1:] if len(h) > 1 else h
    return float(rest["seconds"].mean())
