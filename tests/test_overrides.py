"""--runs, --epochs, --batch-size and --learning-rate on the section scripts and run-all: the
preset's values replaced, every configuration's hash changed, and the reports, SUMMARY.md,
run_all.json and provenance marked as deviating from the preset. Test backbone, smoke preset,
eight tiny patients, in process."""

from __future__ import annotations

import argparse
import json

import pytest

from conftest import write_tiny_cases
from d2tl.cli import main
from d2tl.protocol.presets import deviation_text, preset, with_overrides

ARGS = ["--preset", "smoke", "--weights", "random", "--external", "none"]
OVERRIDES = ["--epochs", "1", "--batch-size", "4", "--learning-rate", "0.002"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("overrides") / "data", n=8)


@pytest.fixture(autouse=True)
def stub(monkeypatch):
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")


def test_overrides_replace_the_presets_values_and_scale_the_random_init_epochs():
    settings, deviations = with_overrides(preset("paper"), {"epochs": 50, "batch_size": 8, "runs": None,
                                                            "learning_rate": 1e-4})
    assert settings["epochs"] == 50 and settings["random_init_epochs"] == 100 and settings["batch_size"] == 8
    assert list(deviations) == ["epochs", "random_init_epochs", "batch_size"]  # 1e-4 is the preset's own
    assert deviation_text(deviations) == ("epochs 50 (preset 100), random init epochs 100 (preset 200), "
                                          "batch size 8 (preset 16)")
    assert with_overrides(preset("quick"), {"epochs": None}) == (preset("quick"), {})


def _context(cases, out, *extra):
    from d2tl.sections.command import add_arguments, make_context

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return make_context(parser.parse_args(["--cases", str(cases), "--out", str(out), *ARGS, *extra]),
                        log=lambda line: None)


def test_overrides_change_every_configurations_hash_and_none_keeps_the_presets(cases, tmp_path):
    from d2tl.training.config import preset_base

    plain, changed = _context(cases, tmp_path), _context(cases, tmp_path, *OVERRIDES, "--runs", "2")
    assert plain.overrides == {} and plain.base() == preset_base({**preset("smoke"), "weights": "random"}, "smoke", {
        "precision": "float32", "jit_compile": False, "deterministic": True})
    train = changed.base().train
    assert (train.runs, train.epochs, train.batch_size, train.learning_rate) == (2, 1, 4, 0.002)
    assert changed.directory(changed.base()) != plain.directory(plain.base())


@pytest.mark.parametrize("option, value", [("--epochs", "0"), ("--runs", "-1"), ("--batch-size", "0"),
                                           ("--learning-rate", "0")])
def test_a_bad_override_is_named(cases, tmp_path, capsys, option, value):
    assert main(["pooling", "--cases", str(cases), "--out", str(tmp_path / "out"), *ARGS, option, value]) == 2
    assert f"{option} " in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_section_and_run_all_with_overrides_say_so(cases, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["pooling", "--cases", str(cases), "--out", str(out), *ARGS, *OVERRIDES]) == 0
    banner = ("**Deviates from preset smoke: epochs 1 (preset 2), random init epochs 1 (preset 2), batch size 4 "
              "(preset 16), learning rate 0.002 (preset 0.001) (set on the command line).**")
    assert banner in (out / "pooling" / "pooling.md").read_text()
    provenance = json.loads((out / "pooling" / "provenance.json").read_text())
    assert provenance["overrides"]["batch_size"] == {"preset": 16, "used": 4}
    config = json.loads(next((out / "runs").glob("*/config.json")).read_text())["config"]["train"]
    assert (config["epochs"], config["batch_size"], config["learning_rate"]) == (1, 4, 0.002)
    assert main(["run-all", "--cases", str(cases), "--out", str(out), *ARGS, *OVERRIDES, "--sections", "pooling",
                 "--skip-baseline", "--skip-interpretation"]) == 0  # the trained configurations are read back
    assert banner in (out / "SUMMARY.md").read_text()
    assert json.loads((out / "run_all.json").read_text())["overrides"]["epochs"] == {"preset": 2, "used": 1}
    capsys.readouterr()
    assert main(["run-all", "--cases", str(cases), "--out", str(out), *ARGS, "--sections", "pooling", "--dry-run",
                 *OVERRIDES]) == 0
    assert "Deviating from preset smoke: epochs 1 (preset 2)" in capsys.readouterr().out
