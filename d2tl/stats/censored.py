"""The epoch at which training accuracy first reaches a level (Sec. 4.4: 90%), over runs, with
runs that never reach it within their epochs counted as censored at their last epoch, not
dropped: dropping them would report only the runs that learned fast enough, and so too early
an epoch. The median is Kaplan-Meier's (statsmodels ``SurvfuncRight``); when fewer than half
the runs are known to have reached the level it is not reached and is reported as "> E".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight


def epochs_to_level(history: pd.DataFrame, level: float, column: str = "accuracy") -> pd.DataFrame:
    """Per run of ``history`` (columns run, epoch, ``column``): ``epoch`` (the first 1-based epoch
    at or above ``level``, else the run's last epoch) and ``reached`` (False: censored there)."""
    rows = []
    for run, h in history.groupby("run"):
        hit = h.loc[h[column] >= level, "epoch"]
        rows.append({"run": int(run), "epoch": int(hit.min() if len(hit) else h["epoch"].max()),
                     "reached": bool(len(hit))})
    return pd.DataFrame(rows, columns=["run", "epoch", "reached"])


def censored_median(epochs, reached) -> float | None:
    """Kaplan-Meier median of the epochs to the level (statsmodels, whose quantile is the first
    time the survival estimate falls strictly below one half); None when it is not reached."""
    epochs = np.asarray(epochs, dtype=float)
    if len(epochs) == 0:
        return None
    median = SurvfuncRight(epochs, np.asarray(reached, dtype=int)).quantile(0.5)
    return None if median is None or np.isnan(median) else float(median)


def level_summary(history: pd.DataFrame, level: float, column: str = "accuracy") -> dict:
    """How many runs reach ``level``, the censored median epoch and its text ("epoch M" or
    "> E", E the longest run's epochs), and the per-run epochs (None where censored)."""
    per_run = epochs_to_level(history, level, column)
    median = censored_median(per_run["epoch"], per_run["reached"])
    horizon = int(per_run["epoch"].max()) if len(per_run) else 0
    return {"runs_reaching": int(per_run["reached"].sum()), "runs": int(len(per_run)),
            "median": median, "censored_at": horizon,
            "median_text": f"epoch {median:.0f}" if median is not None else f"> {horizon}",
            "per_run": [int(e) if r else None for e, r in zip(per_run["epoch"], per_run["reached"])]}


def censored_note(level: float) -> str:
    """The sentence that says how the epoch to ``level`` is summarised."""
    return (f"First epoch with {100 * level:g}% training accuracy: a run that never reaches it is censored at its "
            "last epoch, not dropped; the median is Kaplan-Meier's (statsmodels SurvfuncRight), '> E' when fewer "
            "than half the runs are known to reach it within E epochs (d2tl.stats.censored).")
