"""The paired tests of every comparison the paper makes on the same test cases, built from a
section's table rows and each configuration's ``predictions.csv`` (:mod:`d2tl.stats.paired` does the
statistics):

===========  ===============================================================================
box_size     box 256 (the paper's best) vs each other box
box_shift    the original box vs each 20 px shift repeat (the paper: a 20 px shift barely hurts)
pooling      D2TL (dual-mode) vs simple pooling
tuning       full-tune vs semi-tune, and vs the Keras 2 frozen-BN semi-tune
baseline     D2TL vs each conventional classifier (:func:`baseline_table`)
===========  ===============================================================================

random_init compares learning curves, not test calls, so it has no paired test. Holm's
adjustment runs over the tests of one table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .evaluate import AUC_RESAMPLES, AUC_SEED, interval_columns
from .paired import ALPHA, compare, holm, indistinguishable

BETTER, SIMILAR = "better", "similar"  # what the paper claims of A against B
COLUMNS = ("comparison", "a", "b", "claim", "n", "accuracy_a", "accuracy_b", "both_right", "a_only", "b_only",
           "both_wrong", "mcnemar_p", "mcnemar_p_holm", "auc_a", "auc_b", "auc_difference", "auc_difference_low",
           "auc_difference_high", "resamples", "seed", "indistinguishable", "note")


def comparisons(section: str, rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(label A, label B, claim) of each paired comparison the paper makes in ``section``."""
    labels = set(rows["label"])
    if section == "box_size":
        return [("box 256", label, BETTER) for label in rows["label"] if label != "box 256" and "box 256" in labels]
    if section == "box_shift":
        return [("original", label, SIMILAR) for label in rows.loc[rows["shift"] == 20, "label"]]
    if section == "pooling":
        return [("dual-mode (D2TL)", "simple pooling", BETTER)]
    if section == "tuning":
        return [("full-tune (D2TL)", b, BETTER) for b in ("semi-tune", "semi-tune, Keras 2 BN") if b in labels]
    return []


def read_predictions(directory) -> pd.DataFrame | None:
    """A trained configuration's test predictions (``id``, ``label``, ``p_malignant``,
    ``predicted``) with ``y`` (1 = malignant) and ``call`` (1 = called malignant); None without."""
    path = Path(directory) / "predictions.csv"
    if not path.is_file():
        return None
    p = pd.read_csv(path, dtype={"id": str})
    return p.assign(y=(p["label"] == "malignant").astype(int), call=(p["predicted"] == "malignant").astype(int))


def row_intervals(confusion: dict, directory) -> dict:
    """95% intervals of a section row's test metrics (:func:`d2tl.stats.evaluate.interval_columns`:
    exact for the proportions, bootstrap for the AUC from the folder's ``predictions.csv``)."""
    p = read_predictions(directory)
    return interval_columns(confusion, *((None, None) if p is None else (p["y"], p["p_malignant"])))


def paired_row(a_name: str, b_name: str, claim: str, a: pd.DataFrame | None, b: pd.DataFrame | None,
               score: str = "p_malignant", call: str = "call", b_score: str | None = None,
               b_call: str | None = None) -> dict:
    """One comparison of two prediction tables, matched by case id (the same test cases)."""
    row = {"comparison": f"{a_name} vs {b_name}", "a": a_name, "b": b_name, "claim": claim, "note": ""}
    if a is None or b is None:
        return {**row, "note": "predictions missing"}
    b_score, b_call = b_score or score, b_call or call
    both = a[["id", "y", score, call]].merge(b[["id", "y", b_score, b_call]], on="id", suffixes=("_a", "_b"))
    if len(both) != len(a) or len(both) != len(b) or (both["y_a"] != both["y_b"]).any():
        return {**row, "note": "not the same test cases"}
    pick = lambda name, side: both[name] if name in both else both[f"{name}_{side}"]  # noqa: E731
    result = compare(both["y_a"], pick(score, "a"), pick(b_score, "b"), pick(call, "a"), pick(b_call, "b"))
    return {**row, **result}


def finish(rows: list[dict]) -> pd.DataFrame:
    """The comparison table with Holm-adjusted p-values over its tests and the chance flag."""
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if len(table):
        table["mcnemar_p_holm"] = holm(table["mcnemar_p"].tolist())
        table["indistinguishable"] = [
            None if r["note"] else indistinguishable(r["mcnemar_p"], r["auc_difference_low"], r["auc_difference_high"])
            for _, r in table.iterrows()]
        table["resamples"], table["seed"] = table["resamples"].fillna(AUC_RESAMPLES), table["seed"].fillna(AUC_SEED)
    return table


def section_table(section: str, rows: pd.DataFrame, store) -> pd.DataFrame:
    """The paired tests of ``section`` from its table ``rows`` (column ``hash`` names each
    configuration's folder under ``store``)."""
    folder = dict(zip(rows["label"], rows["hash"]))
    return finish([paired_row(a, b, claim, read_predictions(Path(store) / folder[a]),
                              read_predictions(Path(store) / folder[b]))
                   for a, b, claim in comparisons(section, rows)])


def baseline_table(d2tl_predictions: pd.DataFrame | None, baseline: pd.DataFrame, methods: dict) -> pd.DataFrame:
    """D2TL vs each conventional classifier on the test cases: ``baseline`` holds ``id``,
    ``label`` and, per method, ``<column>_score`` and ``<column>_malignant`` (test rows only);
    ``methods`` maps a shown name to its column prefix."""
    b = baseline.assign(id=baseline["id"].astype(str), y=(baseline["label"] == "malignant").astype(int))
    rows = []
    for name, column in methods.items():
        b_calls = b.assign(**{f"{column}_malignant": b[f"{column}_malignant"].astype(int)})
        rows.append(paired_row("D2TL", name, BETTER, d2tl_predictions, b_calls,
                               b_score=f"{column}_score", b_call=f"{column}_malignant"))
    return finish(rows)


def _p(value) -> str:
    return "n/a" if value is None or pd.isna(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _difference(r) -> str:
    if r["auc_difference"] is None or pd.isna(r["auc_difference"]):
        return "AUC difference n/a"
    return (f"AUC difference {r['auc_difference']:+.3f} (95% CI {r['auc_difference_low']:+.3f} to "
            f"{r['auc_difference_high']:+.3f})")


def notes(table: pd.DataFrame) -> list[str]:
    """The method, the multiplicity note, and a plain sentence for each comparison that chance
    cannot be ruled out for (or, for a claimed similarity, that 20 cases cannot confirm)."""
    if not len(table):
        return []
    first = table.iloc[0]
    out = [f"Paired tests (table paired_tests): exact McNemar test of the two models' calls on the same "
           f"{int(table['n'].max()) if table['n'].notna().any() else 0} test cases "
           "(statsmodels mcnemar(exact=True)), and the AUC difference with a 95% paired percentile bootstrap "
           f"interval (cases resampled jointly, stratified by class, {int(first['resamples'])} resamples, seed "
           f"{int(first['seed'])}). {len(table)} test{'s' if len(table) > 1 else ''} in this table: "
           "mcnemar_p_holm is Holm-adjusted over them (statsmodels multipletests); read a p-value below "
           f"{ALPHA:g} against its adjusted value."]
    for _, r in table.iterrows():
        evidence = f"McNemar p = {_p(r['mcnemar_p'])} (Holm {_p(r['mcnemar_p_holm'])}), {_difference(r)}"
        if r["note"]:
            out.append(f"{r['comparison']}: no paired test ({r['note']}).")
        elif r["claim"] == BETTER and r["indistinguishable"]:
            out.append(f"The paper's claim that {r['a']} beats {r['b']} cannot be told apart from chance on these "
                       f"{int(r['n'])} test cases: {evidence}.")
        elif r["claim"] == SIMILAR and r["indistinguishable"]:
            out.append(f"{r['a']} vs {r['b']}: no difference detected ({evidence}), as the paper reports; "
                       f"{int(r['n'])} cases cannot show the two equivalent either.")
        elif r["claim"] == SIMILAR:
            out.append(f"{r['a']} vs {r['b']}: the two differ beyond chance ({evidence}), against the paper's "
                       "reading that a 20 px shift barely matters.")
    return out


def markdown(table: pd.DataFrame) -> list[str]:
    """The paired-tests table as Markdown lines (for the section report and SUMMARY.md)."""
    if not len(table):
        return []
    lines = ["| comparison | acc A / B | A only right / B only right | McNemar p (Holm) | AUC A / B | "
             "AUC difference (95% CI) | chance? |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        if r["note"]:
            lines.append(f"| {r['comparison']} | {r['note']} | | | | | |")
            continue
        auc = lambda v: "n/a" if v is None or pd.isna(v) else f"{v:.3f}"  # noqa: E731
        ci = "n/a" if pd.isna(r["auc_difference_low"]) else \
            f"{r['auc_difference']:+.3f} ({r['auc_difference_low']:+.3f} to {r['auc_difference_high']:+.3f})"
        lines.append(f"| {r['comparison']} | {100 * r['accuracy_a']:.0f}% / {100 * r['accuracy_b']:.0f}% | "
                     f"{int(r['a_only'])} / {int(r['b_only'])} | {_p(r['mcnemar_p'])} ({_p(r['mcnemar_p_holm'])}) | "
                     f"{auc(r['auc_a'])} / {auc(r['auc_b'])} | {ci} | "
                     f"{'cannot be told apart' if r['indistinguishable'] else 'differ'} |")
    return lines + [""]


def records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready rows (NaN as None) for summary.json and SUMMARY.md."""
    return json.loads(table.to_json(orient="records", double_precision=15))
