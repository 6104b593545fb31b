"""experiments/learnability.py: the small CNN keeps D2TL's wiring and head, bad input, and a whole
arm on a tiny synthetic set."""

import importlib
import json
import shlex
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
learnability = importlib.import_module("experiments.learnability")


def test_small_cnn_model_has_the_dual_mode_wiring_and_head():
    from d2tl.training.config import preset_base
    from d2tl.protocol.presets import preset

    config = preset_base({**preset("quick"), "weights": "random"}, "quick")
    model = learnability.build(config, width=2)
    nets = [layer.name for layer in model.layers if hasattr(layer, "layers")]
    assert sorted(nets) == ["backbone_le", "backbone_rec"]
    assert {"abstraction_le", "abstraction_rec", "output"} <= {layer.name for layer in model.layers}
    assert model.output_shape == (None, 2)
    # far smaller than two InceptionV3s (47.7 M trainable parameters)
    assert model.count_params() < 5_000_000


def test_missing_case_table_is_one_line_naming_it(tmp_path, capsys):
    assert learnability.main(["--cases", str(tmp_path / "c.csv"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "c.csv" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_bad_epochs_named(tmp_path, capsys, tiny_cases):
    assert learnability.main(["--cases", str(tiny_cases), "--tuning-set", str(tiny_cases), "--epochs", "0",
                              "--out", str(tmp_path / "out")]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_report_only_without_a_table_is_refused(tmp_path, capsys):
    assert learnability.main(["--report-only", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--report-only" in err and "learnability.csv" in err


@pytest.mark.slow
def test_one_arm_on_a_tiny_set(tmp_path):
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset

    cases = write_dataset(SynthConfig(n_cases=12, scale=0.05, seed=5), tmp_path / "set")
    tuning = write_dataset(SynthConfig(n_cases=8, scale=0.05, seed=6), tmp_path / "tuning")
    out = tmp_path / "out"
    common = ["--cases", str(cases), "--tuning-set", str(tuning), "--out", str(out), "--width", "2",
              "--epochs", "3", "--eval-every", "2"]
    assert learnability.main([*common, "--label", "tiny A"]) == 0
    assert learnability.main([*common, "--label", "tiny B", "--lr", "1e-4", "--network", "inception_v3",
                              "--epochs", "2"]) == 0
    assert learnability.main([*common, "--label", "tiny A"]) == 0  # replaces its own rows
    table = pd.read_csv(out / "learnability.csv")
    assert list(table["label"]) == ["tiny B", "tiny A", "tiny A"]
    assert list(table["epoch"]) == [2, 2, 3]  # every 2nd epoch and the last
    assert list(table["network"]) == ["inception_v3", "small_cnn", "small_cnn"]
    assert table["parameters"].iloc[0] > 40_000_000 > table["parameters"].iloc[1]
    assert table["tuning_auc"].between(0, 1).all()
    assert (table["tuning_auc_low"] <= table["tuning_auc"]).all() and (table["tuning_auc"] <= table["tuning_auc_high"]).all()
    assert (out / "learnability.png").stat().st_size > 0
    (out / "learnability.png").unlink()
    assert learnability.main(["--report-only", "--out", str(out)]) == 0
    assert (out / "learnability.png").stat().st_size > 0
    prov = json.loads((out / "tiny-a" / "provenance.json").read_text())
    assert prov["weights_source"] == "random" and prov["paper_run"] is False
    assert prov["config"]["augment"]["redrawn"] == "every epoch"
    assert shlex.split(prov["command"])[2:] == [*common, "--label", "tiny A"]  # re-runnable as written
    assert prov["diagnostic"].startswith("small CNN")
    other = json.loads((out / "tiny-b" / "provenance.json").read_text())
    assert other["diagnostic"].startswith("D2TL's InceptionV3") and other["config"]["network"]["width"] is None
