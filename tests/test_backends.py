"""Execution options (precision, XLA, strategy) and the JAX backend.

No TensorFlow training step here (tracing a full-tune step costs about two minutes on a CPU):
models are built and compiled, and the one training run happens in a JAX subprocess.
"""

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from d2tl.training import execution
from d2tl.model.graph import graph_key
from d2tl.training import arguments as train
from d2tl.training.engine import Engine
from d2tl.cli import build_parser
from d2tl.training.config import TrainConfig, experiment_config
from d2tl.io.errors import D2TLError
from d2tl.io.provenance import config_hash
from d2tl.training.run_folder import resolve_weights

ROOT = Path(__file__).resolve().parents[1]
CONFIG = experiment_config(model={"weights": "random"}, roi={"box": 128, "input_scale": 75 / 128},
                           augment={"alternatives": 1}, train={"runs": 1, "epochs": 1, "batch_size": 4},
                           preset="test")


@pytest.fixture
def own_engine():
    """An engine of the test's own (its compiled models, two InceptionV3s and Adam state each, go
    with it)."""
    return Engine()


def test_precision_and_jit_are_configuration():
    variants = [CONFIG, CONFIG.replace(train={"precision": "mixed"}), CONFIG.replace(train={"precision": "bfloat16"}),
                CONFIG.replace(train={"jit_compile": True})]
    assert len({config_hash(c.to_dict()) for c in variants}) == 4
    assert len({graph_key(c, 10) for c in variants}) == 4
    assert CONFIG.train.precision == "float32" and CONFIG.train.jit_compile is False
    for bad in ({"precision": "float16"}, {"precision": "half"}, {"jit_compile": "yes"}, {"deterministic": 1}):
        with pytest.raises(D2TLError):
            experiment_config(train=bad)
    assert execution.policy_name("mixed") == "mixed_float16"
    assert execution.policy_name("bfloat16") == "mixed_bfloat16"


def test_cli_flags_reach_the_configuration(tmp_path):
    args = build_parser("train").parse_args(["train", "--precision", "mixed", "--jit", "--nondeterministic",
                                             "--strategy", "mirrored"])
    config = train.config_from_args(args)
    assert (config.train.precision, config.train.jit_compile, config.train.deterministic) == ("mixed", True, False)
    assert args.strategy == "mirrored"
    default = train.config_from_args(build_parser("train").parse_args(["train"]))
    assert (default.train.precision, default.train.jit_compile, default.train.deterministic) == ("float32", False, True)
    with pytest.raises(SystemExit):
        build_parser("train").parse_args(["train", "--precision", "float16"])
    with pytest.raises(SystemExit):
        build_parser("train").parse_args(["train", "--strategy", "multiworker"])


def test_backend_specific_refusals(monkeypatch):
    with pytest.raises(D2TLError, match="--nondeterministic"):
        execution.check_support(TrainConfig(jit_compile=True))
    with pytest.raises(D2TLError, match="not one of"):
        execution.make_strategy("multiworker")
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(D2TLError, match="KERAS_BACKEND=tensorflow"):
        with execution.distribution("mirrored"):
            pass
    with execution.distribution("none") as strategy:
        assert strategy is None


def test_mixed_precision_and_xla_reach_the_compiled_model(own_engine):
    from tensorflow.python.framework.config import is_op_determinism_enabled

    config = CONFIG.replace(train={"precision": "mixed", "jit_compile": True, "deterministic": False})
    if is_op_determinism_enabled():  # switched on for good by an earlier deterministic run in this process
        with pytest.raises(D2TLError, match="turned XLA off"):
            own_engine.compiled_model(config, 1)
        return
    model, state = own_engine.compiled_model(config, 1)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert model.jit_compile is True
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # added by compile
    assert len(state) == len(model.optimizer.variables)
    conv = next(layer for layer in model.get_layer("backbone_le").layers if isinstance(layer, keras.layers.Conv2D))
    for layer in (conv, model.get_layer("abstraction_le")):
        assert layer.dtype_policy.name == "mixed_float16" and layer.compute_dtype == "float16"
        assert all(w.dtype == "float32" for w in layer.weights)
    assert model.get_layer("output").compute_dtype == "float32"
    assert model.outputs[0].dtype == "float32"
    assert model.get_layer("abstraction_le").output.dtype == "float16"


@pytest.mark.slow
def test_mirrored_strategy_compiles_and_resets_under_its_scope(own_engine):
    import tensorflow as tf

    with execution.distribution("mirrored", devices=["/cpu:0"]) as strategy:
        model, _ = own_engine.compiled_model(CONFIG, 1)
        assert model.distribute_strategy is strategy
        variables = model.weights + model.optimizer.variables
        assert all(strategy.extended.variable_created_in_scope(v.value) for v in variables)
        assert isinstance(model.weights[0].value, tf.distribute.DistributedValues)
        again, _ = own_engine.fresh_start(CONFIG, 0, 1, resolve_weights(CONFIG.model.weights))  # fresh weights copied into the mirrored variables
        assert again is model
        described = execution.describe()
    assert described["strategy"] == "mirrored" and described["replicas"] == 1
    assert described["devices"][0].endswith("CPU:0")
    assert execution.describe()["strategy"] == "none"  # restored after the block
    assert execution.strategy_key() not in {key[1] for key, (compiled, _) in own_engine.compiled.items()
                                            if compiled is model}


JAX_SCRIPT = textwrap.dedent("""
    import contextlib, io, json, sys
    from pathlib import Path

    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from conftest import write_tiny_cases
    from d2tl.cli import main
    from d2tl.training.config import TrainConfig, experiment_config
    from d2tl.training.predict import load_trained
    from d2tl.training.experiment import run_experiment
    from d2tl.training.run_folder import resolve_weights
    from d2tl.training.loop import predict_proba

    root = Path(sys.argv[1])
    cases = write_tiny_cases(root / "cases", n=8, rows=96, cols=80)
    error = io.StringIO()
    with contextlib.redirect_stderr(error):
        status = main(["train", "--cases", str(cases), "--out", str(root / "refused"), "--strategy", "mirrored"])
    config = experiment_config(**json.loads(sys.argv[2]))
    metrics = run_experiment(config, cases, root / "out", resolve_weights(config.model.weights), log=lambda line: None)
    model, _ = load_trained(Path(metrics["directory"]) / "model.keras")
    # Precise BN statistics under JAX: population mean and variance of a known input.
    import numpy as np
    from d2tl.model.precise_bn import PreciseBN
    from test_bn_stats import _nested_bn_model
    small = _nested_bn_model()
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(3.0, 2.0, (20, 6, 6, 3)).astype("float32"),
         "b": rng.normal(-1.0, 0.5, (20, 6, 6, 3)).astype("float32")}
    PreciseBN(small).update(x, batch_size=8)
    both = np.concatenate([x["a"], x["b"]]).astype(np.float64)
    bn = small.get_layer("backbone").get_layer("bn_first")
    errors = [float(np.abs(np.asarray(bn.moving_mean) - both.mean(axis=(0, 1, 2))).max()),
              float(np.abs(np.asarray(bn.moving_variance) - both.var(axis=(0, 1, 2))).max())]
    print("RESULT", json.dumps({"status": status, "error": error.getvalue(), "metrics": metrics,
                                "reloaded_layers": len(model.layers), "precise_errors": errors}))
""")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="jax is not installed (pip install 'jax[cpu]'; see requirements.txt)")
@pytest.mark.slow
def test_jax_backend_trains_full_tune_and_writes_results(tmp_path):
    """Model, augmentation, one full-tune run (one training step) with precise BN statistics, save
    and reload under JAX; precise statistics equal the population ones under JAX too."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           # XLA's CPU optimisations cost more compile time than this one step saves (85 s, not 170 s)
           "JAX_DISABLE_MOST_OPTIMIZATIONS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    spec = {"model": {"weights": "random", "tuning": "full"}, "roi": {"box": 128, "input_scale": 0.5},
            "augment": {"alternatives": 1}, "train": {"runs": 1, "epochs": 1, "batch_size": 4, "bn_stats": "precise"},
            "preset": "test"}
    done = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(tmp_path), json.dumps(spec)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["status"] == 2 and "KERAS_BACKEND=tensorflow" in result["error"]
    metrics = result["metrics"]
    assert metrics["provenance"]["execution"]["backend"] == "jax"
    assert metrics["provenance"]["execution"]["strategy"] == "none"
    assert metrics["provenance"]["config"]["model"]["tuning"] == "full"
    folder = Path(metrics["directory"])
    for name in ("model.keras", "model.d2tl.json", "predictions.csv", "history.csv", "runs.csv", "split.csv"):
        assert (folder / name).is_file(), name
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == 1 and history["bn_seconds"].iloc[0] > 0  # precise BN ran under JAX
    assert max(result["precise_errors"]) < 1e-5
    assert all(math.isfinite(history[k].iloc[0]) for k in ("loss", "val_loss", "accuracy", "val_accuracy"))
    predictions = pd.read_csv(folder / "predictions.csv")
    assert len(predictions) == metrics["selected"]["test"]["n"] > 0
    assert np.all((predictions["p_malignant"] >= 0) & (predictions["p_malignant"] <= 1))
    assert result["reloaded_layers"] > 10


def test_seeding_matches_keras_and_warns_on_an_untested_keras(monkeypatch):
    """One run's seeding (d2tl.model.seeding) leaves Python, NumPy and Keras's global seed as
    keras.utils.set_random_seed does; on a Keras it was not checked on it warns and uses that."""
    import random
    import warnings

    from keras.src.utils.rng_utils import get_random_seed

    from d2tl.model import seeding

    def state():
        return random.random(), float(np.random.random()), get_random_seed(), keras.random.uniform((1,)).numpy()[0]

    keras.utils.set_random_seed(123)
    expected = state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the tested version: no warning
        seeding.seed_everything(123, deterministic=False, seed_tensorflow=False)
    assert state() == expected
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    with pytest.warns(RuntimeWarning, match="Keras 3.99 is not one"):
        seeding.seed_everything(123, deterministic=False, seed_tensorflow=False)
    assert state() == expected
