"""Statistics for a 20-case test set: exact intervals, the AUC interval, paired tests, Holm, and
the censored median epoch (fast, no training)."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from d2tl.stats import evaluate
from d2tl.stats import censored, paired, section_tests


def test_clopper_pearson_matches_published_tables():
    # Exact binomial 95% limits as tabulated (e.g. Geigy Scientific Tables; Newcombe 1998, Table I).
    assert evaluate.proportion_interval(0, 20) == pytest.approx((0.0, 0.1684), abs=1e-4)
    assert evaluate.proportion_interval(8, 10) == pytest.approx((0.4439, 0.9748), abs=1e-4)
    assert evaluate.proportion_interval(20, 20) == pytest.approx((0.8316, 1.0), abs=1e-4)
    assert evaluate.proportion_interval(3, 0) is None


def test_interval_columns_from_counts_and_scores():
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    p = np.r_[np.linspace(0.55, 0.95, 8), 0.3, 0.4, np.linspace(0.05, 0.45, 10)]
    m = evaluate.binary_metrics(y, p)
    cols = evaluate.interval_columns(m["confusion_matrix"], y, p)
    assert (m["sensitivity"], m["specificity"]) == (0.8, 1.0)
    assert (cols["sensitivity_low"], cols["sensitivity_high"]) == pytest.approx((0.4439, 0.9748), abs=1e-4)
    assert cols["specificity_high"] == pytest.approx(1.0) and cols["specificity_low"] == pytest.approx(0.6915, abs=1e-4)
    assert cols["auc_low"] <= roc_auc_score(y, p) <= cols["auc_high"]
    assert evaluate.interval_columns(m["confusion_matrix"])["auc_low"] is None  # no scores: no AUC interval


def test_auc_interval_on_a_crafted_case():
    # Perfectly separated classes: every stratified resample is separated too, so the interval is (1, 1).
    y = np.r_[np.zeros(10, int), np.ones(10, int)]
    assert evaluate.auc_interval(y, np.arange(20.0)) == (1.0, 1.0)
    # One swapped pair (a benign case above a malignant one): AUC 0.99. A stratified resample
    # holding that malignant case K_m times and that benign case K_b times (independent
    # Binomial(10, 1/10)) has AUC 1 - K_m K_b / 100: its exact 2.5% quantile, by enumeration,
    # is what the bootstrap's lower limit estimates.
    s = np.arange(20.0)
    s[[9, 10]] = s[[10, 9]]
    low, high = evaluate.auc_interval(y, s)
    assert roc_auc_score(y, s) == pytest.approx(0.99) and high == 1.0
    pmf = stats.binom.pmf(np.arange(11), 10, 0.1)
    law = pd.Series({(km, kb): pmf[km] * pmf[kb] for km in range(11) for kb in range(11)})
    law = law.groupby([1 - km * kb / 100 for km, kb in law.index]).sum()
    cdf = law.cumsum()
    quantile = lambda q: float(cdf.index[np.searchsorted(cdf.to_numpy(), q)])  # noqa: E731
    assert quantile(0.025) == pytest.approx(0.94)
    assert quantile(0.015) - 1e-9 <= low <= quantile(0.035) + 1e-9
    assert evaluate.auc_interval(y, s) == (low, high)  # seeded: reproducible
    assert "2000 resamples, seed 0" in evaluate.auc_method()


def _binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided sign-test p-value by hand: 2 x P(X <= min(k, n - k)), X ~ Bin(n, 1/2)."""
    k = min(k, n - k)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def test_mcnemar_on_a_crafted_pair():
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    a = y.copy()  # A right on all 20
    b = y.copy()
    b[[0, 1, 2, 3, 4, 10]] = 1 - b[[0, 1, 2, 3, 4, 10]]  # B wrong on 6 of them; B never right where A is wrong
    r = paired.mcnemar_exact(y, a, b)
    assert (r["both_right"], r["a_only"], r["b_only"], r["both_wrong"]) == (14, 6, 0, 0)
    assert r["mcnemar_p"] == pytest.approx(_binomial_two_sided(0, 6)) and r["mcnemar_p"] == pytest.approx(1 / 32)
    a[15] = 1  # now A is wrong on case 15 that B gets right: 6 vs 1 discordant
    r = paired.mcnemar_exact(y, a, b)
    assert (r["a_only"], r["b_only"]) == (6, 1)
    assert r["mcnemar_p"] == pytest.approx(_binomial_two_sided(1, 7)) and r["mcnemar_p"] == pytest.approx(0.125)
    assert paired.mcnemar_exact(y, y, y)["mcnemar_p"] == 1.0  # no discordant case


def test_paired_auc_difference_resamples_cases_jointly():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    a = y + rng.normal(0, 0.6, 20)
    same = paired.paired_bootstrap_auc(y, a, a, n_resamples=500, seed=3)
    assert same["auc_difference"] == 0 and same["auc_difference_low"] == 0 == same["auc_difference_high"]
    b = y + rng.normal(0, 2.0, 20)
    r = paired.paired_bootstrap_auc(y, a, b, n_resamples=500, seed=3)
    assert r["auc_a"] == pytest.approx(roc_auc_score(y, a)) and r["auc_b"] == pytest.approx(roc_auc_score(y, b))
    assert r["auc_difference_low"] <= r["auc_difference"] <= r["auc_difference_high"]
    assert (r["resamples"], r["seed"]) == (500, 3) and r == paired.paired_bootstrap_auc(y, a, b, n_resamples=500, seed=3)
    flipped = paired.paired_bootstrap_auc(y, b, a, n_resamples=500, seed=3)
    assert flipped["auc_difference_low"] == pytest.approx(-r["auc_difference_high"])
    assert paired.paired_bootstrap_auc(np.ones(4, int), a[:4], b[:4])["auc_difference_low"] is None


def test_holm_and_the_chance_verdict():
    assert paired.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert paired.holm([0.02, None]) == [0.02, None]
    assert paired.indistinguishable(0.2, -0.1, 0.3) and not paired.indistinguishable(0.01, -0.1, 0.3)
    assert not paired.indistinguishable(0.2, 0.05, 0.3)


def test_section_pairs_and_sentences(tmp_path):
    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    ids = [f"P{i:02d}" for i in range(20)]

    def write(name, p):
        (tmp_path / name).mkdir()
        pd.DataFrame({"id": ids, "label": np.where(y == 1, "malignant", "benign"), "p_malignant": p,
                      "predicted": np.where(np.asarray(p) >= 0.5, "malignant", "benign")}
                     ).to_csv(tmp_path / name / "predictions.csv", index=False)

    write("h1", np.where(y == 1, 0.8, 0.2))
    write("h2", np.r_[np.full(9, 0.8), 0.3, np.full(9, 0.2), 0.7])  # two cases wrong: chance can't be ruled out
    rows = pd.DataFrame({"label": ["dual-mode (D2TL)", "simple pooling"], "hash": ["h1", "h2"], "shift": [0, 0]})
    table = section_tests.section_table("pooling", rows, tmp_path)
    r = table.iloc[0]
    assert (r["a_only"], r["b_only"], r["n"]) == (2, 0, 20) and r["mcnemar_p"] == pytest.approx(0.5)
    assert r["mcnemar_p_holm"] == pytest.approx(0.5) and r["indistinguishable"]
    text = " ".join(section_tests.notes(table))
    assert "cannot be told apart from chance" in text and "2000 resamples, seed 0" in text and "Holm" in text
    assert "| dual-mode (D2TL) vs simple pooling |" in "\n".join(section_tests.markdown(table))
    assert section_tests.comparisons("random_init", rows) == []
    shifts = pd.DataFrame({"label": ["original", "shift 10 px #1", "shift 20 px #1", "shift 20 px #2"],
                           "shift": [0, 10, 20, 20], "hash": ["h1", "x", "h2", "absent"]})
    table = section_tests.section_table("box_shift", shifts, tmp_path)
    assert list(table["b"]) == ["shift 20 px #1", "shift 20 px #2"]
    assert table.iloc[1]["note"] == "predictions missing" and pd.isna(table.iloc[1]["mcnemar_p"])


def test_censored_median_on_a_crafted_history():
    # 4 runs of 10 epochs: three reach 90% at epochs 3, 5 and 7, one never does (censored at 10).
    curves = {0: [0.5, 0.8, 0.92], 1: [0.5, 0.6, 0.7, 0.8, 0.95], 2: [0.5] * 6 + [0.91], 3: []}
    rows = []
    for run, head in curves.items():
        acc = (head + [0.99] * 10)[:10] if head else [0.6] * 10
        rows += [{"run": run, "epoch": e + 1, "accuracy": a} for e, a in enumerate(acc)]
    h = pd.DataFrame(rows)
    s = censored.level_summary(h, 0.9)
    assert (s["runs_reaching"], s["runs"]) == (3, 4) and s["per_run"] == [3, 5, 7, None]
    # Kaplan-Meier: S = 3/4 after epoch 3, 1/2 after 5, 1/4 after 7: the median is 7, not the
    # median 5 of the three runs that reached it (which dropping the censored run would report).
    assert s["median"] == 7 and s["median_text"] == "epoch 7"
    slow = censored.level_summary(h[h["run"].isin([0, 3])], 0.9)  # 1 of 2 reach it: S never below 1/2
    assert slow["median"] is None and slow["median_text"] == "> 10" and slow["runs_reaching"] == 1


def test_summary_shows_intervals_and_paired_tests(tmp_path):
    from d2tl.protocol.presets import PRESETS
    from d2tl.reporting.summary import write_summary

    y = np.r_[np.ones(10, int), np.zeros(10, int)]
    a, b = np.where(y == 1, 0.8, 0.2), np.r_[np.full(9, 0.8), 0.3, np.full(9, 0.2), 0.7]
    table = section_tests.finish([{"comparison": "dual-mode (D2TL) vs simple pooling", "a": "dual-mode (D2TL)",
                                   "b": "simple pooling", "claim": section_tests.BETTER, "note": "",
                                   **paired.compare(y, a, b)}])
    m = evaluate.binary_metrics(y, b)
    config = {"label": "simple pooling", **{k: m[k] for k in evaluate.METRICS},
              **evaluate.interval_columns(m["confusion_matrix"], y, b)}
    section = {"section": "pooling", "paper_section": "4.3", "figure": "Fig. 9", "title": "Dual-mode vs simple pooling",
               "comparison": [], "notes": section_tests.notes(table), "folder": "results/pooling", "figures": [],
               "weights_sources": ["random"], "preset": "quick", "configurations": [config],
               "extra": {"paired_tests": section_tests.records(table)}}
    baseline = {"preset": "quick", "folder": "results/baseline", "paired_tests": section_tests.records(table),
                "rows": [{"method": "GLM-LASSO", **config}]}
    text = write_summary(tmp_path / "SUMMARY.md", preset="quick", settings=PRESETS["quick"], dataset={},
                         sections=[section], baseline=baseline, interpretation=None, wall_seconds=1.0, load={})
    assert "| simple pooling | 90% (68%-99%) / 90% (55%-100%) / 90% (55%-100%) |" in text  # exact 18/20, 9/10
    assert f"{m['auc']:.3f} ({config['auc_low']:.3f}-{config['auc_high']:.3f})" in text
    assert text.count("| dual-mode (D2TL) vs simple pooling | 100% / 90% | 2 / 0 | 0.500 (0.500) |") == 2
    assert "cannot be told apart from chance on these 20 test cases" in text
    assert "| GLM-LASSO | - / - / - | 90% (68%-99%)" in text
