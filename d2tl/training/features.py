"""Semi-tune through cached backbone features: the same training, without the backbones in the loop.

Under semi-tune both InceptionV3s are frozen and their BatchNormalization runs in inference mode,
so each backbone's 2048-D feature of an (already augmented) image is a fixed function of that
image. The augmented training and validation sets are fixed for a whole experiment
(:func:`d2tl.training.data.prepare_data`), so their features are computed once per run with one forward
pass (:func:`backbone_features`), and the epochs train only the head (:func:`head_model`)::

    le_cc, le_mlo -> feature_le -> dropout_le -> abstraction_le ─┐
    rec_cc, rec_mlo -> feature_rec -> dropout_rec -> abstraction_rec ─┴ abstraction -> dropout_head -> output

The head's layers carry the full model's names, so weights go back and forth by layer name, and
its Dropout layers start from the full model's seed-generator states, so they draw the same masks
(:meth:`d2tl.training.engine.Engine.start_head`). With the same epoch order, batches, optimiser and callbacks this is the
end-to-end training up to the floating-point rounding of the backbone pass (below 1e-5 in the
probabilities; ``tests/test_feature_cache.py``).

Randomly initialised backbones differ per run (each run has its own seed), so their features are
computed per run; ImageNet or file weights are the same in every run, and the features are then
computed once and kept in memory (:meth:`d2tl.training.engine.Engine.cached_features`, keyed by
:func:`fingerprint`, of the backbone weights and of the images).

This module builds the pieces; the engine keeps them (feature models, compiled heads, features).
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..model.wiring import ARCHITECTURES, backbone_of
from ..protocol.views import IMAGES, MODES, VIEWS

FEATURE_DIM = 2048  # InceptionV3's pooled feature
HEAD_LAYERS = (*(f"{kind}_{mode}" for mode in MODES for kind in ("feature", "dropout", "abstraction")),
               "abstraction", "dropout_head", "output")
MAX_CACHED = 2  # feature sets kept in memory (one per configuration in use is enough)


def _feature_tensors(model) -> dict:
    """Image key -> the full model's symbolic backbone output for that image.

    Taken where the head consumes them (the inputs of ``feature_<mode>``, in view order), and
    checked against :func:`d2tl.model.wiring.backbone_of` for the model's architecture.
    """
    tensors = {}
    for mode in MODES:
        inputs = model.get_layer(f"feature_{mode}").input
        for view, tensor in zip(VIEWS, inputs):
            tensors[f"{mode}_{view}"] = tensor
    if model.name in ARCHITECTURES:  # a model of build_model (named after its architecture)
        expected = backbone_of(model.name)
        for key, tensor in tensors.items():
            producer = tensor._keras_history[0].name
            if producer != expected[key]:
                raise RuntimeError(f"{key} is fed by {producer}, expected {expected[key]} for {model.name}")
    return tensors


def build_feature_model(model):
    """The full model's inputs -> its four backbone outputs (same layers, same variables)."""
    import keras

    extractor = keras.Model(inputs=model.input, outputs=_feature_tensors(model), name=f"{model.name}_features")
    extractor.jit_compile = False  # the same kernels as the full model's (compiled without XLA)
    return extractor


def features_of(extractor, x: dict, batch_size: int = 32) -> dict:
    """Image key -> (n, 2048) backbone features from a feature model for inputs ``x`` (one pass)."""
    out = extractor.predict({k: x[k] for k in IMAGES}, batch_size=batch_size, verbose=0)
    return {k: np.asarray(out[k], dtype=np.float32) for k in IMAGES}


def head_model(config, feature_dim: int = FEATURE_DIM):
    """The full model's head alone, on the four backbone features (inputs named like the images).

    Same layers, hyper-parameters and names as :func:`d2tl.model.build_model`'s head.
    """
    import keras

    from ..model import head

    inputs = {key: keras.Input((feature_dim,), name=key) for key in IMAGES}
    outputs = head(inputs, config)
    return keras.Model(inputs=inputs, outputs=outputs, name="head")


def feature_dim_of(model) -> int:
    """The width of one backbone feature of the full model (2048 for InceptionV3)."""
    return int(model.get_layer(f"feature_{MODES[0]}").input[0].shape[-1])


def copy_head(source, target) -> None:
    """Copy the head's weights and its Dropout layers' seed-generator states, by layer name."""
    for name in HEAD_LAYERS:
        a, b = source.get_layer(name), target.get_layer(name)
        if a.weights:
            b.set_weights(a.get_weights())
        if hasattr(a, "seed_generator"):
            b.seed_generator.state.assign(a.seed_generator.state.value)


def fingerprint(model, arrays: list) -> str:
    """Backbone weights (every weight outside the head) and the input images."""
    import keras

    digest = hashlib.blake2b(digest_size=16)
    digest.update(model.name.encode())
    for layer in model.layers:
        if layer.name in HEAD_LAYERS:
            continue
        for weight in layer.weights:
            value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
            digest.update(f"{layer.name}/{weight.path}{value.shape}{value.dtype}".encode())
            digest.update(memoryview(value).cast("B"))
    for x in arrays:
        for key in IMAGES:
            value = np.ascontiguousarray(x[key])
            digest.update(f"{key}{value.shape}{value.dtype}".encode())
            digest.update(memoryview(value).cast("B"))
    return digest.hexdigest()
