"""Split variance, beyond the paper: a section repeated over K split seeds.

The paper reports one 60/16/20 split of 96 cases, one draw among many. With ``--split-seeds K``
a section trains each of its configurations again on split seeds 1 .. K-1 (each split grouped by
patient and stratified by label, as the paper's; :func:`d2tl.data.split.split_cases`) and reports
the mean, SD, minimum and maximum of every test metric across the K splits, beside the
single-split number (split seed 0) that the paper's protocol gives. The section's tables,
figures and comparisons stay those of split 0.
"""

from __future__ import annotations

import pandas as pd

from ..io.errors import D2TLError

METRICS = ("accuracy", "sensitivity", "specificity", "auc")


def check_split_seeds(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise D2TLError(f"--split-seeds must be a whole number >= 1, got {k!r}")
    return k


def split_plans(plans: list, k: int) -> list:
    """(planned configuration, split seed, its copy on that seed) for seeds 1 .. k-1.

    A configuration trained in place of another (``substitute``) is repeated as that one."""
    from .planned import Planned

    out = []
    for p in plans:
        for seed in range(1, k):
            config = p.trained_config.replace(split_seed=seed)
            out.append((p, seed, Planned(f"{p.label} [split {seed}]", config, dict(p.columns))))
    return out


def split_variance_table(rows: pd.DataFrame, repeats: list[dict]) -> pd.DataFrame:
    """Per configuration label: the split-0 metric (the section's row) and, over all K splits,
    mean, SD (ddof 1), min and max. ``repeats``: {"label", "split_seed", metric...} of seeds >= 1."""
    first = [{"label": r["label"], "split_seed": 0, **{m: r.get(m) for m in METRICS}} for _, r in rows.iterrows()]
    every = pd.DataFrame(first + list(repeats))
    out = []
    for label in rows["label"]:
        g = every.loc[every["label"] == label]
        entry = {"label": label, "splits": int(len(g))}
        for m in METRICS:
            single = g.loc[g["split_seed"] == 0, m].iloc[0]
            values = g[m].dropna().astype(float).to_numpy()
            entry[f"{m}_split0"] = None if single is None or pd.isna(single) else float(single)
            entry[f"{m}_mean"] = float(values.mean()) if len(values) else None
            entry[f"{m}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
            entry[f"{m}_min"] = float(values.min()) if len(values) else None
            entry[f"{m}_max"] = float(values.max()) if len(values) else None
        out.append(entry)
    return pd.DataFrame(out)


def repeat_row(label: str, seed: int, metrics: dict) -> dict:
    """One split repeat's test metrics (of its selected model)."""
    t = metrics["selected"]["test"]
    return {"label": label, "split_seed": seed, **{m: t.get(m) for m in METRICS}}


def note(table: pd.DataFrame, k: int) -> str:
    """A sentence for the section report."""
    spread = table["accuracy_sd"].dropna()
    widest = (f"; the test accuracy's SD across splits is {100 * spread.min():.0f}-{100 * spread.max():.0f} "
              "points" if len(spread) else "")
    return (f"Split variance (beyond the paper): every configuration was also trained on split seeds 1-{k - 1} "
            f"(each grouped by patient and stratified by label); the split_variance table gives each metric's "
            f"value on split 0 (the one reported above) beside its mean, SD, min and max over the {k} splits"
            f"{widest}.")
