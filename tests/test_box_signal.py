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
