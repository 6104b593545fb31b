"""A finished baseline folder's reports rewritten from its own files (d2tl.baseline.refresh) equal
what a fresh run writes: the same table, Markdown and machine-readable comparison, D2TL's row
and the paired tests kept, no classifier refitted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from d2tl.baseline.refresh import refresh_reports
from d2tl.baseline.run import BaselineConfig, run_baseline
from d2tl.data.cases import load_cases
from d2tl.data.split import save_split, split_cases
from d2tl.io.errors import D2TLError

from conftest import write_tiny_cases

CONFIG = BaselineConfig(preset="quick", models=("lasso", "svm"), exact_masks=False)


def _d2tl_run(folder: Path, cases: Path) -> Path:
    """A D2TL result (metrics, split, per-case predictions) on the baseline's split."""
    from d2tl.io.provenance import dataset_info

    table = load_cases(cases)
    parts = split_cases(table, seed=0)
    folder.mkdir(parents=True)
    save_split(parts, table, folder / "split.csv")
    (folder / "metrics.json").write_text(json.dumps({
        "selected": {"test": {"accuracy": 0.75, "sensitivity": 0.5, "specificity": 1.0, "auc": 0.8}},
        "provenance": {"preset": "quick", "dataset": {"cases_sha256": dataset_info(cases)["cases_sha256"]},
                       "config": {"model": {"architecture": "dual_mode", "tuning": "full", "weights": "random"},
                                  "roi": {"box": 256, "shift": 0.0}}}}))
    test = table.loc[(parts == "test").to_numpy(), ["id", "label"]]
    p = np.where(test["label"] == "malignant", 0.7, 0.4)
    test.assign(p_malignant=p, predicted=np.where(p >= 0.5, "malignant", "benign")).to_csv(
        folder / "predictions.csv", index=False)
    return folder / "metrics.json"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("refresh")
    cases = write_tiny_cases(root / "tiny", n=12)
    external = write_tiny_cases(root / "other", n=10, seed=4)
    d2tl = _d2tl_run(root / "runs" / "d2tl", cases)
    return run_baseline(cases, CONFIG, out=root / "baseline", d2tl_metrics=d2tl, external=external).folder


def _age(folder: Path) -> None:
    """Make ``folder`` look like a result written before the validation choice: no val_auc column,
    the best baseline picked on each set's own AUC, another Markdown."""
    table = pd.read_csv(folder / "metrics.csv").drop(columns="val_auc")
    table.to_csv(folder / "metrics.csv", index=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["rows"] = [{k: v for k, v in r.items() if k != "val_auc"} for r in metrics["rows"]]
    for block in metrics["comparison"].values():
        block["selected_by"], block["best_baseline"] = "highest test AUC", None
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "metrics.md").write_text("old report\n")


def test_refresh_rewrites_an_old_folder_as_a_fresh_run_writes_it(fresh, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(fresh, old)
    _age(old)
    refresh_reports(old)
    pd.testing.assert_frame_equal(pd.read_csv(old / "metrics.csv"), pd.read_csv(fresh / "metrics.csv"))
    assert (old / "metrics.md").read_text() == (fresh / "metrics.md").read_text()
    assert json.loads((old / "metrics.json").read_text()) == json.loads((fresh / "metrics.json").read_text())
    assert "D2TL" in set(pd.read_csv(old / "metrics.csv")["method"])
    assert "paired on the test cases" in (old / "metrics.md").read_text()
    comparison = json.loads((old / "metrics.json").read_text())["comparison"]
    assert comparison["external"]["best_baseline"]["method"] == comparison["test"]["best_baseline"]["method"]
    assert "validation AUC" in comparison["external"]["selected_by"]
    refreshed = json.loads((old / "provenance.json").read_text())["refreshed"]
    assert refreshed["files"] == ["metrics.csv", "metrics.json", "metrics.md"] and "commit" in refreshed["code"]
    for name in ("predictions.csv", "selection.csv", "paired_tests.csv", "external_predictions.csv"):
        assert (old / name).read_bytes() == (fresh / name).read_bytes()


def test_refresh_refuses_a_folder_that_is_not_a_finished_baseline(fresh, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(fresh, partial)
    (partial / "selection.csv").unlink()
    with pytest.raises(D2TLError, match=r"partial is not a finished baseline folder: no selection\.csv"):
        refresh_reports(partial)
