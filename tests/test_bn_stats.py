"""BatchNormalization statistics: precise re-estimation (bn_stats) and frozen-BN semantics (frozen_bn)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import stub_backbone, write_tiny_cases
from d2tl.training.config import experiment_config
from d2tl.io.errors import D2TLError
from d2tl.training.predict import predict_cases
from d2tl.training.experiment import run_experiment
from d2tl.training.run_folder import resolve_weights

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# Dual-mode, full-tune, 75 px at the quick preset's learning rate. bn_stats is not part of the
# graph, so MOVING and PRECISE share one compiled model. At the default 1e-4 two steps hardly move
# the random head: on the CI machine precise outputs then spread by only 2.1e-3 (below the floor),
# at 1e-3 by 0.41 here, while moving ones stay near 1e-5 either way.
MOVING = experiment_config(model={"weights": "random"}, roi={"box": 128, "input_scale": 0.5},
                           augment={"alternatives": 1},
                           train={"runs": 1, "epochs": 2, "batch_size": 8, "learning_rate": 1e-3},
                           preset="test")
PRECISE = MOVING.replace(train={"bn_stats": "precise"})
SPREAD_FLOOR = 0.01  # SD of p_malignant across cases: above it = "varies"; moving stays far below


def _nested_bn_model(channels=3):
    """Two images through one shared sub-model (Conv -> BN -> BN), like dual-mode's shared backbone."""
    import keras

    inner_in = keras.Input((6, 6, channels))
    x = keras.layers.BatchNormalization(name="bn_first")(inner_in)
    x = keras.layers.Conv2D(4, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn_second")(x)
    inner = keras.Model(inner_in, keras.layers.GlobalAveragePooling2D()(x), name="backbone")
    a, b = keras.Input((6, 6, channels), name="a"), keras.Input((6, 6, channels), name="b")
    out = keras.layers.Dense(2)(keras.layers.Concatenate()([inner(a), inner(b)]))
    return keras.Model({"a": a, "b": b}, out)


def test_precise_statistics_equal_the_population_statistics():
    from d2tl.model.precise_bn import PreciseBN

    keras = pytest.importorskip("keras")
    model = _nested_bn_model()
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(3.0, 2.0, (20, 6, 6, 3)).astype("float32"),
         "b": rng.normal(-1.0, 0.5, (20, 6, 6, 3)).astype("float32")}
    pbn = PreciseBN(model)
    assert [len(t) for _, t in pbn.calls] == [2]  # one shared backbone, two calls
    pbn.update(x, batch_size=8)  # batches of 8, 8, 4: weighted by size
    both = np.concatenate([x["a"], x["b"]]).astype(np.float64)
    first = model.get_layer("backbone").get_layer("bn_first")
    np.testing.assert_allclose(np.asarray(first.moving_mean), both.mean(axis=(0, 1, 2)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(first.moving_variance), both.var(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
    # The second layer sees its input in training mode (the first normalised with batch statistics).
    inner = model.get_layer("backbone")
    probe = keras.Model(inner.inputs, inner.get_layer("bn_second").input)
    seen = np.concatenate([np.asarray(probe(v[i:i + 8], training=True)) for v in (x["a"], x["b"])
                           for i in range(0, 20, 8)]).astype(np.float64)
    second = inner.get_layer("bn_second")
    np.testing.assert_allclose(np.asarray(second.moving_mean), seen.mean(axis=(0, 1, 2)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(second.moving_variance), seen.var(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)


def test_frozen_backbones_are_not_re_estimated():
    from d2tl.model.precise_bn import PreciseBN

    model = _nested_bn_model()
    model.get_layer("backbone").trainable = False
    assert not PreciseBN(model)


def test_options_are_validated():
    with pytest.raises(D2TLError, match="bn_stats 'exact'"):
        experiment_config(train={"bn_stats": "exact"})
    with pytest.raises(D2TLError, match="bn_samples"):
        experiment_config(train={"bn_samples": -1})
    with pytest.raises(D2TLError, match="frozen_bn 'keras1'"):
        experiment_config(model={"frozen_bn": "keras1"})
    assert PRECISE.to_dict()["train"]["bn_stats"] == "precise"  # hashed with the configuration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("bn-cases"), n=12, rows=96, cols=80)


def _scored(folder, cases) -> pd.DataFrame:
    """The saved model's p_malignant for all twelve cases (train, validation and test)."""
    return predict_cases(folder / "model.keras", cases)


@pytest.mark.slow
def test_precise_outputs_vary_and_moving_ones_are_constant(tiny, tmp_path, engine):
    """From random weights after 1 run x 2 epochs of 1 step at lr 1e-3: inference outputs at 75 px."""
    moving = run_experiment(MOVING, tiny, tmp_path, resolve_weights(MOVING.model.weights), log=lambda line: None, engine=engine)
    precise = run_experiment(PRECISE, tiny, tmp_path, resolve_weights(PRECISE.model.weights), log=lambda line: None, engine=engine)
    m_folder, p_folder = (tmp_path / r["directory"].split("/")[-1] for r in (moving, precise))
    assert m_folder != p_folder
    scored = _scored(p_folder, tiny)
    sd_moving, sd_precise = float(_scored(m_folder, tiny)["p_malignant"].std()), float(scored["p_malignant"].std())
    print(f"\nprediction SD across cases: moving {sd_moving:.2e}, precise {sd_precise:.2e}")
    assert sd_moving < SPREAD_FLOOR / 10 < SPREAD_FLOOR < sd_precise
    history = pd.read_csv(p_folder / "history.csv")
    assert (history["bn_seconds"] > 0).all() and "bn_seconds" not in pd.read_csv(m_folder / "history.csv")
    # The saved model carries the re-estimated statistics: reloaded, it predicts what training wrote.
    saved = pd.read_csv(p_folder / "predictions.csv")
    scored = saved[["id"]].merge(scored, on="id")
    np.testing.assert_allclose(saved["p_malignant"], scored["p_malignant"], atol=1e-5)
    assert precise["mean_bn_seconds"] > 0


@pytest.mark.parametrize("frozen_bn", ["inference", "keras2"])
def test_frozen_bn_semantics(frozen_bn, monkeypatch):
    """keras2: a frozen BN layer uses batch statistics in fit and keeps its moving statistics;
    inference: moving statistics throughout. Neither trains the backbone."""
    import keras

    import d2tl.model
    from d2tl.model import ModelConfig, build_model

    monkeypatch.setattr(d2tl.model, "build_backbone", stub_backbone)
    model, _ = build_model(ModelConfig(input_size=75, weights="random", tuning="semi", frozen_bn=frozen_bn), resolve_weights("random"))
    bn = next(layer for layer in model.get_layer("backbone_le").layers
              if isinstance(layer, keras.layers.BatchNormalization))
    rng = np.random.default_rng(0)
    x = {k: rng.random((8, 75, 75, 1)).astype("float32") for k in ("le_cc", "le_mlo", "rec_cc", "rec_mlo")}
    features = keras.Model(model.inputs, model.get_layer("feature_le").output)  # before any dropout
    in_fit, at_inference = (np.asarray(features(x, training=t)) for t in (True, False))
    before = [np.array(v) for v in bn.weights] + [np.array(w) for w in model.get_layer("backbone_le").weights]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="categorical_crossentropy")
    model.fit(x, np.eye(2)[np.arange(8) % 2], batch_size=4, epochs=2, verbose=0)
    after = [np.array(v) for v in bn.weights] + [np.array(w) for w in model.get_layer("backbone_le").weights]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)  # moving statistics and every backbone weight unchanged
    assert {w.name for w in model.trainable_weights} <= {"kernel", "bias"}
    assert len(model.trainable_weights) == 6  # the three dense layers only
    if frozen_bn == "keras2":
        assert np.abs(in_fit - at_inference).max() > 1e-3  # batch statistics in fit
    else:
        np.testing.assert_allclose(in_fit, at_inference, atol=1e-6)
