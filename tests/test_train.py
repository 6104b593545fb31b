"""The training protocol on tiny data: one compiled graph (75 px dual-mode) serves every test."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from d2tl.cli import main
from d2tl.training.config import experiment_config
from d2tl.training.predict import predict_cases
from d2tl.training.experiment import run_experiment
from d2tl.training.selection import select_best
from d2tl.training.run_folder import resolve_weights

from conftest import write_tiny_cases

pytestmark = pytest.mark.slow  # real InceptionV3 training graphs

CONFIG = experiment_config(model={"weights": "random"}, roi={"box": 128, "input_scale": 0.5},
                           augment={"alternatives": 1}, train={"runs": 2, "epochs": 2, "batch_size": 8},
                           preset="test")


def test_selection_rule_on_a_crafted_history():
    history = [
        {"run": 0, "epoch": 3, "val_accuracy": 0.75, "val_loss": 0.50},
        {"run": 1, "epoch": 1, "val_accuracy": 0.80, "val_loss": 0.60},
        {"run": 1, "epoch": 4, "val_accuracy": 0.80, "val_loss": 0.40},  # same accuracy, lower loss
        {"run": 2, "epoch": 2, "val_accuracy": 0.80, "val_loss": 0.40},  # full tie: earlier run wins
    ]
    assert select_best(history) == history[2]
    assert select_best(history[:2]) == history[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, engine):
    root = tmp_path_factory.mktemp("train")
    cases = write_tiny_cases(root / "cases", n=12, rows=96, cols=80)
    metrics = run_experiment(CONFIG, cases, root / "a", resolve_weights(CONFIG.model.weights), log=lambda line: None, engine=engine)
    return cases, root, metrics


def test_outputs_and_metrics(trained):
    cases, root, metrics = trained
    folder = root / "a" / metrics["directory"].split("/")[-1]
    for name in ("config.json", "history.csv", "runs.csv", "predictions.csv", "split.csv", "model.keras",
                 "model.d2tl.json", "metrics.json"):
        assert (folder / name).is_file(), name
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == 4 and {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history)
    selected = metrics["selected"]
    runs = pd.read_csv(folder / "runs.csv")
    best = runs.sort_values(["val_accuracy", "val_loss", "run"], ascending=[False, True, True]).iloc[0]
    assert selected["run"] == best["run"]
    test = selected["test"]
    assert set(test["confusion_matrix"]) == {"tn", "fp", "fn", "tp"} and test["n"] == 2
    assert metrics["per_run_test"]["accuracy"]["n"] == 2
    assert metrics["provenance"]["weights_source"] == "random" and metrics["provenance"]["paper_run"] is False


def test_same_seed_same_history_and_resume(trained, engine):
    cases, root, metrics = trained
    name = metrics["directory"].split("/")[-1]
    again = run_experiment(CONFIG, cases, root / "b", resolve_weights(CONFIG.model.weights), log=lambda line: None, engine=engine)
    a = pd.read_csv(root / "a" / name / "history.csv")
    timing = [c for c in a if c.endswith("seconds")]
    a = a.drop(columns=timing)
    pd.testing.assert_frame_equal(a, pd.read_csv(root / "b" / name / "history.csv").drop(columns=timing))
    assert again["selected"] == metrics["selected"]
    # A run killed part way: its folder has no summary, and no final metrics exist.
    shutil.copytree(root / "a" / name, root / "c" / name)
    (root / "c" / name / "run_01" / "summary.json").unlink()
    for leftover in ("metrics.json", "model.keras", "history.csv"):
        (root / "c" / name / leftover).unlink()
    lines = []
    resumed = run_experiment(CONFIG, cases, root / "c", resolve_weights(CONFIG.model.weights), log=lines.append, engine=engine)
    assert any("run 0: finished earlier, reused" in line for line in lines)
    assert any(line.startswith("run 1 epoch 1/2") for line in lines)
    pd.testing.assert_frame_equal(a, pd.read_csv(root / "c" / name / "history.csv").drop(columns=timing))
    assert resumed["selected"] == metrics["selected"]
    # Finished: read back, nothing recomputed.
    lines.clear()
    run_experiment(CONFIG, cases, root / "c", resolve_weights(CONFIG.model.weights), log=lines.append, engine=engine)
    assert lines and lines[0].startswith("finished result found")


def test_predict_on_the_saved_model(trained, tmp_path):
    cases, root, metrics = trained
    folder = root / "a" / metrics["directory"].split("/")[-1]
    scored = predict_cases(folder / "model.keras", cases)
    saved = pd.read_csv(folder / "predictions.csv")
    merged = saved.merge(scored, on="id", suffixes=("_train", "_predict"))
    assert len(merged) == len(saved)
    np.testing.assert_allclose(merged["p_malignant_train"], merged["p_malignant_predict"], atol=1e-5)
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(folder / "model.keras"), "--cases", str(cases), "--out", str(out)]) == 0
    assert len(pd.read_csv(out)) == 12 and json.loads(out.with_suffix(".json").read_text())["preset"] == "test"

