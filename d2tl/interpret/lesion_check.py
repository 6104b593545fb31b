"""The check of the maps: how much of a map lies inside the lesion.

The lesion mask is put through the very cut and resize of its view's ROI
(:func:`d2tl.interpret.inputs.case_inputs`), giving each input pixel's lesion fraction m in
[0, 1]. For a non-negative map M, the share inside the lesion is sum(M m) / sum(M), against the
lesion's share of the box area, mean(m) (what a map spread evenly would score). Per patient both
are pooled over the four images; their ratio is the enrichment (1: no better than uniform).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .inputs import CaseInputs
from ..io.errors import D2TLError
from ..protocol.views import IMAGES, image_title


def lesion_share(heat: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(share of ``heat``'s total inside the lesion, lesion's share of the area).

    ``heat`` >= 0 (take |w| first); ``mask`` is each pixel's lesion fraction in [0, 1]. The share
    is NaN when the map is all zero.
    """
    heat = np.asarray(heat, np.float64)
    mask = np.asarray(mask, np.float64)
    if heat.shape != mask.shape:
        raise D2TLError(f"map {heat.shape} and mask {mask.shape} differ in shape")
    if np.any(heat < 0):
        raise D2TLError("lesion_share needs a non-negative map (use |w|)")
    total = heat.sum()
    share = float((heat * mask).sum() / total) if total > 0 else math.nan
    return share, float(mask.mean())


def pooled_share(maps: dict, masks: dict) -> tuple[float, float]:
    """:func:`lesion_share` over the four images of a case together."""
    return lesion_share(np.stack([maps[k] for k in IMAGES]), np.stack([masks[k] for k in IMAGES]))


def share_rows(cases: list[CaseInputs], scores: np.ndarray, methods: dict[str, dict]) -> pd.DataFrame:
    """One row per case with masks: area share, and per method the pooled share inside the lesion,
    its ratio to the area share, and per image share (``methods``: name -> {key: (n, s, s) >= 0})."""
    rows = []
    for i, case in enumerate(cases):
        if case.masks is None:
            continue
        row = {"id": case.case_id, "label": case.label, "p_malignant": float(scores[i])}
        heat0 = {k: next(iter(methods.values()))[k][i] for k in IMAGES}
        row["area_share"] = pooled_share(heat0, case.masks)[1]
        for name, maps in methods.items():
            per_case = {k: maps[k][i] for k in IMAGES}
            share, area = pooled_share(per_case, case.masks)
            row[f"{name}_share"] = share
            row[f"{name}_ratio"] = share / area if area > 0 else math.nan
        for key in IMAGES:
            row[f"area_share_{key}"] = float(case.masks[key].mean())
            for name, maps in methods.items():
                row[f"{name}_share_{key}"] = lesion_share(maps[key][i], case.masks[key])[0]
        rows.append(row)
    return pd.DataFrame(rows)


SMALL_LESION = 0.5  # "small": the lesion covers less than half of the box (the check has room: ratio up to >= 2)


def _mean(values) -> float | None:
    values = pd.Series(values, dtype=float).dropna()
    return float(values.mean()) if len(values) else None


def summarise_shares(table: pd.DataFrame, methods) -> dict:
    """Means over patients, over all and over those whose lesion covers < 50 % of the box (a
    lesion filling the box makes every map score share = area = 1), and how many patients' share
    beats their area share. Means skip undefined shares (a map that is zero everywhere)."""
    if table.empty:
        return {"n_cases": 0}
    small = table["area_share"] < SMALL_LESION
    out = {"n_cases": int(len(table)), "n_small_lesion": int(small.sum()), "small_lesion_below": SMALL_LESION,
           "area_share_mean": _mean(table["area_share"]), "area_share_mean_small": _mean(table.loc[small, "area_share"])}
    for name in methods:
        share = table[f"{name}_share"]
        out[f"{name}_share_mean"] = _mean(share)
        out[f"{name}_ratio_mean"] = _mean(table[f"{name}_ratio"])
        out[f"{name}_share_mean_small"] = _mean(share[small])
        out[f"{name}_ratio_mean_small"] = _mean(table.loc[small, f"{name}_ratio"])
        out[f"{name}_above_area"] = int((share > table["area_share"]).sum())
        out[f"{name}_share_mean_by_image"] = {k: _mean(table[f"{name}_share_{k}"]) for k in IMAGES}
    out["area_share_mean_by_image"] = {k: _mean(table[f"area_share_{k}"]) for k in IMAGES}
    return out


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def shares_markdown(table: pd.DataFrame, methods, title: str = "Share of each map inside the lesion") -> str:
    """The means per map, the per-patient shares and the means per image, as Markdown."""
    if table.empty:
        return f"# {title}\n\nNo case has lesion masks; nothing to measure.\n"
    s = summarise_shares(table, methods)
    n, n_small = s["n_cases"], s["n_small_lesion"]
    lines = [f"# {title}", "",
             "share = the map's total inside the lesion / its total over the four ROIs (lesion mask cut and "
             "resized like the ROI); area = the lesion's share of the ROI area, what a uniform map scores; "
             "ratio = share / area (per patient, then averaged). \"small\" = lesion under "
             f"{SMALL_LESION:.0%} of the box ({n_small} of {n} patients; a lesion filling the box gives "
             "share = area = 1 whatever the map). n/a: the map is zero everywhere (Grad-CAM's ReLU).", "",
             f"| map | mean share | mean ratio | share > area | mean share, small | mean ratio, small |",
             "|---|---|---|---|---|---|",
             f"| lesion area | {_fmt(s['area_share_mean'])} | 1 | | {_fmt(s['area_share_mean_small'])} | 1 |"]
    for name in methods:
        lines.append(f"| {name} | {_fmt(s[f'{name}_share_mean'])} | {_fmt(s[f'{name}_ratio_mean'])} | "
                     f"{s[f'{name}_above_area']}/{n} | {_fmt(s[f'{name}_share_mean_small'])} | "
                     f"{_fmt(s[f'{name}_ratio_mean_small'])} |")
    cols = ["id", "label", "p_malignant", "area_share", *(f"{name}_share" for name in methods)]
    lines += ["", "Per patient (share inside the lesion):", "",
              "| " + " | ".join(c.removesuffix("_share") if c != "area_share" else "area" for c in cols) + " |",
              "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    lines += ["", "Means per image (share inside the lesion):", "",
              "| map | " + " | ".join(image_title(k) for k in IMAGES) + " |", "|---|" + "---|" * len(IMAGES),
              "| lesion area | " + " | ".join(_fmt(s["area_share_mean_by_image"][k]) for k in IMAGES) + " |"]
    for name in methods:
        cells = []
        for k in IMAGES:
            defined = int(table[f"{name}_share_{k}"].notna().sum())
            cells.append(_fmt(s[f"{name}_share_mean_by_image"][k]) + (f" ({defined} of {n})" if defined < n else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "(k of n): the mean over the k patients whose map for that image is not zero everywhere."]
    return "\n".join(lines) + "\n"
