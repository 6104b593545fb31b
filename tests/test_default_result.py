"""The model that interpretation and the baseline compare against is the preset's default
configuration, found by its configuration hash, never the newest folder (fast, no training)."""

from __future__ import annotations

import os

import pytest

from d2tl import sections
from d2tl.training.default_result import default_folder, require_default
from d2tl.io.errors import D2TLError
from d2tl.interpret.experiment import find_default_model


def test_default_folder_is_the_sections_default_hash(tiny_cases, tmp_path):
    ctx = sections.Context(tiny_cases, "quick", out=tmp_path, log=lambda line: None)
    assert default_folder(tiny_cases, "quick", tmp_path / "runs") == ctx.directory(ctx.base())
    assert default_folder(tiny_cases, "smoke", tmp_path / "runs") != ctx.directory(ctx.base())


def test_the_default_is_chosen_over_a_newer_other_configuration(tiny_cases, tmp_path):
    store = tmp_path / "runs"
    ctx = sections.Context(tiny_cases, "quick", out=tmp_path, log=lambda line: None)
    default = ctx.directory(ctx.base())
    other = ctx.directory(ctx.base().replace(train={"seed": 7}))  # dual-mode, full-tune, box 256 too
    for folder, text in ((default, "default"), (other, "newer")):
        folder.mkdir(parents=True)
        (folder / "model.keras").write_text(text)
        (folder / "metrics.json").write_text("{}")
    os.utime(other / "model.keras", (2e9, 2e9))  # the other one is newer
    assert find_default_model(store, "quick", tiny_cases) == default / "model.keras"
    assert require_default(tiny_cases, "quick", store, "metrics.json") == default / "metrics.json"


def test_a_missing_default_names_its_hash_and_the_command(tiny_cases, tmp_path):
    store = tmp_path / "runs"
    other = default_folder(tiny_cases, "smoke", store)
    other.mkdir(parents=True)
    (other / "model.keras").write_text("another preset's model")
    expected = default_folder(tiny_cases, "quick", store).name
    with pytest.raises(D2TLError) as error:
        find_default_model(store, "quick", tiny_cases)
    text = str(error.value)
    assert expected in text and "python experiments/pooling.py --preset quick" in text and str(tmp_path) in text
