"""The data-scaling diagnostic (d2tl.studies.scaling): nested stratified subsets, equal samples per epoch,
and the whole command on the stand-in backbone."""

import json
import shlex

import numpy as np
import pandas as pd
import pytest

from d2tl.cli import main
from d2tl.io.errors import D2TLError
from d2tl.studies.scaling import alternatives_for, nested_subsets


def test_subsets_are_nested_and_keep_the_class_balance():
    ids = [f"p{i:03d}" for i in range(300)]
    labels = np.array([0, 1] * 150)
    subsets = nested_subsets(ids, labels, [300, 60, 150], seed=0)
    assert list(subsets) == [60, 150, 300]
    label_of = dict(zip(ids, labels))
    for k, chosen in subsets.items():
        assert len(chosen) == k and len(set(chosen)) == k
        assert sum(label_of[i] for i in chosen) == k // 2
    assert set(subsets[60]) < set(subsets[150]) < set(subsets[300])
    assert nested_subsets(ids, labels, [60], seed=1)[60] != subsets[60]  # the seed draws them


def test_sizes_outside_the_training_part_are_refused():
    with pytest.raises(D2TLError, match="--patients 301"):
        nested_subsets([str(i) for i in range(300)], np.zeros(300), [301])


def test_every_arm_gets_about_the_same_samples_per_epoch():
    assert [alternatives_for(k, 300) * k for k in (60, 150, 300)] == [300, 300, 300]
    assert alternatives_for(400, 300) == 1


def test_missing_case_table_is_one_line_naming_it_and_the_command(tmp_path, capsys):
    assert main(["data-scaling", "--cases", str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "none.csv" in err and "python -m d2tl synth --seed 3" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_study_on_the_stand_in_backbone(tmp_path, monkeypatch, capsys):
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset

    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    cases = write_dataset(SynthConfig(n_cases=20, scale=0.05, seed=5), tmp_path / "set")
    external = write_dataset(SynthConfig(n_cases=6, scale=0.05, seed=6), tmp_path / "ext")
    out = tmp_path / "out dir"  # a space: the recorded command must quote it
    assert main(["data-scaling", "--cases", str(cases), "--external", str(external), "--patients", "4", "12",
                 "--samples", "12", "--epochs", "1", "--out", str(out)]) == 0
    rows = pd.read_csv(out / "data_scaling.csv")
    assert list(rows["patients"]) == [4, 12]
    assert list(rows["alternatives"]) == [3, 1] and list(rows["samples_per_epoch"]) == [12, 12]
    assert rows["ext_auc"].between(0, 1).all()
    history = pd.read_csv(out / "history.csv")
    assert sorted(set(history["patients"])) == [4, 12]
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["weights_source"] == "random" and prov["preset"] == "quick" and not prov["paper_run"]
    assert prov["study"]["patients"] == [4, 12] and prov["external"]["n_cases"] == 6
    recorded = shlex.split(prov["command"])  # re-runnable as written, whatever the paths hold
    assert recorded[recorded.index("--cases") + 1] == str(cases) and recorded[recorded.index("--out") + 1] == str(out)
    report = (out / "data_scaling.md").read_text()
    assert "| 4 | 3 | 1 | 1 |" in report and "| 12 | 1 | 1 | 1 |" in report  # alternatives, epochs, selected
    assert (out / "data_scaling.png").stat().st_size > 0
    (out / "data_scaling.png").unlink()
    (out / "data_scaling.md").write_text("edited")
    assert main(["data-scaling", "--report-only", "--out", str(out)]) == 0
    assert (out / "data_scaling.md").read_text() == report and (out / "data_scaling.png").is_file()


@pytest.mark.slow
def test_positive_control_epochs_per_arm_and_resume(tmp_path, monkeypatch, capsys):
    """--arm-epochs gives each arm its own epochs; a repeated command reuses finished arms (no
    training) and gives the same table; an arm folder of another configuration is refused."""
    import d2tl.training.loop
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset

    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    cases = write_dataset(SynthConfig(n_cases=20, scale=0.05, seed=5), tmp_path / "set")
    external = write_dataset(SynthConfig(n_cases=6, scale=0.05, seed=6), tmp_path / "ext")
    out = tmp_path / "out"
    args = ["data-scaling", "--cases", str(cases), "--external", str(external), "--patients", "4", "12",
            "--samples", "12", "--arm-epochs", "3", "1", "--out", str(out)]
    assert main(args) == 0
    rows = pd.read_csv(out / "data_scaling.csv")
    assert list(rows["epochs"]) == [3, 1]
    history = pd.read_csv(out / "history.csv")
    assert history.groupby("patients")["epoch"].max().to_dict() == {4: 3, 12: 1}
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["study"]["arm_epochs"] == {"4": 3, "12": 1} and prov["arms_missing"] == []
    assert "--arm-epochs 3 1" in prov["command"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished arm was trained again")

    monkeypatch.setattr(d2tl.training.loop, "train_run", no_training)
    assert main(args) == 0
    again = pd.read_csv(out / "data_scaling.csv")
    columns = ["patients", "selected_epoch", "ext_auc", "test_auc"]
    pd.testing.assert_frame_equal(again[columns], rows[columns])
    capsys.readouterr()
    changed = [*args[:-5], "--arm-epochs", "2", "1", "--out", str(out)]
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "patients_0004" in err and "another configuration" in err and "Traceback" not in err
    # a fresh checkout: no trained models, only the committed results (arm records included)
    import shutil

    shutil.rmtree(out / "runs")
    shutil.rmtree(out / "cache")
    assert main(args) == 0
    fresh = pd.read_csv(out / "data_scaling.csv")
    pd.testing.assert_frame_equal(fresh[columns], rows[columns])
    assert pd.read_csv(out / "history.csv").groupby("patients")["epoch"].max().to_dict() == {4: 3, 12: 1}


def test_arm_epochs_must_match_the_sizes(tmp_path, capsys):
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset

    cases = write_dataset(SynthConfig(n_cases=4, scale=0.05, seed=5), tmp_path / "set")
    assert main(["data-scaling", "--cases", str(cases), "--external", str(cases), "--patients", "4", "12",
                 "--arm-epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--arm-epochs 3" in err and "Traceback" not in err
