import math

import keras
import numpy as np
import pytest

from d2tl.io.errors import D2TLError
from d2tl.model import ModelConfig, build_model, parameter_counts
from d2tl.model.weights import resolve
from d2tl.training.run_folder import resolve_weights


def _backbones(model):
    return [layer for layer in model.layers if layer.name.startswith("backbone")]


def _first_conv(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def _size(weights):
    return sum(math.prod(w.shape) for w in weights)


def test_dual_mode_parameter_counts_full_and_semi():
    full, source = build_model(ModelConfig(input_size=75, weights="random"), resolve_weights("random"))
    assert source == "random"
    backbones = _backbones(full)
    assert sorted(b.name for b in backbones) == ["backbone_le", "backbone_rec"]
    per_backbone, per_backbone_trainable = _size(backbones[0].weights), _size(backbones[0].trainable_weights)
    # Head, from the layer shapes: per mode 2 x 2048 -> 512 (+bias); output 2 x 512 -> 2 (+bias).
    head = 2 * (2 * 2048 * 512 + 512) + (2 * 512 * 2 + 2)
    counts = parameter_counts(full)
    assert counts["total"] == 2 * per_backbone + head
    assert counts["trainable"] == 2 * per_backbone_trainable + head == 47_734_082
    semi, _ = build_model(ModelConfig(input_size=75, weights="random", tuning="semi"), resolve_weights("random"))
    assert parameter_counts(semi)["trainable"] == head == 4_197_378
    assert parameter_counts(semi)["total"] == counts["total"]


@pytest.mark.slow
def test_views_share_a_backbone_and_modes_do_not():
    model, _ = build_model(ModelConfig(input_size=75, weights="random"), resolve_weights("random"))
    le = model.get_layer("backbone_le")
    x = {k: np.random.default_rng(0).random((1, 75, 75, 1), dtype=np.float32) for k in model.input}
    # Changing le_mlo changes the le feature but the same weights serve CC and MLO.
    assert len(le._inbound_nodes) == 2 and len(model.get_layer("backbone_rec")._inbound_nodes) == 2
    pooled, _ = build_model(ModelConfig(input_size=75, weights="random", architecture="simple_pooling"), resolve_weights("random"))
    assert [b.name for b in _backbones(pooled)] == ["backbone"]
    assert len(pooled.get_layer("backbone")._inbound_nodes) == 4
    assert model.predict(x, verbose=0).shape == (1, 2)


@pytest.mark.slow
def test_weights_file_is_really_loaded(tmp_path):
    donor = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(75, 75, 3))
    kernel = _first_conv(donor).kernel
    kernel.assign(np.full(kernel.shape, 0.123, np.float32))
    path = tmp_path / "inception.weights.h5"
    donor.save_weights(path)
    model, source = build_model(ModelConfig(input_size=75, weights=str(path), tuning="semi"), resolve_weights(str(path)))
    assert source.startswith("file (") and str(path) in source and "sha256:" in source
    for name in ("backbone_le", "backbone_rec"):
        np.testing.assert_allclose(_first_conv(model.get_layer(name)).kernel.numpy(), 0.123)
    fresh, _ = build_model(ModelConfig(input_size=75, weights="random", tuning="semi"), resolve_weights("random"))
    assert not np.allclose(_first_conv(fresh.get_layer("backbone_le")).kernel.numpy(), 0.123)


def test_offline_imagenet_names_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    expected = tmp_path / "kh" / "models" / "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(D2TLError) as info:
        resolve("imagenet")
    assert str(expected) in str(info.value) and "--weights" in str(info.value)
    weights = resolve("auto")
    assert weights.argument is None and weights.description.startswith("random") and weights.identity == "random"
    assert "RANDOM initialisation" in capsys.readouterr().err
    with pytest.raises(D2TLError, match="does not exist"):
        resolve(str(tmp_path / "missing.h5"))


def test_bad_configuration():
    with pytest.raises(D2TLError, match="below InceptionV3's minimum"):
        ModelConfig(input_size=64)
    with pytest.raises(D2TLError, match="architecture"):
        ModelConfig(architecture="triple")
