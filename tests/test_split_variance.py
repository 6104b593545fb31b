"""Split variance: K split seeds give K distinct grouped, stratified splits,
and the section table reports each metric over them beside split 0."""

import numpy as np
import pandas as pd
import pytest

from d2tl.data.split import part_targets, split_cases, split_summary
from d2tl.io.errors import D2TLError
from d2tl.sections.split_variance import check_split_seeds, split_variance_table
from d2tl.protocol.views import LABELS


def _bilateral(n_people=120, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        for j in range(rng.choice([1, 2], p=[0.7, 0.3])):
            rows.append((f"P{p}_{j}", f"P{p}", str(rng.choice(LABELS))))
    return pd.DataFrame(rows, columns=["id", "group", "label"])


def test_k_split_seeds_give_k_distinct_grouped_stratified_splits():
    table = _bilateral()
    k = 5
    splits = [split_cases(table, seed) for seed in range(k)]
    targets = part_targets({label: int((table["label"] == label).sum()) for label in LABELS})
    assert len({tuple(s) for s in splits}) == k  # all different
    for parts in splits:
        assert table.assign(part=parts).groupby("group")["part"].nunique().max() == 1  # grouped
        summary = split_summary(table, parts)
        for part in ("train", "val", "test"):  # stratified: each part's label counts near its target
            for label in LABELS:
                assert abs(int(summary.loc[part, label]) - targets[part][label]) <= 1
    test_sets = [set(table.loc[s == "test", "id"]) for s in splits]
    assert all(a != b for i, a in enumerate(test_sets) for b in test_sets[i + 1:])


def test_split_variance_table_summarises_every_metric():
    rows = pd.DataFrame([{"label": "A", "accuracy": 0.8, "sensitivity": 0.7, "specificity": 0.9, "auc": 0.85},
                         {"label": "B", "accuracy": 0.5, "sensitivity": 1.0, "specificity": 0.0, "auc": None}])
    repeats = [{"label": "A", "split_seed": 1, "accuracy": 0.6, "sensitivity": 0.5, "specificity": 0.7, "auc": 0.65},
               {"label": "A", "split_seed": 2, "accuracy": 0.7, "sensitivity": 0.6, "specificity": 0.8, "auc": 0.75},
               {"label": "B", "split_seed": 1, "accuracy": 0.5, "sensitivity": 0.0, "specificity": 1.0, "auc": 0.5},
               {"label": "B", "split_seed": 2, "accuracy": 0.55, "sensitivity": 0.1, "specificity": 1.0,
                "auc": 0.6}]
    t = split_variance_table(rows, repeats).set_index("label")
    assert t.loc["A", "splits"] == 3 and t.loc["A", "accuracy_split0"] == 0.8
    assert t.loc["A", "accuracy_mean"] == pytest.approx(0.7)
    assert t.loc["A", "accuracy_sd"] == pytest.approx(0.1)
    assert (t.loc["A", "accuracy_min"], t.loc["A", "accuracy_max"]) == (0.6, 0.8)
    assert t.loc["B", "auc_split0"] is None or np.isnan(t.loc["B", "auc_split0"])
    assert t.loc["B", "auc_mean"] == pytest.approx(0.55)  # the splits that have an AUC


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_split_seeds_must_be_a_whole_number(bad):
    with pytest.raises(D2TLError, match="split-seeds"):
        check_split_seeds(bad)
