"""Baseline classifiers: every model fits and predicts, selection on validation, metrics by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from d2tl.baseline.classify import (GRIDS, MODELS, binary_metrics, encode_labels, make_pipeline,
                                    malignant_score, select_and_fit)


def feature_table(n=60, p=40, seed=0):
    """Two informative features (one with missing values), the rest noise; parts 30/14/16."""
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    X = rng.normal(size=(n, p))
    X[:, 0] += 2.5 * (2 * y - 1)
    X[:, 1] += 1.5 * (2 * y - 1)
    X[rng.random(n) < 0.1, 1] = np.nan
    X[:, 2] = np.nan  # a feature undefined for every case
    parts = np.array(["train"] * 30 + ["val"] * 14 + ["test"] * 16)
    return pd.DataFrame(X, columns=[f"f{k}" for k in range(p)]), y, parts


def test_metrics_worked_out_by_hand():
    m = binary_metrics([1, 1, 1, 0, 0], [1, 0, 1, 0, 1], score=[0.9, 0.2, 0.8, 0.1, 0.7])
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(1 / 2)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 1, 1, 2)
    assert m["auc"] == pytest.approx(5 / 6)  # of 6 (pos, neg) pairs only 0.2 < 0.7 is misordered
    assert binary_metrics([1, 1], [1, 0], [0.3, 0.2])["auc"] is None  # undefined: None, as d2tl.stats.evaluate


def test_metrics_are_the_deep_models_metrics():
    """One computation (d2tl.stats.evaluate.call_metrics): the baseline's flat dict holds the same values
    as d2tl.stats.evaluate.binary_metrics for the same calls and scores; undefined ones are None, which
    a CSV writes as the empty cell NaN gave."""
    from d2tl.stats.evaluate import binary_metrics as deep_metrics

    y, p = [1, 1, 0, 0, 1, 0], [0.9, 0.4, 0.6, 0.1, 0.5, 0.2]
    deep = deep_metrics(y, p)
    flat = binary_metrics(y, [int(v >= 0.5) for v in p], p)
    assert {k: flat[k] for k in ("accuracy", "sensitivity", "specificity", "auc", "n")} == \
        {k: deep[k] for k in ("accuracy", "sensitivity", "specificity", "auc", "n")}
    assert {k: flat[k] for k in ("tn", "fp", "fn", "tp")} == deep["confusion_matrix"]
    empty = binary_metrics([], [], np.array([]))
    assert (empty["accuracy"], empty["sensitivity"], empty["auc"], empty["n"]) == (None, None, None, 0)
    assert pd.DataFrame([{"auc": None}, {"auc": 0.5}]).to_csv(index=False) == \
        pd.DataFrame([{"auc": np.nan}, {"auc": 0.5}]).to_csv(index=False)


def test_labels_encode_malignant_as_positive():
    assert list(encode_labels(["benign", "malignant", "malignant"])) == [0, 1, 1]
    with pytest.raises(ValueError, match="tumour"):
        encode_labels(["tumour"])


@pytest.mark.parametrize("name", MODELS)
def test_every_classifier_fits_and_predicts(name):
    X, y, parts = feature_table()
    fit = select_and_fit(name, X, y, parts, GRIDS["quick"][name], seed=1)
    assert fit.params in GRIDS["quick"][name]
    assert fit.selection["chosen"].sum() == 1 and len(fit.selection) == len(GRIDS["quick"][name])
    assert set(np.unique(fit.test_pred)) <= {0, 1} and len(fit.test_pred) == 16
    assert fit.test["n"] == 16 and fit.test["tn"] + fit.test["fp"] + fit.test["fn"] + fit.test["tp"] == 16
    assert fit.test["accuracy"] >= 0.75, fit.test  # the signal is strong: chance would be 0.5
    assert fit.test["auc"] >= 0.8
    scores = malignant_score(fit.model, X[parts == "test"].to_numpy())
    assert np.allclose(scores, fit.test_scores.to_numpy())


def test_every_paper_grid_builds_a_pipeline():
    for name in MODELS:
        for params in GRIDS["paper"][name]:
            make_pipeline(name, params)


def test_selection_uses_the_validation_set_and_breaks_ties_by_order():
    X, y, parts = feature_table()
    grid = [{"C": 1e-4}, {"C": 1.0}, {"C": 1.0}]  # C = 1e-4 zeroes every coefficient
    fit = select_and_fit("lasso", X, y, parts, grid)
    assert fit.selection.loc[0, "val_accuracy"] == pytest.approx(0.5)
    assert list(fit.selection["chosen"]) == [False, True, False]
    assert fit.params == {"C": 1.0}


def test_refit_on_train_or_train_plus_val():
    X, y, parts = feature_table()
    only_train = select_and_fit("lasso", X, y, parts, [{"C": 1.0}])
    with_val = select_and_fit("lasso", X, y, parts, [{"C": 1.0}], refit="train+val")
    assert only_train.model.named_steps["scale"].n_samples_seen_ == 30
    assert with_val.model.named_steps["scale"].n_samples_seen_ == 44


def test_a_part_with_one_class_is_refused():
    X, y, parts = feature_table()
    y = y.copy()
    y[parts == "val"] = 1
    with pytest.raises(ValueError, match="val part needs cases of both classes"):
        select_and_fit("svm", X, y, parts, GRIDS["quick"]["svm"])
