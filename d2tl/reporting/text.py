"""How numbers are written in reports: percentages, 95% intervals, p-values, seconds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def pct(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def with_interval(row, metric: str) -> str:
    """A test metric as a percentage, with its 95% interval when the row has one."""
    low, high = row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return pct(row.get(metric))
    return f"{pct(row.get(metric))} ({pct(low)}-{pct(high)})"


def triple(row) -> str:
    """``acc / sens / spec`` as percentages, each with its 95% interval where the row has one."""
    return " / ".join(with_interval(row, m) for m in ("accuracy", "sensitivity", "specificity"))


def pvalue(p) -> str:
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def seconds(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1f} s"


def cell(value) -> str:
    """A table cell: empty for missing values, floats to 3 significant digits."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def with_interval_auc(row, metric: str) -> str:
    """A metric with its 95% interval in brackets: percentages, the AUC to 3 decimals."""
    if metric != "auc":
        return with_interval(row, metric)
    value, low, high = row.get("auc"), row.get("auc_low"), row.get("auc_high")
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:.3f}" + ("" if low is None or pd.isna(low) else f" ({low:.3f}-{high:.3f})")


def num(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"
