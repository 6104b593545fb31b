"""A configuration folder's state files: a failed train leaves no folder;
damaged files are recomputed when safe (metrics, a run's summary, history or weights) and an
error naming the file otherwise (config.json, model.d2tl.json). Test backbone, in process."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from conftest import write_tiny_cases
from d2tl.cli import main

ARGS = ["--preset", "smoke", "--weights", "random", "--runs", "2", "--epochs", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("D2TL_TEST_BACKBONE", "stub")
    base = tmp_path_factory.mktemp("state")
    cases = write_tiny_cases(base / "data", n=12)
    out = base / "out"
    assert main(["train", "--cases", str(cases), "--out", str(out), *ARGS]) == 0
    folder = next(p for p in out.iterdir() if p.name != "cache")
    yield cases, folder
    mp.undo()


def _copy(trained, tmp_path):
    cases, folder = trained
    out = tmp_path / "out"
    shutil.copytree(folder, out / folder.name)
    return cases, out, out / folder.name


def _rerun(cases, out, capsys, monkeypatch):
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    rc = main(["train", "--cases", str(cases), "--out", str(out), *ARGS])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_a_train_failing_in_its_first_run_leaves_no_folder(trained, tmp_path, capsys, monkeypatch):
    from d2tl.io.errors import D2TLError
    from d2tl.training import experiment

    def fail(*args, **kwargs):
        raise D2TLError("cannot load InceptionV3 weights from w.h5: layer count mismatch")

    monkeypatch.setattr(experiment, "train_run", fail)
    out = tmp_path / "out"
    rc, _, err = _rerun(trained[0], out, capsys, monkeypatch)
    assert rc == 2 and "w.h5" in err and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["cache"]  # no config folder, no lock; the ROI cache is valid data


def test_truncated_metrics_are_recomputed(trained, tmp_path, capsys, monkeypatch):
    cases, out, folder = _copy(trained, tmp_path)
    before = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text((folder / "metrics.json").read_text()[:40])
    rc, log, _ = _rerun(cases, out, capsys, monkeypatch)
    assert rc == 0 and "metrics.json is damaged" in log and "recomputing" in log
    after = json.loads((folder / "metrics.json").read_text())
    assert after["selected"] == before["selected"]


@pytest.mark.parametrize("damaged, how", [("run_00/history.csv", "half"), ("run_00/summary.json", "text"),
                                          ("run_01/best.weights.h5", "text")])
def test_a_damaged_run_file_retrains_that_run(trained, tmp_path, capsys, monkeypatch, damaged, how):
    cases, out, folder = _copy(trained, tmp_path)
    run = damaged.split("/")[0]
    before = json.loads((folder / run / "summary.json").read_text())
    (folder / "metrics.json").unlink()
    path = folder / damaged
    path.write_text(path.read_text()[: len(path.read_text()) // 2] if how == "half" else "garbage")
    rc, log, _ = _rerun(cases, out, capsys, monkeypatch)
    assert rc == 0 and f"{run}: " in log and "training this run again" in log
    after = json.loads((folder / run / "summary.json").read_text())
    assert after["test_probabilities"] == pytest.approx(before["test_probabilities"], abs=1e-6)
    assert len(pd.read_csv(folder / "history.csv")) == 2


def test_a_damaged_config_file_is_an_error_naming_it(trained, tmp_path, capsys, monkeypatch):
    cases, out, folder = _copy(trained, tmp_path)
    (folder / "metrics.json").unlink()
    (folder / "config.json").write_text('{"config": ')
    rc, _, err = _rerun(cases, out, capsys, monkeypatch)
    assert rc == 2 and f"file {folder / 'config.json'} is damaged" in err and f"delete the folder {folder}" in err
    assert (folder / "run_00" / "summary.json").is_file()  # finished runs are kept


def test_a_damaged_model_sidecar_is_an_error_naming_it(trained, tmp_path, capsys):
    cases, out, folder = _copy(trained, tmp_path)
    (folder / "model.d2tl.json").write_text("[1, 2")
    rc = main(["predict", "--model", str(folder / "model.keras"), "--cases", str(cases),
               "--out", str(tmp_path / "p.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and f"file {folder / 'model.d2tl.json'} is damaged" in err and "train again" in err
    assert not (tmp_path / "p.csv").exists()
