"""The transfer study (d2tl.studies.transfer): arms x runs, every run on the external set, paired
tests, partial reports and resumption from the committed arm records."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from d2tl.cli import main
from d2tl.data.sources.synthetic import SynthConfig, write_dataset


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    cases = write_dataset(SynthConfig(n_cases=20, scale=0.05, seed=5), root / "set")
    external = write_dataset(SynthConfig(n_cases=8, scale=0.05, seed=6), root / "ext")
    other = root / "other.weights.h5"
    other.write_bytes(b"a weights file the stand-in backbone does not read")
    return cases, external, other


@pytest.mark.slow
def test_arms_runs_paired_tests_and_resume_from_records(sets, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    cases, external, other = sets
    out = tmp_path / "out"
    args = ["transfer", "--cases", str(cases), "--external", str(external), "--arms", "random", str(other),
            "--runs", "2", "--epochs", "1", "--out", str(out)]
    assert main(args) == 0
    rows = pd.read_csv(out / "transfer.csv")
    assert list(rows["arm"]) == ["random", str(other)] and (rows["runs"] == 2).all()
    assert rows["ext_auc"].between(0, 1).all() and (rows["ext_auc_low"] <= rows["ext_auc_high"]).all()
    runs = pd.read_csv(out / "external_runs.csv")
    assert len(runs) == 2 * 2 * 8 and set(runs["run"]) == {0, 1}
    paired = pd.read_csv(out / "paired_tests.csv")
    assert len(paired) == 1 and {"mcnemar_p", "mcnemar_p_holm", "auc_difference_low"} <= set(paired.columns)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["arms_missing"] == [] and prov["study"]["runs"] == 2 and not prov["paper_run"]
    assert "Partial" not in (out / "transfer.md").read_text() and (out / "transfer.png").stat().st_size > 0
    # a fresh checkout: only the committed results; nothing is trained again
    shutil.rmtree(out / "runs")
    shutil.rmtree(out / "cache")
    import d2tl.training.experiment

    monkeypatch.setattr(d2tl.training.experiment, "run_experiment",
                        lambda *a, **k: pytest.fail("a finished arm was trained again"))
    assert main(args) == 0
    again = pd.read_csv(out / "transfer.csv")
    pd.testing.assert_frame_equal(again[["arm", "ext_auc", "run_ext_aucs"]], rows[["arm", "ext_auc", "run_ext_aucs"]])
    np.testing.assert_allclose(pd.read_csv(out / "paired_tests.csv")["auc_difference"], paired["auc_difference"])


def test_a_source_set_sharing_a_scored_sets_seed_is_refused(sets, tmp_path):
    from d2tl.io.errors import D2TLError
    from d2tl.model.weights import Weights
    from d2tl.pretrain import store
    from d2tl.studies.transfer import check_disjoint

    cases, external, _ = sets
    folder = tmp_path / "w"
    folder.mkdir()
    path = folder / "inception_v3_synthetic_notop.weights.h5"
    path.write_bytes(b"x")
    (folder / store.SIDECAR).write_text(json.dumps({"source_set": {"generator": {"seed": 6}}}))
    weights = Weights("synthetic", str(path), "sha256:x")
    check_disjoint(weights, {"--cases": cases})  # seed 5: fine
    with pytest.raises(D2TLError, match="--external .*generator seed 6"):
        check_disjoint(weights, {"--cases": cases, "--external": external})
