"""Formula-driven pre-training: the FractalDB-style generator, the recipe store, the
``fractal`` weights and the random-init section's third arm."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from conftest import stub_backbone, write_tiny_cases
from d2tl import cli, sections
from d2tl.pretrain import command as pretrain, fractaldb, store as pretrain_store
from d2tl.model import weights as W
from d2tl.io.errors import D2TLError
from d2tl.training.run_folder import resolve_weights  # registers the pre-trained weights sources

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TINY_RECIPE = pretrain_store.Recipe(classes=3, per_class=4, side=75, epochs=1, batch_size=4)


def test_generator_is_deterministic_and_its_classes_are_distinct():
    first, again = fractaldb.FractalSet(3, 4, 75, seed=0), fractaldb.FractalSet(3, 4, 75, seed=0)
    images = first.images(range(len(first)))
    assert images.shape == (12, 75, 75) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, again.images(range(len(again))))
    assert [first.label(j) for j in range(12)] == [0] * 4 + [1] * 4 + [2] * 4
    assert min(first.filling_rates) >= fractaldb.FILLING_RATE
    means = images.reshape(3, 4, 75, 75).astype(float).mean(axis=1)
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.abs(means[a] - means[b]).mean() > 20, (a, b)  # grey levels, of 255
    # instances of a class differ (perturbation, flips, patches), and another seed is another set
    assert len({images[j].tobytes() for j in range(4)}) == 4
    other = fractaldb.FractalSet(3, 4, 75, seed=1).images(range(12))
    assert not np.array_equal(images, other)


def test_generator_refuses_impossible_sizes():
    with pytest.raises(D2TLError, match="--classes 1"):
        fractaldb.FractalSet(1, 4, 75)
    with pytest.raises(D2TLError, match="--side 60"):
        pretrain_store.Recipe(side=60)


def test_recipe_hash_changes_with_the_recipe_and_its_command_remakes_it(monkeypatch):
    base = pretrain_store.Recipe()
    assert base.hash == pretrain_store.Recipe().hash
    changed = {dataclasses.replace(base, **{f: v}).hash for f, v in
               (("classes", 41), ("per_class", 99), ("side", 99), ("epochs", 9), ("seed", 1), ("batch_size", 16),
                ("learning_rate", 1e-4))}
    assert len(changed) == 7 and base.hash not in changed
    before = base.hash
    monkeypatch.setattr(fractaldb, "VERSION", fractaldb.VERSION + 1)  # the generator itself is in the recipe
    assert pretrain_store.Recipe().hash != before
    monkeypatch.undo()
    for recipe in (base, TINY_RECIPE, dataclasses.replace(base, learning_rate=3e-4), pretrain_store.SCALES["fractaldb-1k"]):
        argv = recipe.command().split()[4:]
        assert recipe.command().startswith("python -m d2tl pretrain")
        args = cli.build_parser("pretrain").parse_args(["pretrain", *argv])
        assert pretrain.recipe_from_args(args) == recipe


def _fake_finished(recipe, root, content=b"stand-in pre-trained weights"):
    """A store folder as a finished pre-training leaves it (the file is not a real network)."""
    folder = pretrain_store.folder(recipe, root)
    folder.mkdir(parents=True)
    (folder / pretrain_store.WEIGHTS_FILE).write_bytes(content)
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    (folder / pretrain_store.SIDECAR).write_text(json.dumps(
        {"recipe_hash": recipe.hash, "description": recipe.describe(), "weights_sha256": digest}))
    return folder / pretrain_store.WEIGHTS_FILE, digest


def test_fractal_without_a_file_refuses_naming_the_pretrain_command(tmp_path, capsys):
    with pytest.raises(D2TLError) as info:
        W.resolve("fractal")
    assert "python -m d2tl pretrain" in str(info.value) and pretrain_store.Recipe().hash in str(info.value)
    with pytest.raises(D2TLError, match="--classes 1000 --per-class 1000"):
        W.resolve("fractal:fractaldb-1k")
    cases = write_tiny_cases(tmp_path / "cases")
    status = cli.main(["train", "--cases", str(cases), "--out", str(tmp_path / "out"), "--weights", "fractal",
                       "--preset", "smoke"])
    assert status == 2 and "python -m d2tl pretrain" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*/run_*"))


def test_fractal_resolves_to_the_store_file_by_its_recipe(pretrain_store_root):
    path, digest = _fake_finished(pretrain_store.Recipe(), pretrain_store_root)
    weights = W.resolve("fractal")
    assert weights.kind == "fractal" and weights.argument == str(path.resolve()) and weights.digest == digest
    assert weights.identity == f"fractal {digest}" and pretrain_store.Recipe().hash in weights.description
    assert "imagenet" not in weights.description.lower()
    by_path = W.resolve(str(path))  # the same file named by path: the same weights, the same hash
    assert by_path == weights and W.identity(str(path)) == W.identity("fractal")
    other = pretrain_store_root / "elsewhere" / pretrain_store.WEIGHTS_FILE
    other.parent.mkdir()
    other.write_bytes(b"another file")  # no sidecar: a plain weights file
    assert W.resolve(str(other)).kind == "file"


@pytest.fixture
def pretrain_store_root(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv(pretrain_store.STORE_ENV, str(root))
    return root


def test_the_store_reuses_a_finished_recipe(pretrain_store_root, monkeypatch, capsys):
    path, _ = _fake_finished(TINY_RECIPE, pretrain_store_root)
    monkeypatch.setattr(pretrain, "build", lambda recipe: pytest.fail("a finished recipe was trained again"))
    lines = []
    assert pretrain.pretrain(TINY_RECIPE, log=lines.append) == path and "reused" in lines[0]
    argv = [*TINY_RECIPE.command().split()[3:], "--dry-run"]
    assert cli.main(argv) == 0 and f"finished: {path}" in capsys.readouterr().out


@pytest.mark.slow
def test_a_tiny_pretraining_writes_weights_that_load(pretrain_store_root, monkeypatch):
    import keras

    from d2tl.model import ModelConfig, build_model

    lines = []
    path = pretrain.pretrain(TINY_RECIPE, log=lines.append)
    assert path.name.endswith(".weights.h5") and path.parent.name == TINY_RECIPE.hash
    assert any("ETA" in line for line in lines)
    sidecar = json.loads(path.with_name(pretrain_store.SIDECAR).read_text())
    assert sidecar["recipe_hash"] == TINY_RECIPE.hash and sidecar["recipe"] == TINY_RECIPE.to_dict()
    assert sidecar["weights_sha256"] == W.file_digest(path) and len(sidecar["history"]) == 1
    assert sidecar["seconds"]["train"] > 0 and "provenance" in sidecar
    assert not list(pretrain_store_root.glob(".*partial"))  # the backup folder is gone
    # loadable by Keras at another input side, and really loaded by --weights PATH
    reference = keras.applications.InceptionV3(include_top=False, weights=str(path), pooling="avg",
                                               input_shape=(99, 99, 3))
    kernel = next(layer for layer in reference.layers if isinstance(layer, keras.layers.Conv2D)).kernel.numpy()
    model, source = build_model(ModelConfig(input_size=75, weights=str(path), tuning="semi"), resolve_weights(str(path)))
    assert source.startswith("fractal (") and TINY_RECIPE.hash in source and "imagenet" not in source.lower()
    for name in ("backbone_le", "backbone_rec"):
        conv = next(layer for layer in model.get_layer(name).layers if isinstance(layer, keras.layers.Conv2D))
        np.testing.assert_allclose(conv.kernel.numpy(), kernel)
    fresh, _ = build_model(ModelConfig(input_size=75, weights="random", tuning="semi"), resolve_weights("random"))
    conv = next(layer for layer in fresh.get_layer("backbone_le").layers if isinstance(layer, keras.layers.Conv2D))
    assert not np.allclose(conv.kernel.numpy(), kernel)
    # the default-recipe spec finds it when it is the default recipe
    monkeypatch.setitem(pretrain_store.SCALES, "cpu", TINY_RECIPE)
    assert W.resolve("fractal").argument == str(path.resolve())


@pytest.fixture
def stub(monkeypatch):
    """InceptionV3 swapped for the stand-in backbone (each training builds its own engine)."""
    import d2tl.model

    monkeypatch.setattr(d2tl.model, "build_backbone", stub_backbone)


SECTION = {"runs": 1, "epochs": 1, "input_scale": 75 / 512, "shift_repeats": 2, "random_init_epochs": 2,
           "batch_size": 4, "alternatives": 1}


def test_random_init_section_runs_with_three_arms(stub, tmp_path, pretrain_store_root, monkeypatch):
    import keras

    imagenet = tmp_path / "kh" / "models" / W.IMAGENET_FILE  # stand-in files: the stub backbone loads none
    imagenet.parent.mkdir(parents=True)
    imagenet.write_bytes(b"stand-in ImageNet")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: pytest.fail("no download"))
    _, digest = _fake_finished(pretrain_store.Recipe(), pretrain_store_root)
    cases = write_tiny_cases(tmp_path / "cases", n=8)
    ctx = sections.Context(cases, "tiny", tmp_path / "out", log=lambda line: None,
                           settings={**SECTION, "weights": "imagenet"},
                           imagenet_md5=hashlib.md5(b"stand-in ImageNet").hexdigest())
    result = sections.run_section("random_init", ctx)
    table = result.table
    assert list(table["initialisation"]) == ["imagenet", "fractal", "random"] and table["hash"].nunique() == 3
    fractal = table.loc[table["initialisation"] == "fractal"].iloc[0]
    assert pretrain_store.Recipe().hash in fractal["weights_source"] and digest in fractal["weights_source"]
    assert "imagenet" not in fractal["weights_source"].lower()
    assert [s["initialisation"] for s in result.extra["learning"]] == ["imagenet", "fractal", "random"]
    assert result.extra["absent_arms"] == []
    assert set(result.histories["label"]) == set(table["label"])  # every arm's curve is in the figure's data
    assert (tmp_path / "out" / "random_init" / sections.FIGURES["random_init"]).is_file()
    rows = {r["quantity"]: r["paper"] for r in result.comparison}
    assert rows["fractal: first epoch with 90% training accuracy (Kaplan-Meier median)"] == "not in the paper"
