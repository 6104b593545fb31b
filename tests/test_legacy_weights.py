"""The downloaded ImageNet file's format: a legacy Keras 2 HDF5 weights file.

Keras's published ``inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`` was written by
Keras 2's ``save_weights``: top-level attributes ``layer_names`` (every layer, weightless ones
included), ``keras_version`` (2.x) and ``backend`` (``tensorflow``); one group per layer with a
``weight_names`` attribute (``conv2d_1/kernel:0``, ``batch_normalization_1/beta:0``, ...), each
weight a dataset at that path inside the group. Keras 3 loads it by order. This test writes such a
file with h5py, with values that name their layer, puts it where Keras keeps downloads
(``$KERAS_HOME/models/``) and loads it the way a downloaded file is loaded: ``resolve("imagenet")``
with the file's MD5, then the model build. Every backbone weight must hold its layer's values.
"""

from __future__ import annotations

import hashlib
import re

import h5py
import numpy as np
import pytest

from d2tl.model import ModelConfig, build_model
from d2tl.model.weights import IMAGENET_FILE, resolve


def keras2_names(model) -> list[str]:
    """Keras 2's automatic layer names: ``<class in snake case>_<k>``, k from 1 per class, in
    layer order; explicit names (``mixed0``, ...) kept."""
    counts, names = {}, []
    for layer in model.layers:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower().replace("2_d", "2d")
        if re.fullmatch(rf"{snake}(_\d+)?", layer.name):
            keras2 = "input" if snake == "input_layer" else snake  # Keras 2 named its inputs input_1
            counts[keras2] = counts.get(keras2, 0) + 1
            names.append(f"{keras2}_{counts[keras2]}")
        else:
            names.append(layer.name)
    return names


def write_keras2_file(path, model) -> dict:
    """``model``'s layout as Keras 2 saved it; every weight filled from a generator seeded by its
    layer's position (variances positive). Returns layer name -> its written arrays."""
    written = {}
    with h5py.File(path, "w") as f:
        names = keras2_names(model)
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
        f.attrs["backend"] = np.bytes_(b"tensorflow")  # fixed-length byte strings, as h5py 2 wrote them
        f.attrs["keras_version"] = np.bytes_(b"2.1.2")
        for k, (layer, name) in enumerate(zip(model.layers, names)):
            group = f.create_group(name)
            weight_names = [f"{name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = np.array([w.encode("utf8") for w in weight_names], dtype="S")
            rng = np.random.default_rng(k)
            values = [np.abs(rng.normal(size=w.shape)).astype("float32") + 0.5 if "variance" in w.name
                      else rng.normal(size=w.shape).astype("float32") for w in layer.weights]
            for weight_name, value in zip(weight_names, values):
                group.create_dataset(weight_name, data=value)
            if values:
                written[name] = values
    return written


@pytest.fixture
def legacy_file(tmp_path, monkeypatch):
    """The Keras 2 file at ``$KERAS_HOME/models/<published name>`` and what it holds."""
    import keras

    monkeypatch.delenv("D2TL_TEST_BACKBONE", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    layout = keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3))
    path = tmp_path / "keras" / "models" / IMAGENET_FILE
    path.parent.mkdir(parents=True)
    written = write_keras2_file(path, layout)
    with h5py.File(path, "r") as f:  # the published layout, as Keras 2 wrote it
        assert f.attrs["keras_version"].startswith(b"2.") and f.attrs["backend"] == b"tensorflow"
        assert "conv2d_1/kernel:0" in f["conv2d_1"] and "input_1" in [n.decode() for n in f.attrs["layer_names"]]
        assert f["batch_normalization_94"].attrs["weight_names"].tolist() == [
            b"batch_normalization_94/beta:0", b"batch_normalization_94/moving_mean:0",
            b"batch_normalization_94/moving_variance:0"]
    return path, written, hashlib.md5(path.read_bytes()).hexdigest()


def test_a_keras2_imagenet_file_loads_into_the_right_layers(legacy_file):
    path, written, md5 = legacy_file
    weights = resolve("imagenet", expected_md5=md5)
    assert weights.kind == "imagenet" and weights.path == str(path) and weights.digest == f"md5:{md5}"
    model, source = build_model(ModelConfig(architecture="dual_mode", input_size=75, weights="imagenet"), weights)
    assert source.startswith("imagenet (") and str(path) in source
    for backbone in ("backbone_le", "backbone_rec"):
        loaded = [layer for layer in model.get_layer(backbone).layers if layer.weights]
        assert len(loaded) == len(written) == 188  # 94 convolutions and their 94 BatchNormalizations
        for layer, (name, values) in zip(loaded, written.items()):
            assert type(layer).__name__.lower().startswith(name.split("_")[0]), (layer.name, name)
            for variable, value in zip(layer.weights, values):
                np.testing.assert_array_equal(np.asarray(variable), value, err_msg=f"{backbone} {layer.name} {name}")
    first = model.get_layer("backbone_le").get_layer(index=1)  # the first convolution, Keras 2's conv2d_1
    assert np.array_equal(np.asarray(first.kernel), written["conv2d_1"][0])


def test_a_keras2_file_failing_its_hash_is_refused(legacy_file):
    from d2tl.io.errors import D2TLError

    with pytest.raises(D2TLError, match="fails its hash check"):
        resolve("imagenet", expected_md5="0" * 32)
