"""The analysis every section shares: one-class and constant-output configurations, the
external-set note, paired tests and the interval note, around the section's own analysis."""

from __future__ import annotations

import pandas as pd

SPREAD_FLOOR = 0.01  # SD of p_malignant across test cases below which outputs count as constant


def row_of(rows: pd.DataFrame, label: str) -> pd.Series:
    """The table row of the configuration called ``label``."""
    return rows.loc[rows["label"] == label].iloc[0]


def analyse(spec, ctx, plans: list, rows: pd.DataFrame, histories: pd.DataFrame):
    """(comparison rows, notes, extra numbers, extra tables) of the section ``spec``."""
    from ..stats import section_tests
    from ..stats.evaluate import interval_note

    comparison, notes, extra, tables = [], [], {}, {}
    one_class = rows.loc[(rows["tp"] + rows["fp"] == 0) | (rows["tn"] + rows["fn"] == 0), "label"].tolist()
    extra["one_class_configurations"] = one_class
    if one_class:
        notes.append(f"{len(one_class)} of {len(rows)} configurations ({', '.join(one_class)}) call every test case "
                     "the same class: their accuracy is the class balance and their sensitivity/specificity "
                     "100%/0% or 0%/100%. The test-set prediction SD column says whether the outputs are "
                     f"constant (below {SPREAD_FLOOR:g}: no case is told from another) or only one-sided.")
    flat = rows.loc[rows["test_prediction_sd"].fillna(1.0) < SPREAD_FLOOR, "label"].tolist()
    extra["constant_output_configurations"] = flat
    if flat:
        notes.append(f"Constant outputs (test prediction SD below {SPREAD_FLOOR:g}): {', '.join(flat)}.")
    if rows["ext_auc"].notna().any():
        notes.append(f"External set: the selected model of each configuration scored on {int(rows['ext_n'].max())} "
                     "independent cases (another generator seed), with a 95% bootstrap interval of the AUC "
                     "(columns ext_*). The paper-protocol test set has 20 cases, whose AUC has a standard error "
                     "of about 0.1.")
    own_comparison, own_notes, own_extra, own_tables = spec.analyse(ctx, plans, rows, histories)
    comparison += own_comparison
    notes += own_notes
    extra.update(own_extra)
    tables.update(own_tables)
    paired = section_tests.section_table(spec.name, rows, ctx.store)
    if len(paired):
        tables["paired_tests"] = paired
        extra["paired_tests"] = section_tests.records(paired)
        notes += section_tests.notes(paired)
    notes.append(interval_note())
    return comparison, notes, extra, tables
