"""Semi-tune on cached backbone features is the end-to-end semi-tune, only faster.

- With the real InceptionV3 (dual-mode, 77 px, random weights): its backbone features are the
  model's own and the head on them is the model's head (forward passes only). Both training
  paths on the real model gave identical histories and probabilities (difference 0) when this was
  written; that comparison is left out of the suite because its end-to-end side costs minutes.
- With a tiny stand-in backbone (as in ``test_experiments.py``; Conv + frozen BatchNormalization),
  the whole protocol (:func:`d2tl.training.experiment.run_experiment`, 2 runs x 2 epochs) for each architecture,
  with per-run random backbones and with backbones that are the same in every run (features
  computed once and reused, like ImageNet weights).
"""

import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import d2tl.model
from d2tl.training.config import experiment_config
from d2tl.model.wiring import backbone_of
from d2tl.training import features as feature_cache
from d2tl.training.engine import Engine
from d2tl.training.experiment import run_experiment
from d2tl.training.run_folder import resolve_weights

from conftest import write_tiny_cases

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG = experiment_config(model={"weights": "random", "tuning": "semi"}, roi={"box": 128, "input_scale": 0.6},
                           augment={"alternatives": 1}, train={"runs": 1, "epochs": 2, "batch_size": 8},
                           preset="test")
TOLERANCE = 1e-5
HISTORY = ["loss", "accuracy", "val_loss", "val_accuracy"]


def silent(line):
    pass


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("feature-cache-cases"), n=12, rows=96, cols=80)


@pytest.fixture(scope="module")
def real():
    """An engine holding the real dual-mode InceptionV3 (77 px, random weights), compiled but never
    trained: the unit tests below need its forward passes only (an end-to-end training step costs
    minutes here)."""
    engine = Engine()
    engine.compiled_model(CONFIG, 1)
    return engine


def _max_difference(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))))


def _model_and_inputs(engine, n=2):  # 2 = the test set's size: no new trace of predict
    model, _ = engine.compiled_model(CONFIG, 1)  # constant schedule: any step count names the same graph
    rng = np.random.default_rng(1)
    s = CONFIG.model.input_size
    return model, {k: rng.random((n, s, s, 1), dtype=np.float32) for k in model.input}


@pytest.mark.slow
def test_backbone_features_are_the_models_own(real):
    model, x = _model_and_inputs(real)
    features = real.backbone_features(model, x)
    mapping = backbone_of(CONFIG.model.architecture)
    assert mapping == {"le_cc": "backbone_le", "le_mlo": "backbone_le", "rec_cc": "backbone_rec",
                       "rec_mlo": "backbone_rec"}
    for key, backbone in mapping.items():
        rgb = np.repeat(x[key], 3, axis=-1) * 2.0 - 1.0  # the model's grey_to_rgb and inception_scaling
        direct = keras.ops.convert_to_numpy(model.get_layer(backbone)(rgb, training=False))
        assert features[key].shape == (2, 2048)
        np.testing.assert_allclose(features[key], direct, atol=1e-5)
    assert not np.allclose(features["le_cc"], features["le_mlo"])  # each view its own image


@pytest.mark.slow
def test_head_is_the_full_models_head(real):
    model, x = _model_and_inputs(real)
    head = feature_cache.head_model(CONFIG.model)
    for name in feature_cache.HEAD_LAYERS:
        full_config, head_config = model.get_layer(name).get_config(), head.get_layer(name).get_config()
        assert {k: v for k, v in full_config.items() if k != "seed"} == \
               {k: v for k, v in head_config.items() if k != "seed"}, name
    feature_cache.copy_head(model, head)
    difference = _max_difference(head.predict(real.backbone_features(model, x), verbose=0),
                                 model.predict(x, verbose=0))
    print(f"\nhead on cached features vs full model: {difference:.3g}")
    assert difference < 1e-6
    for name in ("dropout_le", "dropout_rec", "dropout_head"):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(head.get_layer(name).seed_generator.state),
                                      keras.ops.convert_to_numpy(model.get_layer(name).seed_generator.state))


def test_features_are_reused_only_for_the_same_backbones_and_images(real):
    model, x = _model_and_inputs(real)
    real.features.clear()
    first, _, reused = real.cached_features(model, [x])
    assert reused is False
    again, _, reused = real.cached_features(model, [x])
    assert reused is True and again is first
    other = {k: v.copy() for k, v in x.items()}
    other["rec_mlo"][0, 0, 0, 0] += 0.5
    assert real.cached_features(model, [other])[2] is False
    kernel = model.get_layer("backbone_le").weights[0]
    saved = keras.ops.convert_to_numpy(kernel)
    try:
        kernel.assign(saved * 1.01)
        changed, _, reused = real.cached_features(model, [x])
        assert reused is False and not np.allclose(changed[0]["le_cc"], first[0]["le_cc"])
        np.testing.assert_array_equal(changed[0]["rec_cc"], first[0]["rec_cc"])  # the other backbone
    finally:
        kernel.assign(saved)


# --- the whole protocol with a stand-in backbone, every architecture

def stub_backbone(input_size, weights, name, seed=None):
    """A tiny CNN in InceptionV3's place (8-D feature), with a BatchNormalization that semi-tune freezes."""
    inputs = keras.Input((input_size, input_size, 3))
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu",
                            kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
    x = keras.layers.BatchNormalization(moving_mean_initializer="ones",
                                        moving_variance_initializer=keras.initializers.Constant(2.0))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(8, kernel_initializer=keras.initializers.GlorotUniform(seed))(x),
                       name=name)


def fixed_stub(input_size, weights, name):
    """The same weights in every run (like ImageNet or a weights file)."""
    return stub_backbone(input_size, weights, name, seed=sum(map(ord, name)))


@pytest.fixture
def stubbed(monkeypatch):
    """Stand-in backbones (monkeypatch, restored afterwards); each test trains in its own engine."""
    return monkeypatch


def _both_paths(config, cases, out):
    results, engine = {}, Engine()  # both paths in one engine: the cached one reuses the compiled model
    for path in ("e2e", "cached"):
        metrics = run_experiment(config, cases, out / path, resolve_weights(config.model.weights), log=silent, feature_cache=path == "cached",
                                 engine=engine)
        folder = Path(metrics["directory"])
        runs = [json.loads((folder / f"run_{r:02d}" / "summary.json").read_text()) for r in range(config.train.runs)]
        results[path] = {"metrics": metrics, "folder": folder, "runs": runs,
                         "history": pd.read_csv(folder / "history.csv"),
                         "predictions": pd.read_csv(folder / "predictions.csv")}
    return results["e2e"], results["cached"]


@pytest.mark.parametrize("architecture,backbones", [("dual_mode", "random"), ("simple_pooling", "random"),
                                                    ("separate", "random"), ("dual_mode", "fixed")])
def test_whole_protocol_same_results(stubbed, cases, tmp_path, architecture, backbones):
    stubbed.setattr(d2tl.model, "build_backbone", stub_backbone if backbones == "random" else fixed_stub)
    config = CONFIG.replace(model={"architecture": architecture}, train={"runs": 2})
    e2e, cached = _both_paths(config, cases, tmp_path)
    assert e2e["folder"].name == cached["folder"].name  # the path is not part of the configuration
    history = _max_difference(e2e["history"][HISTORY], cached["history"][HISTORY])
    probabilities = max(_max_difference(e2e["predictions"]["p_malignant"], cached["predictions"]["p_malignant"]),
                        *(_max_difference(a["test_probabilities"], b["test_probabilities"])
                          for a, b in zip(e2e["runs"], cached["runs"])))
    print(f"\n{architecture}, {backbones} stand-in backbones: max history difference {history:.3g}, "
          f"max test probability difference {probabilities:.3g}")
    assert history < TOLERANCE and probabilities < TOLERANCE
    assert len(cached["history"]) == 4
    assert e2e["metrics"]["selected"]["run"] == cached["metrics"]["selected"]["run"]
    assert e2e["metrics"]["selected"]["epoch"] == cached["metrics"]["selected"]["epoch"]
    assert [r["epoch"] for r in e2e["runs"]] == [r["epoch"] for r in cached["runs"]]
    assert [r["semi_tune_path"] for r in e2e["runs"]] == ["end to end"] * 2
    assert [r["semi_tune_path"] for r in cached["runs"]] == ["cached features"] * 2
    # Random backbones differ per run (features per run); fixed ones are shared (computed once).
    assert [r["features_reused"] for r in cached["runs"]] == [False, backbones == "fixed"]
    assert (e2e["folder"] / "model.keras").is_file() and (cached["folder"] / "model.keras").is_file()


def test_a_used_engine_gives_a_fresh_engines_results(stubbed, cases, tmp_path):
    """Compiled-model reuse changes nothing: a full-tune configuration trained in a fresh engine,
    and in a used one after a configuration of the same graph (its compiled model reused, weights,
    optimiser and dropout seeds reset) and one of another graph, gives the same history, selected
    epoch and predictions."""
    stubbed.setattr(d2tl.model, "build_backbone", stub_backbone)
    config = CONFIG.replace(model={"tuning": "full"}, train={"runs": 2, "epochs": 3})
    same_graph = config.replace(train={"seed": 7}, augment_seed=1)
    other_graph = config.replace(model={"head_dropout": 0.3})
    fresh = run_experiment(config, cases, tmp_path / "fresh", resolve_weights(config.model.weights), log=silent, engine=Engine())
    used = Engine()
    for earlier in (same_graph, other_graph):
        run_experiment(earlier, cases, tmp_path / "used", resolve_weights(earlier.model.weights), log=silent, engine=used)
    assert used.graphs == 2
    again = run_experiment(config, cases, tmp_path / "used", resolve_weights(config.model.weights), log=silent, engine=used)
    assert used.graphs == 2  # the first configuration's compiled model served it
    assert again["selected"] == fresh["selected"]
    for name in ("history.csv", "predictions.csv"):
        a, b = (pd.read_csv(Path(m["directory"]) / name) for m in (fresh, again))
        timing = [c for c in a if c.endswith("seconds")]
        pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))
