"""Pre-training on a synthetic CEDM source domain (d2tl.pretrain.synthetic_*): labels that are not
the diagnosis, measured leaks, the recipe, the store and ``--weights synthetic``."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from d2tl import cli
from d2tl.io.errors import D2TLError
from d2tl.model import weights as W
from d2tl.pretrain import command, store
from d2tl.pretrain import synthetic_source as source
from d2tl.pretrain.synthetic_recipe import WEIGHTS_FILE, SyntheticRecipe
from d2tl.training.run_folder import resolve_weights  # registers the pre-trained weights sources

TINY = SyntheticRecipe(cases=12, source_seed=101, epochs=1, batch_size=16)


@pytest.fixture
def store_root(tmp_path, monkeypatch):
    root = tmp_path / "store"
    monkeypatch.setenv(store.STORE_ENV, str(root))
    return root


def test_bins_follow_the_generators_ranges():
    assert [source.bin_of(v, source.DENSITY_EDGES) for v in (0.05, 0.2, 0.34, 0.5)] == [0, 1, 1, 2]
    assert [source.bin_of(v, source.SIZE_EDGES) for v in (35, 100, 300, 1175)] == [0, 1, 2, 3]
    assert source.TASKS == {"lesion": 2, "density": 3, "bpe": 3, "size": 4}


def test_background_boxes_lie_in_the_breast_and_miss_the_lesion():
    breast = np.zeros((200, 160), bool)
    breast[:, :120] = True
    lesion = np.zeros_like(breast)
    lesion[90:110, 50:70] = True
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = source.background_centre(breast, lesion, 32, rng)
        box = np.zeros_like(breast)
        box[int(y) - 16:int(y) + 16, int(x) - 16:int(x) + 16] = True
        assert not (box & lesion).any() and (box & breast).sum() >= 0.9 * box.sum()
    assert source.background_centre(lesion, lesion, 32, rng) is None  # nowhere to go: given up, not forced


def test_label_association_finds_a_disguised_diagnosis_and_clears_an_independent_label():
    rng = np.random.default_rng(0)
    n = 400
    diagnosis = np.where(np.arange(n) % 2, "malignant", "benign")
    table = pd.DataFrame({"id": np.arange(n), "diagnosis": diagnosis, "lesion": rng.integers(0, 2, n), "density": rng.integers(0, 3, n),
                          "bpe": (diagnosis == "malignant").astype(int) * 2,  # a leak: the diagnosis itself
                          "size": rng.integers(0, 4, n), "size_weight": np.ones(n)})
    rows = {r["task"]: r for r in source.label_association(table)}
    assert rows["bpe"]["cramers_v"] == pytest.approx(1.0) and rows["bpe"]["auc_for_malignancy"] == 1.0
    for task in ("lesion", "density", "size"):
        assert rows[task]["cramers_v"] < 0.2 and abs(rows[task]["auc_for_malignancy"] - 0.5) < 0.1
    # a case's own label counts once per case, however many ROIs the case gives
    repeated = pd.concat([table] * 8, ignore_index=True)
    again = {r["task"]: r for r in source.label_association(repeated)}
    assert again["density"]["samples"] == n and again["density"]["chi2_p"] == rows["density"]["chi2_p"]
    assert again["lesion"]["samples"] == 8 * n


def test_recipe_refuses_reserved_seeds_and_round_trips_its_command():
    with pytest.raises(D2TLError, match="--source-seed 1:"):
        SyntheticRecipe(source_seed=1)
    recipe = SyntheticRecipe(cases=50, source_seed=2000, epochs=3, learning_rate=5e-4)
    assert recipe.hash != SyntheticRecipe().hash
    args = cli.build_parser("pretrain").parse_args(recipe.command().split()[3:])
    assert command.recipe_from_args(args) == recipe
    with pytest.raises(D2TLError, match="--classes 5: only for --source fractal"):
        command.recipe_from_args(cli.build_parser("pretrain").parse_args(
            ["pretrain", "--source", "synthetic", "--classes", "5"]))
    with pytest.raises(D2TLError, match="--source-cases 50: only for --source synthetic"):
        command.recipe_from_args(cli.build_parser("pretrain").parse_args(["pretrain", "--source-cases", "50"]))


def test_synthetic_without_a_file_refuses_naming_the_command(store_root):
    with pytest.raises(D2TLError) as info:
        W.resolve("synthetic")
    assert "python -m d2tl pretrain --source synthetic" in str(info.value)
    assert SyntheticRecipe().hash in str(info.value)


def test_synthetic_resolves_to_the_store_file_and_by_path(store_root):
    recipe = SyntheticRecipe()
    folder = store.folder(recipe, store_root)
    folder.mkdir(parents=True)
    content = b"stand-in synthetic-source weights"
    (folder / WEIGHTS_FILE).write_bytes(content)
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    (folder / store.SIDECAR).write_text(json.dumps({"recipe_hash": recipe.hash, "description": recipe.describe(),
                                                    "recipe": {"source": "synthetic"}, "weights_sha256": digest}))
    weights = W.resolve("synthetic")
    assert weights.kind == "synthetic" and weights.digest == digest and recipe.hash in weights.description
    assert W.resolve(str(folder / WEIGHTS_FILE)) == weights  # by path: the same weights, the same identity


@pytest.mark.slow
def test_a_tiny_synthetic_pretraining_writes_weights_that_load(store_root, tmp_path):
    import keras

    from d2tl.model import ModelConfig, build_model
    from d2tl.pretrain.synthetic_train import pretrain

    lines = []
    path = pretrain(TINY, source_root=tmp_path / "sources", log=lines.append)
    assert path.name == WEIGHTS_FILE and path.parent.name == TINY.hash
    assert any("ETA" in line and "lesion" in line for line in lines)
    sidecar = json.loads(path.with_name(store.SIDECAR).read_text())
    assert sidecar["images"] == 12 * 2 * 2 * 2  # cases x views x (lesion, background) x modes
    assert sidecar["samples_by_box"] == {"lesion": 48, "background": 48}
    assert {a["task"] for a in sidecar["label_association"]} == set(source.TASKS)
    assert sidecar["source_set"]["generator"]["seed"] == 101 and sidecar["weights_sha256"] == W.file_digest(path)
    model, described = build_model(ModelConfig(input_size=75, weights=str(path), tuning="semi"), resolve_weights(str(path)))
    assert described.startswith("synthetic (") and TINY.hash in described
    reference = keras.applications.InceptionV3(include_top=False, weights=str(path), pooling="avg",
                                               input_shape=(75, 75, 3))
    kernel = next(layer for layer in reference.layers if isinstance(layer, keras.layers.Conv2D)).kernel.numpy()
    conv = next(layer for layer in model.get_layer("backbone_rec").layers if isinstance(layer, keras.layers.Conv2D))
    np.testing.assert_allclose(conv.kernel.numpy(), kernel)
    assert pretrain(TINY, source_root=tmp_path / "sources", log=lines.append) == path and "reused" in lines[-1]
