"""The intensity-only control's features and the baseline's interval helpers."""

from __future__ import annotations

import numpy as np
import pytest

from d2tl.stats import evaluate
from d2tl.baseline.external import auc_interval, interval_columns, proportion_interval
from d2tl.baseline.intensity import INTENSITY_STATS, case_intensity, extract_intensity, intensity_features
from d2tl.baseline.run import DEFAULT_PERTURBATION
from d2tl.data.cases import load_cases

from conftest import write_tiny_cases


def _disc(shape=(80, 80), centre=(40, 40), radius=10):
    rr, cc = np.mgrid[:shape[0], :shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius ** 2


def test_statistics_of_a_bright_disc_on_a_flat_surround():
    mask = _disc()
    image = np.where(mask, 10.0, 2.0)
    f = intensity_features(image, mask, scale=0.25)
    assert set(f) == set(INTENSITY_STATS)
    assert f["mean"] == f["p10"] == f["p90"] == f["max"] == 10.0 and f["sd"] == 0.0
    assert f["contrast"] == pytest.approx(8.0)
    diameter_full = 2 * np.sqrt(mask.sum() / np.pi) / 0.25
    assert f["contrast_per_px"] == pytest.approx(8.0 / diameter_full)


def test_only_the_lesion_and_its_surround_ring_count():
    mask = _disc()
    rng = np.random.default_rng(0)
    image = rng.normal(5.0, 1.0, mask.shape)
    base = intensity_features(image, mask, scale=0.25)  # ring: 2 to 8 image px outside the mask
    far = image.copy()
    far[:, :20] += 100.0  # more than 8 px from the disc (which starts at column 30)
    assert intensity_features(far, mask, scale=0.25) == base
    near = image.copy()
    near[40, 53:56] += 100.0  # 3-5 px outside the disc's edge at column 50
    changed = intensity_features(near, mask, scale=0.25)
    assert changed["contrast"] < base["contrast"] and changed["mean"] == base["mean"]
    inside = image.copy()
    inside[40, 40] += 100.0
    assert intensity_features(inside, mask, scale=0.25)["max"] > 100


def test_case_and_table_extraction_with_two_mask_variants(tmp_path):
    csv = write_tiny_cases(tmp_path / "tiny", n=3)
    table = load_cases(csv)
    variants = {"perturbed": DEFAULT_PERTURBATION, "exact": None}
    one = case_intensity(table.iloc[0], variants)
    assert set(one) == set(variants) and len(one["exact"]) == 4 * len(INTENSITY_STATS)
    assert all(name.split("_intensity_")[0] in ("le_cc", "le_mlo", "rec_cc", "rec_mlo") for name in one["exact"])
    tables, seconds = extract_intensity(table, variants)
    assert seconds >= 0 and list(tables["exact"].index) == list(table["id"])
    assert tables["exact"].loc[table["id"].iloc[0]].to_dict() == pytest.approx(one["exact"])
    assert not np.allclose(tables["exact"].to_numpy(), tables["perturbed"].to_numpy())


def test_vectorised_auc_interval_equals_sklearn_on_the_same_resamples():
    """evaluate.bootstrap_aucs (ranks, all resamples at once) against sklearn's roc_auc_score,
    resample by resample; the interval is their percentiles."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 30)
    p = np.round(rng.random(30) + 0.4 * y, 1)  # with ties
    aucs = evaluate.bootstrap_aucs(y, p, n_resamples=50, seed=3)
    draw = np.random.default_rng(3)
    pos, neg = p[y == 1], p[y == 0]
    ip = draw.integers(0, len(pos), (50, len(pos)))
    ineg = draw.integers(0, len(neg), (50, len(neg)))
    for k in range(50):
        sample = np.r_[pos[ip[k]], neg[ineg[k]]]
        assert aucs[k] == pytest.approx(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], sample), abs=1e-12)
    low, high = evaluate.auc_interval(y, p, n_resamples=50, seed=3)
    assert (low, high) == pytest.approx(tuple(np.percentile(aucs, [2.5, 97.5])))
    assert low <= roc_auc_score(y, p) <= high
    assert evaluate.auc_interval(np.r_[0, 0, 1], np.r_[0.1, 0.2, 0.3]) == (1.0, 1.0)  # tiny sets: still defined
    assert auc_interval is evaluate.auc_interval and proportion_interval is evaluate.proportion_interval
    assert auc_interval(np.ones(5, int), np.arange(5.0)) is None
    assert proportion_interval(0, 0) is None
    assert proportion_interval(7, 20) == pytest.approx((0.1539, 0.5922), abs=1e-4)  # Clopper-Pearson, 7/20


def test_interval_columns_use_the_counts():
    metrics = {"accuracy": 0.75, "sensitivity": 1.0, "specificity": 0.5, "auc": 0.75,
               "tn": 1, "fp": 1, "fn": 0, "tp": 2, "n": 4}
    cols = interval_columns(metrics, np.array([0, 0, 1, 1]), np.array([0.2, 0.6, 0.7, 0.9]), prefix="ext_")
    assert cols["ext_accuracy"] == 0.75 and cols["ext_n"] == 4 and cols["ext_tp"] == 2
    assert 0 < cols["ext_accuracy_low"] < 0.75 < cols["ext_accuracy_high"] < 1
    assert cols["ext_prediction_sd"] == pytest.approx(np.std([0.2, 0.6, 0.7, 0.9]))
