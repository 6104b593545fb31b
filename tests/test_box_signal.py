"""Where the class signal is lost (d2tl.studies.box_signal): every stage measured per case."""

import numpy as np
import pytest

from d2tl.data.cases import load_cases
from d2tl.data.sources.synthetic import SynthConfig, write_dataset
from d2tl.studies.box_signal import SCORES, case_stages, load_truth, stage_aucs


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    csv = write_dataset(SynthConfig(n_cases=10, scale=0.1, seed=5), tmp_path_factory.mktemp("box-signal") / "set")
    return case_stages(load_cases(csv), load_truth(csv)), load_truth(csv)


def test_every_case_gets_every_stage_from_its_own_truth(stages):
    cases, truth = stages
    assert len(cases) == 10 and set(SCORES) <= set(cases.columns)
    assert np.isfinite(cases[list(SCORES)].to_numpy()).all()
    for row in cases.itertuples():
        assert row.truth_enhancement == truth[row.id]["enhancement_mg_ml"]
        assert row.malignant == (truth[row.id]["label"] == "malignant")
        assert row.fits_box == (truth[row.id]["size_full_px"] <= 256)
    assert cases["lesion_in_box"].between(0, 1).all() and cases["box_is_lesion"].between(0, 1).all()
    assert (cases["box_centre"].between(0, 1)).all()  # normalised ROI values


def test_aucs_per_stage_and_subset(stages):
    cases, _ = stages
    aucs = stage_aucs(cases)
    assert set(aucs["stage"]) == set(SCORES) and "all" in set(aucs["cases"])
    assert aucs["auc"].between(0, 1).all() and (aucs["auc_low"] <= aucs["auc_high"]).all()
    flipped = cases.assign(truth_enhancement=cases["malignant"].astype(float))  # a perfect score
    assert stage_aucs(flipped).query("stage == 'truth_enhancement' and cases == 'all'")["auc"].item() == 1.0


def test_image_features_read_contrast_rim_and_outline():
    from d2tl.studies.box_signal import image_features

    yy, xx = np.mgrid[:120, :120]
    r = np.hypot(yy - 60, xx - 60)
    region = np.ones((120, 120), bool)
    slope = 0.002 * xx  # a smooth thickness-like gradient the ring must not mistake for contrast
    disk = r < 20
    plain = image_features(slope + 0.05 * disk, disk, region, pixel_mm=0.28)
    assert plain["local_contrast"] == pytest.approx(0.05, abs=0.005)
    assert plain["solidity"] > 0.95 and plain["circularity"] > 0.8
    rim = image_features(slope + 0.05 * (disk & (r > 14)), disk, region, pixel_mm=0.28)
    assert rim["rim"] > 0.03 > plain["rim"]
    star = r < 20 * (1 + 0.4 * np.cos(7 * np.arctan2(yy - 60, xx - 60)))
    assert image_features(slope + 0.05 * star, star, region, pixel_mm=0.28)["solidity"] < 0.85


def test_image_oracle_is_cross_validated():
    import pandas as pd

    from d2tl.studies.box_signal import PIXEL_FEATURES, image_oracle

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    noise = pd.DataFrame(rng.normal(size=(60, len(PIXEL_FEATURES))), columns=PIXEL_FEATURES).assign(malignant=y)
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(y, image_oracle(noise, PIXEL_FEATURES)) < 0.75  # no fitting to its own cases
    signal = noise.assign(local_contrast=y + 0.1 * rng.normal(size=60))
    assert roc_auc_score(y, image_oracle(signal, PIXEL_FEATURES)) > 0.95
