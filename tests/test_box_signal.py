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


def test_input_features_read_the_box_the_model_gets():
    """The same features from the resized box, the outline resized with it; a lesion that fills the
    box is read against the breast level the normalisation fixes."""
    from d2tl.data.roi import RoiConfig, cut_box, resize_square
    from d2tl.studies.box_signal import input_features

    def box(image):
        return resize_square(cut_box(image, (100, 100), 64), 75)

    yy, xx = np.mgrid[:200, :200]
    region = np.ones((200, 200), bool)
    disk = np.hypot(yy - 100, xx - 100) < 12
    config = RoiConfig(box=256, input_scale=75 / 256)
    image = 0.3 + 0.05 * disk
    small = input_features(box(image), disk, region, (100, 100), 64, 0.4, config, breast_level=0.0)
    assert set(small) == {"input_local_contrast", "input_heterogeneity", "input_rim", "input_edge_gradient"}
    assert small["input_local_contrast"] == pytest.approx(0.05, abs=0.01)  # the ring inside the box
    big = np.hypot(yy - 100, xx - 100) < 90
    filled = input_features(box(0.3 + 0.05 * big), big, region, (100, 100), 64, 0.4, config, breast_level=0.3)
    assert filled["input_local_contrast"] == pytest.approx(0.05, abs=0.01)  # against the breast level


def test_box_signal_command_refuses_an_input_side_naming_it(tmp_path, capsys):
    import importlib

    script = importlib.import_module("experiments.box_signal")
    csv = write_dataset(SynthConfig(n_cases=4, scale=0.1, seed=6), tmp_path / "set")
    assert script.run(["--cases", str(csv), "--out", str(tmp_path / "out"), "--input-side", "8"]) == 2
    assert "--input-side 8" in capsys.readouterr().err and not (tmp_path / "out").exists()
