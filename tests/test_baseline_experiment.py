"""The baseline experiment end to end on tiny data: table, figure, provenance, cache, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl.baseline.external import best_baseline, best_external_baseline
from d2tl.baseline.report import comparison_sentence
from d2tl.baseline.run import DEFAULT_PERTURBATION, BaselineConfig, config_from_args, run_baseline
from d2tl.cli import main
from d2tl.data.cases import load_cases
from d2tl.data.split import save_split, split_cases
from d2tl.training.default_result import default_folder
from d2tl.io.errors import D2TLError

from conftest import write_tiny_cases

REPO = Path(__file__).resolve().parents[1]
QUICK = BaselineConfig(preset="quick", models=("lasso", "svm", "rf", "mateos", "danala"))
LEAN = dict(exact_masks=False, intensity_control=False)  # one mask variant, no control: faster
BASELINES = ["GLM-LASSO", "SVM", "Random forest", "Mateos-style", "Danala-style"]


@pytest.fixture(scope="module")
def tiny12(tmp_path_factory) -> Path:
    return write_tiny_cases(tmp_path_factory.mktemp("baseline") / "tiny", n=12)


@pytest.mark.slow
def test_end_to_end_writes_table_figure_and_provenance(tiny12, tmp_path):
    out = tmp_path / "results"
    result = run_baseline(tiny12, QUICK, out=out)
    folder = result.folder
    assert folder.parent == out and (out / "LATEST").read_text().strip() == folder.name
    for name in ("metrics.csv", "metrics.md", "metrics.json", "fig14_baseline.png", "provenance.json",
                 "predictions.csv", "selection.csv", "features.csv", "features_exact.csv", "intensity.csv",
                 "intensity_exact.csv", "split.csv"):
        assert (folder / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left behind

    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["config_hash"] == folder.name and prov["preset"] == "quick" and not prov["paper_run"]
    assert prov["dataset"]["n_cases"] == 12 and prov["n_features"]["full"] == 4 * 304 + 8
    assert prov["n_features"]["intensity"] == 4 * 7 and prov["default_masks"] == "perturbed"
    assert prov["config"]["perturbation"] == DEFAULT_PERTURBATION.to_dict() and prov["external"] is None
    assert prov["timing"]["cases_computed"] == 24 and prov["timing"]["feature_seconds_per_case_mean"] > 0

    table = pd.read_csv(folder / "metrics.csv")
    ours = table[table["source"] == "ours"]
    control = "Intensity-only control"
    assert list(ours["method"]) == [*BASELINES, control, *(f"{m} (exact masks)" for m in [*BASELINES, control])]
    assert list(ours["role"]) == (["baseline"] * 5 + ["control"]) * 2
    assert list(ours["masks"]) == ["perturbed"] * 6 + ["exact"] * 6
    assert ours[["accuracy", "sensitivity", "specificity"]].notna().all().all()
    assert (ours["accuracy_low"] <= ours["accuracy"]).all() and (ours["accuracy"] <= ours["accuracy_high"]).all()
    assert ours["description"].str.contains("in the style of").sum() == 4
    assert ours.loc[ours["role"] == "control", "n_features"].eq(28).all()
    assert (ours.loc[ours["method"].isin(["GLM-LASSO", "SVM", "Random forest"]), "reported_specificity"] == 0.6).all()
    assert not any(c.startswith("ext_") for c in table.columns)
    assert set(table.loc[table["source"] != "ours", "method"]) >= {"D2TL (paper)", "Mateos et al. 2016 (cited)"}
    n_test = (pd.read_csv(folder / "split.csv")["part"] == "test").sum()
    assert (ours["n"] == n_test).all()
    md = (folder / "metrics.md").read_text()
    assert "| GLM-LASSO | ours |" in md and "reduced preset" in md and "## Exact masks" in md
    assert "**Intensity alone (test set):** the intensity-only control reaches accuracy" in md
    assert "External set" not in md
    predictions = pd.read_csv(folder / "predictions.csv")
    assert predictions.loc[predictions["part"] == "test", "svm_score"].notna().all()
    assert predictions.loc[predictions["part"] != "test", "svm_score"].isna().all()
    assert predictions.loc[predictions["part"] == "test", "intensity_exact_score"].notna().all()
    selection = pd.read_csv(folder / "selection.csv")
    assert set(zip(selection["method"], selection["masks"])) >= {("intensity", "exact"), ("lasso", "perturbed")}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["default_masks"] == "perturbed" and "external" not in metrics["comparison"]
    assert metrics["comparison"]["test"]["intensity_control"]["method"] == control
    assert metrics["comparison"]["test"]["best_baseline"]["method"] in BASELINES
    assert Image.open(folder / "fig14_baseline.png").size[0] > 400

    # the same configuration again: same folder, features from the cache
    again = run_baseline(tiny12, QUICK, out=out)
    assert again.folder == folder and again.provenance["timing"]["cases_from_cache"] == 24
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), table)

    # another configuration gets another folder; the first result stays
    exact = run_baseline(tiny12, BaselineConfig(preset="quick", models=("lasso",), perturbation=None), out=out)
    assert exact.folder != folder and (folder / "metrics.csv").is_file()
    assert exact.provenance["default_masks"] == "exact"
    assert list(exact.table.loc[exact.table["source"] == "ours", "method"]) == ["GLM-LASSO", control]
    assert not np.allclose(exact.features.filter(like="shape").to_numpy(),
                           result.features.filter(like="shape").to_numpy())
    np.testing.assert_allclose(exact.features.to_numpy(), pd.read_csv(folder / "features_exact.csv",
                                                                      index_col="id").to_numpy())

    # a folder of this name made with another configuration is never overwritten
    prov["config_hash"] = "somethingelse"
    (folder / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(D2TLError, match="another configuration"):
        run_baseline(tiny12, QUICK, out=out)


def _fake_d2tl_run(folder: Path, table, parts, accuracy, cases_sha, box=256):
    """A D2TL result folder as d2tl.training writes it: metrics.json with split.csv beside it."""
    folder.mkdir(parents=True)
    save_split(parts, table, folder / "split.csv")
    (folder / "metrics.json").write_text(json.dumps({
        "selected": {"test": {"accuracy": accuracy, "sensitivity": 0.5, "specificity": 1.0, "auc": 0.8}},
        "provenance": {"preset": "quick", "dataset": {"cases_sha256": cases_sha},
                       "config": {"model": {"architecture": "dual_mode", "tuning": "full", "weights": "imagenet"},
                                  "roi": {"box": box, "shift": 0.0}}}}))


def test_given_split_and_d2tl_result_on_the_same_split(tiny12, tmp_path):
    from d2tl.io.provenance import dataset_info

    table = load_cases(tiny12)
    sha = dataset_info(tiny12)["cases_sha256"]
    parts = split_cases(table, seed=5)
    split_csv = tmp_path / "split.csv"
    save_split(parts, table, split_csv)
    results = tmp_path / "results"
    default = default_folder(tiny12, "quick", results / "runs")  # the quick preset's default configuration
    _fake_d2tl_run(default, table, parts, 0.75, sha)  # same data and split
    newer = results / "runs" / "bbb"
    _fake_d2tl_run(newer, table, parts, 0.60, sha)  # newer, but not the default configuration's hash
    os.utime(newer / "metrics.json", (2e9, 2e9))
    config = BaselineConfig(preset="quick", models=("lasso",), **LEAN)
    result = run_baseline(tiny12, config, split=split_csv, out=results / "baseline")
    written = pd.read_csv(result.folder / "split.csv")
    assert list(written["part"]) == list(parts)
    row = result.table[result.table["method"] == "D2TL"]
    assert len(row) == 1 and row["accuracy"].iloc[0] == 0.75 and row["source"].iloc[0] == "ours"
    assert "box 256" in row["description"].iloc[0]
    assert result.provenance["d2tl_metrics"]["path"] == str(default / "metrics.json")
    assert not len(result.paired_tests)  # no predictions.csv beside it: no paired tests
    test = table.loc[(parts == "test").to_numpy(), ["id", "label"]]
    p = np.where(test["label"] == "malignant", 0.7, 0.4)
    test.assign(p_malignant=p, predicted=np.where(p >= 0.5, "malignant", "benign")).to_csv(
        default / "predictions.csv", index=False)
    result = run_baseline(tiny12, config, split=split_csv, out=results / "baseline")
    paired = result.paired_tests
    assert list(paired["a"]) == ["D2TL"] and len(paired) == 1 and paired["n"].iloc[0] == len(test)
    assert 0 < paired["mcnemar_p"].iloc[0] <= 1 and paired["accuracy_a"].iloc[0] == 1.0
    assert (result.folder / "paired_tests.csv").is_file()
    assert "paired on the test cases" in (result.folder / "metrics.md").read_text()
    d2 = result.table[result.table["method"] == "D2TL"].iloc[0]
    assert d2["accuracy_low"] < 1.0 == d2["accuracy_high"]  # exact interval of len(test)/len(test)
    _fake_d2tl_run(results / "other" / "ccc", table, split_cases(table, seed=6), 0.95, sha)  # another split
    other_split = results / "other" / "ccc" / "metrics.json"
    assert run_baseline(tiny12, config, split=split_csv, out=results / "baseline",
                        d2tl_metrics=other_split).provenance["d2tl_metrics"] is None

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


@pytest.fixture(scope="module")
def other10(tmp_path_factory) -> Path:
    return write_tiny_cases(tmp_path_factory.mktemp("external") / "other", n=10, seed=4)


@pytest.mark.slow
def test_external_set_scores_the_selected_models(tiny12, other10, tmp_path):
    out = tmp_path / "results"
    plain = run_baseline(tiny12, BaselineConfig(preset="quick", models=("lasso", "svm")), out=out)
    assert best_external_baseline(plain.folder) is None  # no external set
    result = run_baseline(tiny12, BaselineConfig(preset="quick", models=("lasso", "svm")), out=out, external=other10)
    assert result.folder != plain.folder  # the external table is part of the configuration
    prov = result.provenance
    assert prov["external"]["n_cases"] == 10 and prov["config"]["external"]["n_cases"] == 10
    assert prov["config"]["external"]["cases_sha256"] == prov["external"]["cases_sha256"]
    table = pd.read_csv(result.folder / "metrics.csv")
    ours = table[table["role"].isin(["baseline", "control"])]
    assert (ours["ext_n"] == 10).all() and ours["ext_accuracy"].notna().all() and ours["ext_auc"].notna().all()
    assert (ours["ext_accuracy_low"] <= ours["ext_accuracy"]).all()
    assert table.loc[table["role"] == "paper", "ext_n"].isna().all()

    # the external scores come from the models fitted on the training cases
    ext_pred = pd.read_csv(result.folder / "external_predictions.csv")
    assert len(ext_pred) == 10 and {"lasso_score", "svm_exact_score", "intensity_score"} <= set(ext_pred.columns)
    fit = result.fits["svm"]
    X = pd.read_csv(result.folder / "features.csv", index_col="id")
    from d2tl.baseline.features import extract_features
    ext_features = extract_features(load_cases(other10), perturbation=DEFAULT_PERTURBATION,
                                    cache_dir=out / "feature-cache").features
    np.testing.assert_allclose(fit.model.decision_function(ext_features[X.columns].to_numpy()),
                               ext_pred["svm_score"].to_numpy())
    row = ours[ours["method"] == "SVM"].iloc[0]
    assert row["ext_accuracy"] == pytest.approx(np.mean((ext_pred["svm_malignant"] == 1)
                                                        == (ext_pred["label"] == "malignant")))

    md = (result.folder / "metrics.md").read_text()
    assert "## External set: 10 cases, other (cases.csv sha256 " in md
    assert "**Intensity alone (external set):**" in md

    best = best_external_baseline(out)  # OUT/LATEST -> this folder
    candidates = ours[(ours["role"] == "baseline") & (ours["masks"] == "perturbed")]
    chosen = candidates.loc[candidates["val_auc"].idxmax()]  # chosen on validation, then scored externally
    assert best["method"] == chosen["method"]
    assert best["auc"] == pytest.approx(chosen["ext_auc"]) and best["n"] == 10
    assert best["masks"] == "perturbed" and best["external"]["name"] == "other"
    assert best["control"]["method"] == "Intensity-only control"
    assert best_external_baseline(result.folder) == best
    assert best_external_baseline(tmp_path / "nothing-here") is None

    with pytest.raises(D2TLError, match="is the case table itself"):
        run_baseline(tiny12, BaselineConfig(preset="quick", models=("lasso",)), out=out, external=tiny12)


def test_inputs_hash_and_test_predictions_alone(tiny12, other10):
    from types import SimpleNamespace

    from d2tl.baseline.experiment import hashed_config, load_inputs
    from d2tl.baseline.result_files import predictions_table

    with pytest.raises(D2TLError, match="is the case table itself"):
        load_inputs(tiny12, external=tiny12)
    inputs = load_inputs(tiny12, external=other10, seed=0)
    assert len(inputs.table) == 12 and len(inputs.sets["external"]) == 10 and len(inputs.parts) == 12
    plain = hashed_config(QUICK, load_inputs(tiny12))
    hashed = hashed_config(QUICK, inputs)
    assert hashed["external"] == {"cases_sha256": inputs.ext_data["cases_sha256"], "n_cases": 10}
    assert plain["external"] is None and {**hashed, "external": None} == plain
    test = inputs.parts[inputs.parts == "test"].index
    fit = SimpleNamespace(test_scores=pd.Series(0.5, index=test), test_pred=pd.Series(1, index=test))
    table = predictions_table(inputs, [{"name": "svm", "masks": "perturbed", "fit": fit},
                                       {"name": "svm", "masks": "exact", "fit": fit}], default="perturbed")
    assert list(table.columns) == ["id", "label", "part", "svm_score", "svm_malignant", "svm_exact_score",
                                   "svm_exact_malignant"]
    assert table.loc[test, "svm_score"].eq(0.5).all() and table["svm_score"].notna().sum() == len(test)


def test_best_baseline_never_picks_the_control_or_other_masks():
    rows = [{"method": "Intensity-only control", "role": "control", "masks": "perturbed", "val_auc": 0.99},
            {"method": "SVM (exact masks)", "role": "baseline", "masks": "exact", "val_auc": 0.95},
            {"method": "D2TL", "role": "d2tl", "masks": None, "val_auc": 0.97},
            {"method": "SVM", "role": "baseline", "masks": "perturbed", "val_auc": 0.7},
            {"method": "Random forest", "role": "baseline", "masks": "perturbed", "val_auc": 0.8},
            {"method": "GLM-LASSO", "role": "baseline", "masks": "perturbed", "val_auc": None}]
    assert best_baseline(rows, "perturbed")["method"] == "Random forest"
    assert best_baseline(rows, "exact")["method"] == "SVM (exact masks)"
    assert best_baseline(rows[:1], "perturbed") is None


def test_best_baseline_is_chosen_on_validation_not_on_the_sets_it_is_scored_on():
    """The row with the highest validation AUC, however the test and external AUCs fall; one
    choice for both sets; ties go to table order."""
    rows = [{"method": "SVM", "role": "baseline", "masks": "perturbed", "val_auc": 0.6, "auc": 0.95, "ext_auc": 0.9},
            {"method": "GLM-LASSO", "role": "baseline", "masks": "perturbed", "val_auc": 0.8, "auc": 0.7,
             "ext_auc": 0.6},
            {"method": "Random forest", "role": "baseline", "masks": "perturbed", "val_auc": 0.8, "auc": 0.9,
             "ext_auc": 0.8}]
    assert best_baseline(rows, "perturbed")["method"] == "GLM-LASSO"
    text = comparison_sentence(rows + [{"method": "Intensity-only control", "role": "control", "masks": "perturbed",
                                        "ext_auc": 0.5}], "perturbed", "ext_")
    assert "(GLM-LASSO, chosen by validation AUC" in text and "+0.10 AUC over brightness alone" in text


def test_mask_options_of_the_command_line():
    import argparse

    from d2tl.baseline.run import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args([]))
    assert config.preset == "quick" and config.seed == config.split_seed == 0
    assert config.perturbation == DEFAULT_PERTURBATION and config.mask_variants() == {
        "perturbed": DEFAULT_PERTURBATION, "exact": None}
    assert config.methods()[-1] == "intensity"
    config = config_from_args(parser.parse_args(["--perturb-masks", "0"]))
    assert config.perturbation is None and config.mask_variants() == {"exact": None}
    config = config_from_args(parser.parse_args(["--no-exact-masks", "--no-intensity-control", "--seed", "3"]))
    assert list(config.mask_variants()) == ["perturbed"] and "intensity" not in config.methods()
    assert config.perturbation.seed == 3 and config.split_seed == 0  # --seed is the models', never the split
    assert config_from_args(parser.parse_args(["--split-seed", "2"])).split_seed == 2
    # one seed for both, as every earlier result: the same hash as before split_seed existed
    assert "split_seed" not in BaselineConfig(seed=2, split_seed=2).to_dict()
    assert BaselineConfig(seed=2).to_dict()["split_seed"] == 0
    with pytest.raises(D2TLError, match="amplitude"):
        config_from_args(parser.parse_args(["--perturb-masks", "1.5"]))


def test_command_line_and_missing_mask_error(tiny12, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["baseline", "--cases", str(tiny12), "--preset", "quick", "--models", "lasso,svm",
                 "--out", str(out), "--jobs", "2", "--d2tl-metrics", "none", "--no-exact-masks"]) == 0
    printed = capsys.readouterr().out
    assert "GLM-LASSO" in printed and "s per case" in printed and "Intensity-only control" in printed
    assert "(exact masks)" not in printed
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
