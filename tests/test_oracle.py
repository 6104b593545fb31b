"""Oracle figures of the synthetic data set: exact values, the Bayes rule, agreement with the generator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from d2tl.data import oracle
from d2tl.data.sources import synthetic
from d2tl.data.oracle import (OracleModel, empirical_bayes, empirical_majority, expected_bayes,
                              expected_majority, monte_carlo, oracle_summary, oracle_text)
from d2tl.data.sources.synthetic import SynthConfig, write_dataset


def test_exact_majority_values():
    assert expected_majority(0.5)["accuracy"] == pytest.approx(0.84375, abs=1e-12)
    assert expected_majority(0.25)["accuracy"] == pytest.approx(0.95703125, abs=1e-12)
    assert expected_majority(0.0) == pytest.approx({"accuracy": 1.0, "auc": 1.0})
    assert expected_majority(1.0) == pytest.approx({"accuracy": 0.5, "auc": 0.5})


@pytest.mark.parametrize("difficulty", [0.0, 0.1, 0.25, 0.5, 0.8, 1.0])
def test_bayes_at_least_majority_and_concentration_alone_below(difficulty):
    model = OracleModel(difficulty)
    bayes, majority = expected_bayes(model), expected_majority(difficulty)
    alone = expected_bayes(model, use_discrete=False)
    assert bayes["accuracy"] >= majority["accuracy"] - 1e-9
    # three equally weighted binary features and bounded concentration evidence: equal accuracy
    assert bayes["accuracy"] == pytest.approx(majority["accuracy"], abs=1e-6)
    assert 0.5 - 1e-9 <= alone["accuracy"] <= bayes["accuracy"] + 1e-9
    assert 0.5 - 1e-9 <= alone["auc"] <= bayes["auc"] + 1e-9


def test_known_figures_at_the_issue_difficulty():
    # "enhancement strength alone is estimated to reach about 69%" at difficulty 0.5
    assert expected_bayes(OracleModel(0.5), use_discrete=False)["accuracy"] == pytest.approx(0.69, abs=0.005)
    assert expected_bayes(OracleModel(0.25))["auc"] == pytest.approx(0.9928, abs=5e-4)


def test_expected_values_agree_with_monte_carlo():
    model = OracleModel(0.5)
    s = monte_carlo(model, n=100_000, seed=3)
    k = s["presented"][:, [oracle.FEATURES.index(f) for f in oracle.DISCRETE]].sum(axis=1)
    for use_discrete in (True, False):
        lo = model.log_odds(k, s["concentration_mg_ml"], use_discrete)
        expected = expected_bayes(model, use_discrete)
        accuracy = np.mean((lo > 0) == s["label"])
        assert accuracy == pytest.approx(expected["accuracy"], abs=4 * np.sqrt(0.25 / len(lo)))
        assert roc_auc_score(s["label"], lo) == pytest.approx(expected["auc"], abs=0.006)
    votes = s["presented"].sum(axis=1)
    assert roc_auc_score(s["label"], votes) == pytest.approx(expected_majority(0.5)["auc"], abs=0.006)


def test_model_constants_match_the_generator():
    """The oracle's enhancement model and feature values are those _draw_features uses."""
    assert oracle.FEATURES == synthetic.FEATURES
    assert oracle.MEDIAN_MG_ML == synthetic.ENHANCEMENT_MEDIAN
    rng = np.random.default_rng(11)
    draws = [(label, *synthetic._draw_features(rng, label, 0.5)) for label in ("benign", "malignant") * 6000]
    flips = np.mean([[p[f] != label for f in oracle.FEATURES] for label, p, _ in draws])
    assert flips == pytest.approx(0.25, abs=0.01)
    for cls in ("benign", "malignant"):
        logs = np.log([f["concentration_mg_ml"] for _, p, f in draws if p["enhancement_strength"] == cls])
        assert np.exp(np.median(logs)) == pytest.approx(oracle.MEDIAN_MG_ML[cls], rel=0.03)
        assert logs.std() == pytest.approx(oracle.LOG_SD[cls], rel=0.04)
    for _, presented, features in draws:
        for f in oracle.DISCRETE:
            assert (features[f] in oracle.MALIGNANT_VALUES[f]) == (presented[f] == "malignant")


def _case(label, presented, conc):
    values = {"shape": ("oval", "spiculated"), "margin": ("circumscribed", "indistinct"),
              "enhancement_pattern": ("homogeneous", "rim")}
    return {"label": label, "enhancement_mg_ml": conc,
            "presented_class": dict(zip(oracle.FEATURES, presented)),
            **{f: values[f][presented[oracle.FEATURES.index(f)] == "malignant"] for f in oracle.DISCRETE}}


def test_empirical_figures_on_hand_made_cases():
    m, b = "malignant", "benign"
    cases = [_case(m, (m, m, m, b), 1.5), _case(m, (m, b, b, b), 2.0), _case(b, (b, b, b, b), 0.7),
             _case(b, (m, m, b, b), 0.6)]  # the last one is a 2-2 tie
    maj = empirical_majority(cases)
    assert maj["ties"] == 1 and maj["accuracy_ties_expected"] == pytest.approx((1 + 0 + 1 + 0.5) / 4)
    assert maj["accuracy"] in (0.5, 0.75)
    assert maj["auc"] == pytest.approx(roc_auc_score([1, 1, 0, 0], [3, 1, 0, 2]))
    bayes = empirical_bayes(OracleModel(0.5), cases)
    # discrete votes (k of shape, margin, pattern): 2, 1, 0, 2 -> calls m, b, b, m
    assert bayes["accuracy"] == pytest.approx(0.5)
    bad = [dict(cases[0], shape="oval")]
    with pytest.raises(ValueError, match="disagrees"):
        empirical_majority(bad)


def test_written_data_set_carries_the_oracle_and_summary_recomputes_it(tmp_path):
    config = SynthConfig(n_cases=16, scale=0.05, seed=5, difficulty=0.25)
    csv = write_dataset(config, tmp_path / "set")
    path = csv.parent / "dataset.json"
    meta = json.loads(path.read_text())
    block = meta["oracle"]
    assert block["n_cases"] == 16 and block["model"]["difficulty"] == config.difficulty
    assert block["majority_vote"]["expected"]["accuracy"] == pytest.approx(0.95703125)
    assert block["bayes"]["expected"]["accuracy"] >= block["majority_vote"]["expected"]["accuracy"] - 1e-9
    for part in ("majority_vote", "bayes", "enhancement_only_bayes"):
        emp = block[part]["empirical"]
        assert 0.5 <= emp["accuracy"] <= 1 and 0.5 <= emp["auc"] <= 1, part
    assert block["majority_vote"]["empirical"]["accuracy"] >= 0.75  # 16 cases at an expected 95.7%

    # an older folder without the block: oracle_summary computes the same figures
    del meta["oracle"]
    path.write_text(json.dumps(meta))
    summary = oracle_summary(csv.parent)
    assert summary["dataset"]["name"] == "set"
    assert {k: v for k, v in summary.items() if k != "dataset"} == json.loads(json.dumps(block))
    assert "majority vote 95.7%" in oracle_text(summary)
