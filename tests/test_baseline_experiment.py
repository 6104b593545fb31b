"""The baseline experiment end to end on tiny data: table, figure, provenance, cache, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl.baseline.run import BaselineConfig, run_baseline
from d2tl.baseline.shape import MaskPerturbation
from d2tl.cli import main
from d2tl.data.cases import load_cases
from d2tl.data.split import save_split, split_cases
from d2tl.errors import D2TLError

from conftest import write_tiny_cases

REPO = Path(__file__).resolve().parents[1]
QUICK = BaselineConfig(preset="quick", models=("lasso", "svm", "rf", "mateos", "danala"))


@pytest.fixture(scope="module")
def tiny12(tmp_path_factory) -> Path:
    return write_tiny_cases(tmp_path_factory.mktemp("baseline") / "tiny", n=12)


def test_end_to_end_writes_table_figure_and_provenance(tiny12, tmp_path):
    out = tmp_path / "results"
    result = run_baseline(tiny12, QUICK, out=out)
    folder = result.folder
    assert folder.parent == out and (out / "LATEST").read_text().strip() == folder.name
    for name in ("metrics.csv", "metrics.md", "metrics.json", "fig14_baseline.png", "provenance.json",
                 "predictions.csv", "selection.csv", "features.csv", "split.csv"):
        assert (folder / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left behind

    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["config_hash"] == folder.name and prov["preset"] == "quick" and not prov["paper_run"]
    assert prov["dataset"]["n_cases"] == 12 and prov["n_features"]["full"] == 4 * 304 + 8
    assert prov["timing"]["cases_computed"] == 12 and prov["timing"]["feature_seconds_per_case_mean"] > 0

    table = pd.read_csv(folder / "metrics.csv")
    ours = table[table["source"] == "ours"]
    assert list(ours["method"]) == ["GLM-LASSO", "SVM", "Random forest", "Mateos-style", "Danala-style"]
    assert ours[["accuracy", "sensitivity", "specificity"]].notna().all().all()
    assert ours["description"].str.contains("in the style of").sum() == 2
    assert (ours.loc[ours["method"].isin(["GLM-LASSO", "SVM", "Random forest"]), "reported_specificity"] == 0.6).all()
    assert set(table.loc[table["source"] != "ours", "method"]) >= {"D2TL (paper)", "Mateos et al. 2016 (cited)"}
    n_test = (pd.read_csv(folder / "split.csv")["part"] == "test").sum()
    assert (ours["n"] == n_test).all()
    md = (folder / "metrics.md").read_text()
    assert "| GLM-LASSO | ours |" in md and "reduced preset" in md
    predictions = pd.read_csv(folder / "predictions.csv")
    assert predictions.loc[predictions["part"] == "test", "svm_score"].notna().all()
    assert predictions.loc[predictions["part"] != "test", "svm_score"].isna().all()
    assert Image.open(folder / "fig14_baseline.png").size[0] > 400

    # the same configuration again: same folder, features from the cache
    again = run_baseline(tiny12, QUICK, out=out)
    assert again.folder == folder and again.provenance["timing"]["cases_from_cache"] == 12
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), table)

    # another configuration gets another folder; the first result stays
    perturbed = run_baseline(tiny12, BaselineConfig(preset="quick", models=("lasso",),
                                                    perturbation=MaskPerturbation(amplitude=0.2)), out=out)
    assert perturbed.folder != folder and (folder / "metrics.csv").is_file()
    assert not np.allclose(perturbed.features.filter(like="shape").to_numpy(),
                           result.features.filter(like="shape").to_numpy())

    # a folder of this name made with another configuration is never overwritten
    prov["config_hash"] = "somethingelse"
    (folder / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(D2TLError, match="another configuration"):
        run_baseline(tiny12, QUICK, out=out)


def _fake_d2tl_run(folder: Path, table, parts, accuracy, cases_sha, box=256):
    """A D2TL result folder as d2tl.train writes it: metrics.json with split.csv beside it."""
    folder.mkdir(parents=True)
    save_split(parts, table, folder / "split.csv")
    (folder / "metrics.json").write_text(json.dumps({
        "selected": {"test": {"accuracy": accuracy, "sensitivity": 0.5, "specificity": 1.0, "auc": 0.8}},
        "provenance": {"preset": "quick", "dataset": {"cases_sha256": cases_sha},
                       "config": {"model": {"architecture": "dual_mode", "tuning": "full", "weights": "imagenet"},
                                  "roi": {"box": box, "shift": 0.0}}}}))


def test_given_split_and_d2tl_result_on_the_same_split(tiny12, tmp_path):
    from d2tl.provenance import dataset_info

    table = load_cases(tiny12)
    sha = dataset_info(tiny12)["cases_sha256"]
    parts = split_cases(table, seed=5)
    split_csv = tmp_path / "split.csv"
    save_split(parts, table, split_csv)
    results = tmp_path / "results"
    _fake_d2tl_run(results / "box_size" / "aaa", table, parts, 0.75, sha)  # same data and split
    _fake_d2tl_run(results / "box_size" / "bbb", table, parts, 0.60, sha, box=512)  # not the default box
    _fake_d2tl_run(results / "box_size" / "ccc", table, split_cases(table, seed=6), 0.95, sha)  # another split
    _fake_d2tl_run(results / "box_size" / "ddd", table, parts, 0.95, "0" * 16)  # another data set
    config = BaselineConfig(preset="quick", models=("lasso",))
    result = run_baseline(tiny12, config, split=split_csv, out=results / "baseline")
    written = pd.read_csv(result.folder / "split.csv")
    assert list(written["part"]) == list(parts)
    row = result.table[result.table["method"] == "D2TL"]
    assert len(row) == 1 and row["accuracy"].iloc[0] == 0.75 and row["source"].iloc[0] == "ours"
    assert "box 256" in row["description"].iloc[0]
    assert result.provenance["d2tl_metrics"]["path"].endswith("aaa/metrics.json")

    # without --split the baseline's own split (seed 0) differs from these D2TL runs: no D2TL row
    result = run_baseline(tiny12, config, out=results / "baseline")
    assert not result.table["method"].str.startswith("D2TL (split").any()
    assert "D2TL" not in set(result.table["method"]) and result.provenance["d2tl_metrics"] is None

    plain = tmp_path / "elsewhere" / "plain.json"  # an explicit file without a split record: shown, flagged
    plain.parent.mkdir()
    plain.write_text(json.dumps({"accuracy": 0.9, "sensitivity": 0.9, "specificity": 0.9}))
    result = run_baseline(tiny12, config, split=split_csv, out=results / "baseline", d2tl_metrics=plain)
    assert "D2TL (split not verified)" in set(result.table["method"])
    result = run_baseline(tiny12, config, split=split_csv, out=results / "baseline",
                          d2tl_metrics=tmp_path / "absent.json")
    assert set(result.table.loc[result.table["method"].str.startswith("D2TL"), "source"]) == {"paper"}


def test_command_line_and_missing_mask_error(tiny12, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["baseline", "--cases", str(tiny12), "--preset", "quick", "--models", "lasso,svm",
                 "--out", str(out), "--jobs", "2", "--d2tl-metrics", "none"]) == 0
    printed = capsys.readouterr().out
    assert "GLM-LASSO" in printed and "s per case" in printed
    folder = out / (out / "LATEST").read_text().strip()
    assert json.loads((folder / "provenance.json").read_text())["config"]["models"] == ["lasso", "svm"]

    broken = pd.read_csv(tiny12, dtype=str, keep_default_na=False)
    broken.loc[3, "mlo_mask_path"] = ""
    broken_csv = tiny12.parent / "broken.csv"
    broken.to_csv(broken_csv, index=False)
    assert main(["baseline", "--cases", str(broken_csv), "--out", str(tmp_path / "x")]) == 2
    assert "missing for patient C03 (mlo)" in capsys.readouterr().err


def test_experiment_script_help_runs():
    done = subprocess.run([sys.executable, str(REPO / "experiments" / "baseline.py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--perturb-masks" in done.stdout and "data/synthetic/cases.csv" in done.stdout
