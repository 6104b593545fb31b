"""Semi-tune through cached backbone features: the same training, without the backbones in the loop.

Under semi-tune both InceptionV3s are frozen and their BatchNormalization runs in inference mode,
so each backbone's 2048-D feature of an (already augmented) image is a fixed function of that
image. The augmented training and validation sets are fixed for a whole experiment
(:func:`d2tl.train.prepare_data`), so their features are computed once per run with one forward
pass (:func:`backbone_features`), and the epochs train only the head (:func:`head_model`)::

    le_cc, le_mlo -> feature_le -> dropout_le -> abstraction_le ─┐
    rec_cc, rec_mlo -> feature_rec -> dropout_rec -> abstraction_rec ─┴ abstraction -> dropout_head -> output

The head's layers carry the full model's names, so weights go back and forth by layer name, and
its Dropout layers start from the full model's seed-generator states, so they draw the same masks
(:func:`start_head`). With the same epoch order, batches, optimiser and callbacks this is the
end-to-end training up to the floating-point rounding of the backbone pass (below 1e-5 in the
probabilities; ``tests/test_feature_cache.py``).

Randomly initialised backbones differ per run (each run has its own seed), so their features are
computed per run; ImageNet or file weights are the same in every run, and the features are then
computed once and kept in memory (:func:`cached_features`, keyed by a fingerprint of the backbone
weights and of the images).
"""

from __future__ import annotations

import collections
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from .provenance import config_hash
from .views import IMAGES, MODES, VIEWS

FEATURE_DIM = 2048  # InceptionV3's pooled feature
HEAD_LAYERS = (*(f"{kind}_{mode}" for mode in MODES for kind in ("feature", "dropout", "abstraction")),
               "abstraction", "dropout_head", "output")
MAX_CACHED = 2  # feature sets kept in memory (one per configuration in use is enough)

_FEATURE_MODELS: dict = {}  # id(full model) -> (full model, its feature model)
_HEADS: dict = {}  # head graph key -> (compiled head model, its optimiser's initial state)
_FEATURES: collections.OrderedDict = collections.OrderedDict()  # fingerprint -> list of feature dicts


def backbone_of(architecture: str) -> dict:
    """Image key -> name of the backbone that sees it (as :func:`d2tl.model.build_model` wires them)."""
    if architecture == "dual_mode":
        return {key: f"backbone_{key.split('_')[0]}" for key in IMAGES}
    if architecture == "simple_pooling":
        return {key: "backbone" for key in IMAGES}
    return {key: f"backbone_{key}" for key in IMAGES}


def _feature_tensors(model) -> dict:
    """Image key -> the full model's symbolic backbone output for that image.

    Taken where the head consumes them (the inputs of ``feature_<mode>``, in view order), and
    checked against :func:`backbone_of` for the model's architecture.
    """
    tensors = {}
    for mode in MODES:
        inputs = model.get_layer(f"feature_{mode}").input
        for view, tensor in zip(VIEWS, inputs):
            tensors[f"{mode}_{view}"] = tensor
    from .model import ARCHITECTURES

    if model.name in ARCHITECTURES:  # a model of build_model (named after its architecture)
        expected = backbone_of(model.name)
        for key, tensor in tensors.items():
            producer = tensor._keras_history[0].name
            if producer != expected[key]:
                raise RuntimeError(f"{key} is fed by {producer}, expected {expected[key]} for {model.name}")
    return tensors


def feature_model(model):
    """The full model's inputs -> its four backbone outputs (same layers, same variables).

    Built once per full model, so its predict function is traced once per process and graph.
    """
    import keras

    entry = _FEATURE_MODELS.get(id(model))
    if entry is None or entry[0] is not model:
        extractor = keras.Model(inputs=model.input, outputs=_feature_tensors(model),
                                name=f"{model.name}_features")
        extractor.jit_compile = False  # the same kernels as the full model's (compiled without XLA)
        entry = _FEATURE_MODELS[id(model)] = (model, extractor)
    return entry[1]


def backbone_features(model, x: dict, batch_size: int = 32) -> dict:
    """Image key -> (n, 2048) backbone features of the full ``model`` for inputs ``x`` (one pass)."""
    out = feature_model(model).predict({k: x[k] for k in IMAGES}, batch_size=batch_size, verbose=0)
    return {k: np.asarray(out[k], dtype=np.float32) for k in IMAGES}


def head_model(config, feature_dim: int = FEATURE_DIM):
    """The full model's head alone, on the four backbone features (inputs named like the images).

    Same layers, hyper-parameters and names as :func:`d2tl.model.build_model`'s head.
    """
    import keras

    from .model import head

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


def _head_key(config, total_steps: int, feature_dim: int) -> str:
    model = {k: getattr(config.model, k) for k in ("feature_dropout", "head_dropout", "dense_units",
                                                   "dense_activation")}
    train = {k: getattr(config.train, k) for k in ("optimizer", "learning_rate", "schedule", "precision",
                                                   "jit_compile")}
    return config_hash({"head": model, "train": train, "feature_dim": feature_dim,
                        "steps": total_steps if config.train.schedule != "constant" else None})


def compiled_head(config, total_steps: int, feature_dim: int = FEATURE_DIM):
    """The process's compiled head for ``config`` (built once), and its optimiser's initial state."""
    import keras

    from .train import _make_optimizer

    from . import execution

    key = (_head_key(config, total_steps, feature_dim), execution.strategy_key())
    if key not in _HEADS:  # built like train.compiled_model: same dtype policy, strategy and XLA setting
        with execution.strategy_scope(), execution.precision_scope(config.train.precision):
            head = head_model(config.model, feature_dim)
            head.compile(optimizer=_make_optimizer(config.train, total_steps), loss="categorical_crossentropy",
                         metrics=["accuracy"], jit_compile=execution.effective_jit(config.train.jit_compile))
            head.optimizer.build(head.trainable_variables)
        _HEADS[key] = (head, [keras.ops.convert_to_numpy(v) for v in head.optimizer.variables])
    return _HEADS[key]


def start_head(model, config, total_steps: int):
    """The compiled head in the state of ``model``'s head: weights, dropout seeds, fresh optimiser."""
    head, optimizer_state = compiled_head(config, total_steps, feature_dim_of(model))
    for variable, value in zip(head.optimizer.variables, optimizer_state):
        variable.assign(value)
    copy_head(model, head)
    return head


def _fingerprint(model, arrays: list) -> str:
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


def cached_features(model, arrays: list, batch_size: int = 32) -> tuple[list, float, bool]:
    """Backbone features of each inputs dict in ``arrays``: (features, seconds, reused).

    Computed with one pass per dict, or reused from memory when the backbone weights and the
    images are those of an earlier call (ImageNet or file weights: every run of a configuration).
    """
    start = time.perf_counter()
    key = _fingerprint(model, arrays)
    if key in _FEATURES:
        _FEATURES.move_to_end(key)
        return _FEATURES[key], time.perf_counter() - start, True
    features = [backbone_features(model, x, batch_size) for x in arrays]
    _FEATURES[key] = features
    while len(_FEATURES) > MAX_CACHED:
        _FEATURES.popitem(last=False)
    return features, time.perf_counter() - start, False


def compare_paths(config, cases_csv, out, repeats: int = 2, log=print) -> dict:
    """Time semi-tune end to end and on cached features on the same configuration and data.

    Each path is run ``repeats`` times in this process, alternating, each into its own folder
    under ``out`` (``out/<path>_<repeat>``); the first repeat of each path pays its graph traces
    (full model's training step, or the feature extractor's and head's), later ones do not. The
    in-memory feature store is emptied before each repeat, so every cached repeat extracts its
    features. Returns per path and repeat: the wall seconds of :func:`d2tl.train.run_experiment`,
    the training-loop seconds, the feature seconds, the epoch seconds; and the largest differences
    between the paths in history and test probabilities.
    """
    from .data.cases import load_cases
    from .data.roi import extract_rois
    from .train import run_experiment

    import pandas as pd

    if config.model.tuning != "semi":
        raise ValueError("compare_paths needs a semi-tune configuration")
    out = Path(out)
    table = load_cases(cases_csv)
    rois = extract_rois(table, config.roi, seed=config.shift_seed)
    timings, results = [], {}
    for repeat in range(repeats):
        for path in ("end to end", "cached features"):
            _FEATURES.clear()
            start = time.perf_counter()
            metrics = run_experiment(config, cases_csv, out / f"{path.split()[0]}_{repeat}", log=log, table=table,
                                     rois=rois, feature_cache=path == "cached features")
            wall = time.perf_counter() - start
            folder = Path(metrics["directory"])
            runs = [json.loads((folder / f"run_{r:02d}" / "summary.json").read_text()) for r in range(config.train.runs)]
            history = pd.read_csv(folder / "history.csv")
            timings.append({"path": path, "repeat": repeat, "wall_seconds": wall,
                            "train_seconds": sum(r["train_seconds"] for r in runs),
                            "feature_seconds": sum(r.get("feature_seconds", 0.0) for r in runs),
                            "epoch_seconds": [round(s, 3) for s in history["seconds"]]})
            results[path] = (history, runs)
            log(f"== {path}, repeat {repeat}: {wall:.1f} s wall, training loop {timings[-1]['train_seconds']:.1f} s, "
                f"features {timings[-1]['feature_seconds']:.1f} s, epochs {timings[-1]['epoch_seconds']}")
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    (h_a, runs_a), (h_b, runs_b) = results["end to end"], results["cached features"]
    return {"timings": timings,
            "max_history_difference": float(np.max(np.abs(h_a[columns].to_numpy() - h_b[columns].to_numpy()))),
            "max_probability_difference": float(max(np.max(np.abs(np.subtract(a["test_probabilities"],
                                                                              b["test_probabilities"])))
                                                    for a, b in zip(runs_a, runs_b))),
            "selected_epochs": {"end to end": [r["epoch"] for r in runs_a],
                                "cached features": [r["epoch"] for r in runs_b]}}

