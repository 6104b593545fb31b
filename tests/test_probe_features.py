"""experiments/probe_features.py: the box statistics, bad input, and the whole probe on the
stand-in backbone."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from d2tl.protocol.views import IMAGES

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
probe = importlib.import_module("experiments.probe_features")


def test_box_statistics_on_a_bright_centre():
    a = np.zeros((1, 8, 8, 1), np.float32)
    a[0, 2:6, 2:6, 0] = 1.0  # the centre quarter, 16 of 64 pixels
    stats = probe.box_statistics({k: a for k in IMAGES})
    assert stats.shape == (1, 28)
    centre_mean, centre_sd, p90, mean, sd, contrast, top = stats[0, :7]
    assert (centre_mean, centre_sd, p90) == (1.0, 0.0, 1.0)
    assert mean == pytest.approx(0.25) and sd == pytest.approx(np.sqrt(0.25 * 0.75))
    assert contrast == pytest.approx(0.75) and top == pytest.approx(0.25)


def test_missing_tuning_set_is_one_line_naming_it(tmp_path, capsys):
    assert probe.main(["--weights", "none", "--cases", str(tmp_path / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "--cases" in err and "c.csv" in err and "Traceback" not in err


@pytest.mark.slow
def test_probe_on_the_stand_in_backbone(tmp_path, monkeypatch):
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset

    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    cases = write_dataset(SynthConfig(n_cases=12, scale=0.05, seed=5), tmp_path / "set")
    tuning = write_dataset(SynthConfig(n_cases=6, scale=0.05, seed=6), tmp_path / "tuning")
    for weights in ("random", "none"):
        assert probe.main(["--weights", weights, "--cases", str(cases), "--tuning-set", str(tuning),
                           "--out", str(tmp_path / "out")]) == 0
    rows = pd.read_csv(tmp_path / "out" / "probe.csv")
    assert len(rows) == 2 * len(probe.C_VALUES)
    assert set(rows["features"]) == {28, rows.loc[rows["weights"] == "random", "features"].iloc[0]}
    assert rows["tuning_auc"].between(0, 1).all()
    assert rows.loc[rows["weights"] == "random", "source"].str.endswith("precise BN").all()
