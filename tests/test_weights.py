"""Weights identity: the source a configuration really starts from is what its
hash holds; ImageNet is checked against its expected hash; the paper preset names its weights."""

import hashlib
import json

import keras
import pytest

from d2tl import cli, sections
from d2tl.io.errors import D2TLError
from d2tl.model import weights as W
from d2tl.training.arguments import config_from_args
from d2tl.training.experiment import FINISHED


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    """An empty Keras cache and no network: Keras's download always fails."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    return tmp_path / "kh" / "models" / W.IMAGENET_FILE


def _stand_in(path, content=b"stand-in ImageNet weights") -> str:
    """Write a file where the ImageNet weights go; its MD5 is the 'published' hash of the test."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return hashlib.md5(content).hexdigest()


def _cases(tmp_path):
    cases = tmp_path / "cases.csv"
    cases.write_text("patient_id,label\nP1,benign\n")
    return cases


def test_imagenet_is_identified_by_its_published_hash_without_the_file(offline_home):
    assert W.identity("imagenet") == f"imagenet md5:{W.IMAGENET_MD5}"
    md5 = _stand_in(offline_home)
    resolved = W.resolve("imagenet", md5)
    assert resolved.kind == "imagenet" and resolved.argument == str(offline_home)
    assert resolved.identity == W.identity("imagenet", md5) == f"imagenet md5:{md5}"
    assert str(offline_home) in resolved.description


def test_damaged_imagenet_file_is_an_error_never_random(offline_home):
    _stand_in(offline_home, b"truncated download")
    for spec in ("imagenet", "auto"):
        with pytest.raises(D2TLError) as info:
            W.resolve(spec)  # the real published MD5: the file does not match it
        assert str(offline_home) in str(info.value) and "hash check" in str(info.value)


def test_a_weights_file_is_identified_by_its_content(tmp_path):
    a, b = tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert W.resolve(str(a)).identity == "file sha256:" + hashlib.sha256(b"one").hexdigest()
    assert W.resolve(str(a)).identity != W.resolve(str(b)).identity


def test_folder_trained_from_random_under_auto_is_not_reused_once_imagenet_is_there(tmp_path, offline_home):
    cases = _cases(tmp_path)
    ctx = sections.Context(cases, "smoke", tmp_path / "out", log=lambda line: None)
    base = ctx.base()
    assert base.model.weights == "auto" and ctx.auto_is_random()
    random_folder = ctx.directory(base)
    random_folder.mkdir(parents=True)
    (random_folder / FINISHED).write_text(json.dumps({"selected": {}}))
    assert ctx.finished(base)
    # the same folder as an explicit --weights random: the same training
    assert ctx.directory(base.replace(model={"weights": "random"})) == random_folder

    md5 = _stand_in(offline_home)
    later = sections.Context(cases, "smoke", tmp_path / "out", log=lambda line: None, imagenet_md5=md5)
    assert not later.auto_is_random()
    assert later.directory(base) != random_folder and not later.finished(base)
    assert later.directory(base) == later.directory(base.replace(model={"weights": "imagenet"}))


def test_paper_preset_refuses_without_imagenet_and_plans_without_it(tmp_path, offline_home):
    cases = _cases(tmp_path)
    ctx = sections.Context(cases, "paper", tmp_path / "out", log=lambda line: None)
    assert ctx.base().model.weights == "imagenet"
    folder = ctx.directory(ctx.base())  # a plan names its folders without the file
    assert "file missing" in ctx.auto_weights_source() and not ctx.auto_is_random()
    with pytest.raises(D2TLError) as info:
        ctx.weights("imagenet")
    assert str(offline_home) in str(info.value)
    with pytest.raises(D2TLError, match="reduced presets only"):
        ctx.base().replace(model={"weights": "auto"})
    md5 = _stand_in(offline_home)  # the cluster that has the file names the same folder
    assert sections.Context(cases, "paper", tmp_path / "out", log=lambda line: None,
                            imagenet_md5=W.IMAGENET_MD5).directory(ctx.base()) == folder
    assert sections.Context(cases, "paper", tmp_path / "out", log=lambda line: None,
                            imagenet_md5=md5).directory(ctx.base()) != folder  # another expected file


def test_paper_preset_run_all_refuses_from_the_command_line(tmp_path, offline_home, capsys):
    cases = _cases(tmp_path)
    code = cli.main(["pooling", "--preset", "paper", "--cases", str(cases), "--out", str(tmp_path / "o"),
                     "--external", "none"])
    err = capsys.readouterr().err
    assert code != 0 and str(offline_home) in err and "Traceback" not in err


@pytest.mark.parametrize("preset", ["quick", "smoke", "paper"])
def test_train_command_and_run_all_make_the_same_configuration(tmp_path, preset, offline_home):
    from d2tl.cli import build_parser

    cases = _cases(tmp_path)
    args = build_parser("train").parse_args(["train", "--preset", preset, "--cases", str(cases)])
    ctx = sections.Context(cases, preset, tmp_path / "out", log=lambda line: None)
    assert config_from_args(args) == ctx.base()
    assert config_from_args(build_parser("train").parse_args(["train", "--preset", preset, "--alternatives", "2"])) \
        .augment.alternatives == 2


def test_report_only_plans_without_the_imagenet_file(tmp_path, offline_home, capsys):
    """--report-only (like --dry-run and --plan) never needs the weights: on an empty store it
    lists what is missing instead of asking for the ImageNet file."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import write_tiny_cases

    run_all = importlib.import_module("experiments.run_all")
    cases = write_tiny_cases(tmp_path / "tiny", n=8)
    code = run_all.main(["--preset", "paper", "--cases", str(cases), "--out", str(tmp_path / "o"), "--external",
                         "none", "--sections", "pooling", "--report-only"])
    err = capsys.readouterr().err
    assert code == 2 and "not finished" in err and W.IMAGENET_FILE not in err
