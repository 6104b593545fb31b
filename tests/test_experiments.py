"""The section scripts (Sec. 4.1-4.4) and run_all, end to end on a tiny data set.

Compiling the training step of two real InceptionV3s costs about two minutes per graph on a
2-core CPU, and the sections need three graphs (dual-mode, simple pooling, semi-tune). So the
end-to-end tests of every script swap InceptionV3 for a tiny stand-in CNN (``stub_backbone``:
same inputs, same heads, same training, evaluation and reports; only the backbone differs), with
the process's compiled-model cache isolated so no stand-in leaks into a real model. One test
runs a section with the real InceptionV3 (dual-mode, full-tune, 75 px: one graph, shared with
any other test of the session that uses it), and the parameter-count test builds the real
models (no training).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest

from conftest import stub_backbone, write_tiny_cases
import d2tl.model
from d2tl import sections

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras on NumPy 2, thousands per step

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RANDOM = "random"
# Not a user-facing preset: a few patients, 75 px, 1 run, 1 epoch, 1 augmented copy, random
# weights (no download attempt), 2 shift repeats (the fewest that give a p-value).
TINY = {"runs": 1, "epochs": 1, "input_scale": 75 / 512, "shift_repeats": 2, "random_init_epochs": 1,
        "batch_size": 4, "alternatives": 1, "weights": RANDOM}
FILES = {  # section -> files its folder must hold besides the figure
    "box_size": ["box_size.csv", "box_size.md", "paired_tests.csv"],
    "box_shift": ["box_shift.csv", "box_shift.md", "p_values.csv", "shift_summary.csv", "paired_tests.csv"],
    "pooling": ["pooling.csv", "pooling.md", "paired_tests.csv"],
    "tuning": ["tuning.csv", "tuning.md", "parameters.csv", "paired_tests.csv"],
    "random_init": ["random_init.csv", "random_init.md", "learning.csv"],
}


def script(name: str):
    return importlib.import_module(f"experiments.{name}")


# --- real InceptionV3 (whatever ran before: the module-wide stand-in below is undone for these)

REAL_BUILD_BACKBONE = d2tl.model.build_backbone


@pytest.fixture
def real_backbone(monkeypatch):
    """The real InceptionV3, even after the module-scoped stand-in was put in place."""
    monkeypatch.setattr(d2tl.model, "build_backbone", REAL_BUILD_BACKBONE)
    monkeypatch.delenv("D2TL_TEST_BACKBONE", raising=False)


@pytest.mark.slow
def test_parameter_counts_of_the_real_model(real_backbone, tiny, tmp_path):
    """The paper's 'about 5x' against the described model (two InceptionV3s, no top)."""
    ctx = sections.Context(tiny, "tiny", tmp_path, log=lambda line: None, settings=TINY)
    counts = sections.tuning.parameter_counts_by_tuning(ctx.base())
    assert counts["full"]["trainable"] == 47_734_082 and counts["semi"]["trainable"] == 4_197_378
    assert counts["full"]["trainable"] / counts["semi"]["trainable"] == pytest.approx(11.37, abs=0.01)


@pytest.mark.slow
def test_a_section_with_the_real_inception(real_backbone, tiny, tmp_path, engine):
    """random_init with the real InceptionV3 (dual-mode, full-tune, 75 px), 1 epoch, in the session's
    engine at batch 8: the graph tests/test_train.py and tests/test_bn_stats.py trace, traced once."""
    ctx = sections.Context(tiny, "tiny", tmp_path / "real", log=lambda line: None, settings={**TINY, "batch_size": 8})
    ctx.engine = engine
    result = sections.run_section("random_init", ctx)
    assert list(result.table["initialisation"]) == ["random"]  # offline, no pre-trained file: one arm
    assert any("python -m d2tl pretrain" in n for n in result.notes)
    assert (tmp_path / "real" / "random_init" / sections.FIGURES["random_init"]).is_file()
    assert (ctx.directory(ctx.base()) / "model.keras").is_file()


# --- every script with the stand-in backbone

@pytest.fixture(scope="module")
def stub():
    """InceptionV3 swapped for :func:`stub_backbone`, (restored afterwards); every Context has
    its own engine and parameter-count cache, so nothing else needs isolating."""
    import d2tl.model

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(d2tl.model, "build_backbone", stub_backbone)
        yield


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Eight patients (4 benign, 4 malignant: split 2/1/1 per label) with masks."""
    return write_tiny_cases(tmp_path_factory.mktemp("tiny-sections"), n=8)


@pytest.fixture(scope="module")
def trained(stub, tiny, tmp_path_factory):
    """Every section run once in one context (one store), counting the trainings."""
    import d2tl.training.experiment

    out = tmp_path_factory.mktemp("sections-out")
    calls = []
    original = d2tl.training.experiment.train_run

    def counting(config, data, run, run_dir, log=print, **kwargs):
        calls.append(Path(run_dir).parent.name)
        return original(config, data, run, run_dir, log, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(d2tl.training.experiment, "train_run", counting)
        external = write_tiny_cases(tmp_path_factory.mktemp("tiny-external"), n=6, seed=5)
        ctx = sections.Context(tiny, "tiny", out, log=lambda line: None, settings=TINY, external=external)
        results = {name: sections.run_section(name, ctx) for name in sections.ORDER}
    return {"ctx": ctx, "out": out, "results": results, "calls": calls, "cases": tiny}


@pytest.mark.parametrize("name", sections.ORDER)
def test_each_script_writes_table_figure_and_provenance(trained, name):
    folder = trained["out"] / name
    result = trained["results"][name]
    assert result.folder == folder
    for file in [*FILES[name], sections.FIGURES[name], "history.csv", "summary.json", "provenance.json"]:
        assert (folder / file).is_file() and (folder / file).stat().st_size > 0, file
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["preset"] == "tiny" and prov["paper_run"] is False
    assert prov["weights_sources"] == ["random"]
    assert prov["dataset"]["n_cases"] == 8
    assert len(prov["config"]["configurations"]) == len(result.table)
    md = (folder / f"{name}.md").read_text()
    assert "| quantity | paper | ours |" in md and "Preset **tiny**" in md
    assert {"accuracy", "sensitivity", "specificity", "hash", "weights_source"} <= set(result.table.columns)
    table = result.table
    for metric in ("accuracy", "sensitivity", "specificity"):  # exact intervals around every test proportion
        known = table[metric].notna()
        assert (table.loc[known, f"{metric}_low"] <= table.loc[known, metric]).all(), metric
        assert (table.loc[known, metric] <= table.loc[known, f"{metric}_high"]).all(), metric
    assert "Clopper-Pearson" in md and "2000 resamples, seed 0" in md
    if name != "random_init":
        paired = result.tables["paired_tests"]
        assert len(paired) and paired["note"].eq("").all() and paired["mcnemar_p"].between(0, 1).all()
        assert paired["mcnemar_p_holm"].ge(paired["mcnemar_p"]).all() and "| comparison | acc A / B |" in md
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["comparison"] and summary["preset"] == "tiny"


def test_every_configuration_is_scored_on_the_external_set(trained):
    for name, result in trained["results"].items():
        table = result.table
        assert (table["ext_n"] == 6).all(), name
        assert table["ext_auc_low"].le(table["ext_auc"]).all() and table["ext_auc"].le(table["ext_auc_high"]).all()
        assert table["test_prediction_sd"].notna().all()
        md = (trained["out"] / name / f"{name}.md").read_text()
        assert "external AUC (95% CI)" in md
    ctx = trained["ctx"]
    stored = list((ctx.directory(ctx.base()) / "external").glob("*.json"))
    assert len(stored) == 1  # scored once, reused by every section that shows the default configuration


def test_tuning_runs_both_frozen_bn_readings_and_is_void_without_pretrained_weights(trained):
    result = trained["results"]["tuning"]
    assert list(result.table["frozen_bn"].fillna("-")) == ["-", "inference", "keras2"]
    assert result.extra["semi_comparison_void"] is True
    assert any("comparison is void" in note for note in result.notes)


def test_external_synthetic_set_follows_the_cases_generator(tmp_path):
    from d2tl.data.sources.synthetic import SynthConfig, write_dataset
    from d2tl.training.external import resolve_external

    cases = write_dataset(SynthConfig(n_cases=2, scale=0.05, difficulty=0.3), tmp_path / "set")
    lines = []
    made = resolve_external(None, cases, {"external_synthetic": {"cases": 3, "seed": 7}}, lines.append)
    assert made == tmp_path / "set-external" / "cases.csv" and made.is_file()
    meta = json.loads((made.parent / "dataset.json").read_text())["config"]
    assert meta["seed"] == 7 and meta["n_cases"] == 3 and meta["difficulty"] == 0.3 and meta["scale"] == 0.05
    assert resolve_external(None, cases, {"external_synthetic": {"cases": 3, "seed": 7}}) == made  # reused
    from d2tl.io.errors import D2TLError

    with pytest.raises(D2TLError, match="another data set"):
        resolve_external(None, cases, {"external_synthetic": {"cases": 4, "seed": 7}})
    assert resolve_external("none", cases, {"external_synthetic": {"cases": 3, "seed": 7}}) is None
    assert resolve_external(None, cases, {}) is None


def test_shared_configuration_is_trained_once(trained):
    calls, ctx = trained["calls"], trained["ctx"]
    assert len(calls) == len(set(calls))  # no configuration trained twice
    default = ctx.directory(ctx.base()).name
    assert calls.count(default) == 1
    # boxes, shifts, simple pooling, semi-tune under both frozen-BN readings
    assert len(calls) == 4 + 3 * TINY["shift_repeats"] + 3
    for name in ("box_shift", "pooling", "tuning", "random_init"):
        row = trained["results"][name].table.query("hash == @default").iloc[0]
        assert row["status"].startswith("shared with box_size: box 256"), row["status"]


def test_a_new_process_finds_the_finished_results(trained, monkeypatch):
    import d2tl.training.experiment

    def fail(*args, **kwargs):
        raise AssertionError("a finished configuration was trained again")

    monkeypatch.setattr(d2tl.training.experiment, "train_run", fail)
    ctx = sections.Context(trained["cases"], "tiny", trained["out"], log=lambda line: None, settings=TINY)
    result = sections.run_section("pooling", ctx)
    assert set(result.table["status"]) == {"finished earlier"}


def test_a_report_of_another_configuration_is_not_overwritten(trained, monkeypatch):
    import d2tl.training.experiment
    from d2tl.io.errors import D2TLError

    other = sections.Context(trained["cases"], "tiny", trained["out"], log=lambda line: None,
                             settings={**TINY, "epochs": 2})
    monkeypatch.setattr(d2tl.training.experiment, "train_run", lambda *a, **k: pytest.fail("must refuse before training"))
    with pytest.raises(D2TLError, match="refusing to overwrite"):
        sections.run_section("tuning", other)


def test_run_all_refuses_a_later_sections_foreign_report_before_training(tiny, tmp_path, monkeypatch):
    """A fresh clone's committed report made from other configurations must stop run_all at once,
    not after the sections before it have trained."""
    import d2tl.training.experiment
    from d2tl.commands import run_all
    from d2tl.io.errors import D2TLError

    out = tmp_path / "all"
    (out / "tuning").mkdir(parents=True)
    (out / "tuning" / "provenance.json").write_text(json.dumps({"report_fingerprint": "another"}))
    ctx = sections.Context(tiny, "tiny", out, log=lambda line: None, settings=TINY)
    monkeypatch.setattr(d2tl.training.experiment, "train_run", lambda *a, **k: pytest.fail("must refuse before training"))
    args = argparse.Namespace(dry_run=False, skip_baseline=True, skip_interpretation=True)
    with pytest.raises(D2TLError, match="tuning holds a report made from other configurations"):
        run_all.run_all(args, ["pooling", "tuning"], ctx=ctx)
    assert not (out / "pooling").exists()


def test_box_shift_p_values_are_welch_and_mann_whitney(trained):
    result = trained["results"]["box_shift"]
    tests = result.tables["p_values"]
    assert list(tests["comparison"]) == ["10 px vs 20 px", "40 px vs 20 px"]
    assert (tests["n_a"] == TINY["shift_repeats"]).all() and (tests["n_b"] == TINY["shift_repeats"]).all()
    assert "Welch" in result.extra["test_used"] and "Mann-Whitney" in result.extra["test_used"]
    assert set(result.table.query("shift == 20")["shift_seed"]) == {2001, 2002}
    seeds = [p.config.train.seed for p in sections.plan("box_shift", trained["ctx"])]
    assert len(seeds) == len(set(seeds))  # every (shift, repeat) trains with its own seeds


def test_random_init_reports_learning_statistics(trained):
    result = trained["results"]["random_init"]
    learning = result.extra["learning"]
    assert [s["initialisation"] for s in learning] == ["random"]  # ImageNet and formula arms absent here
    for s in learning:
        assert s["last_n_epochs"] == 1 and 0 <= s["last10_train_accuracy"] <= 1
        assert s["runs_reaching_90"] <= s["runs"] and len(s["epoch_90_per_run"]) == s["runs"]
        assert s["epoch_90_median_text"] == ("> 1" if s["epoch_90_median"] is None else "epoch 1")
    assert any("void" in n for n in result.notes) and result.extra["absent_arms"][0].startswith("ImageNet arm")


@pytest.mark.slow
def test_split_seeds_repeat_every_configuration_on_other_splits(stub, tiny, tmp_path):
    import pandas as pd

    ctx = sections.Context(tiny, "tiny", tmp_path / "k", log=lambda line: None, settings=TINY, split_seeds=2)
    result = sections.run_section("pooling", ctx)
    table = pd.read_csv(tmp_path / "k" / "pooling" / "split_variance.csv")
    assert list(table["label"]) == list(result.table["label"]) and set(table["splits"]) == {2}
    assert table["accuracy_split0"].tolist() == pytest.approx(result.table["accuracy"].tolist())
    assert "Split variance" in (tmp_path / "k" / "pooling" / "pooling.md").read_text()
    base = ctx.base()
    first, second = (pd.read_csv(ctx.directory(base.replace(split_seed=k)) / "split.csv") for k in (0, 1))
    assert not first.equals(second)  # another split, trained and scored on its own test cases


@pytest.mark.slow
def test_run_all_writes_the_summary(stub, tiny, tmp_path):
    from d2tl.commands import run_all
    out = tmp_path / "all"
    ctx = sections.Context(tiny, "tiny", out, log=lambda line: None, settings=TINY)
    args = argparse.Namespace(dry_run=False, skip_baseline=False, skip_interpretation=True)
    assert run_all.run_all(args, list(sections.ORDER), ctx=ctx) == 0
    text = (out / "SUMMARY.md").read_text()
    assert "| preset | tiny:" in text and "| weights source | random |" in text
    assert "8 cases" in text and "not the paper's numbers" in text
    for number in ("4.1", "4.2", "4.3", "4.4", "4.6"):
        assert f"## Sec. {number}" in text
    assert "| D2TL |" in text  # our D2TL result beside the baseline, on the same split
    assert "Paired tests on the same test cases" in text and "D2TL vs each classifier" in text
    assert "Kaplan-Meier" in text
    record = json.loads((out / "run_all.json").read_text())
    assert record["preset"] == "tiny" and set(record["seconds"]) >= set(sections.ORDER) | {"baseline"}


def test_dry_run_prints_the_plan_and_trains_nothing(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sections.Context, "auto_weights_source", lambda self: "random (offline test)")
    out = tmp_path / "dry"
    assert script("box_shift").main(["--cases", str(tiny), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "Plan: preset quick" in text and "Estimated time" in text
    assert "shared: trained once, for box_shift: original" not in text  # one section: nothing shared
    assert text.count("[") >= 7 and "shift 40 px #2" in text
    assert not out.exists()
