"""The interpretation on both Keras backends: the gradient function's TensorFlow path against
finite differences, and eq. (1), eq. (2) and Grad-CAM under JAX (a subprocess) against
TensorFlow (this process) from the same saved model and inputs."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from d2tl.interpret.gradcam import grad_cam, gradcam_model  # noqa: E402
from d2tl.interpret.gradients import compiled, numpy, tensor, value_and_grad  # noqa: E402
from d2tl.interpret.influence import pixel_influence  # noqa: E402
from d2tl.interpret.representation import RepresentationConfig, class_representations  # noqa: E402
from d2tl.protocol.views import IMAGES  # noqa: E402
from d2tl.training.run_folder import resolve_weights

ROOT = Path(__file__).resolve().parents[1]
SIZE = 75
# a few steps of each solver: enough to move the images, few enough that float32 differences
# between the backends' kernels stay at rounding level (the normalised step divides by max|g|)
# (from noise: at mid-grey the stand-in's ReLUs see exactly 0, where their gradient is 0)
SOLVERS = {"normalised": {"steps": 5, "step_size": 0.05, "start": "noise"},
           "adam_sigmoid": {"steps": 5, "step_size": 0.05, "optimizer": "adam", "parametrisation": "sigmoid",
                            "penalty": "pixel", "lam": 1e-3}}
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_value_and_grad_matches_finite_differences_and_zeroes_unused_inputs():
    """The TensorFlow path (this process's backend) of the one gradient function; compiled too."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=(2,)).astype(np.float32)

    def fn(args):
        x, unused = args["x"], args["unused"]
        value = keras.ops.sum(keras.ops.sin(x) * keras.ops.square(x))
        return value, x[0, 0]

    def f64(x):
        return float(np.sum(np.sin(x) * x ** 2))

    for function in (lambda args: value_and_grad(fn, args), compiled(lambda args: value_and_grad(fn, args))):
        aux, grads = function({"x": tensor(a), "unused": tensor(b)})
        g = numpy(grads["x"])
        assert float(numpy(aux)) == pytest.approx(float(a[0, 0]))
        np.testing.assert_array_equal(numpy(grads["unused"]), np.zeros_like(b))
        x = a.astype(np.float64)
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = 1e-6
            numeric[i] = (f64(x + step) - f64(x - step)) / 2e-6
        np.testing.assert_allclose(g, numeric, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(g, np.cos(x) * x ** 2 + 2 * x * np.sin(x), rtol=1e-5, atol=1e-6)


def tiny_backbone(input_size, weights, name):
    """InceptionV3's stand-in with a "mixed10" layer (a 4x4 feature map at 75 px), as in test_interpret."""
    inp = keras.Input((input_size, input_size, 3))
    x = layers.Conv2D(4, 5, strides=4, activation="relu", kernel_initializer=keras.initializers.HeNormal(1))(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(6, 3, strides=2, activation="relu", name="mixed10",
                      kernel_initializer=keras.initializers.HeNormal(2))(x)
    return keras.Model(inp, layers.GlobalAveragePooling2D()(x), name=name)


def interpretation(model, x) -> dict:
    """eq. (2), Grad-CAM and eq. (1) of ``model`` as one flat dict of arrays (run on either backend)."""
    out = {}
    w, score = pixel_influence(model, x)
    out["score"] = score
    out.update({f"influence_{k}": w[k] for k in IMAGES})
    maps, cam_score, _ = grad_cam(gradcam_model(model, "mixed10"), x)
    out["gradcam_score"] = cam_score
    out.update({f"gradcam_{k}": maps[k] for k in IMAGES})
    for name, settings in SOLVERS.items():
        rep = class_representations(model, RepresentationConfig(**settings))
        out[f"{name}_history"] = rep.history[["score", "data", "reg", "loss"]].to_numpy()
        out.update({f"{name}_{k}": rep.images[k] for k in IMAGES})
    return out


JAX_SCRIPT = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    assert keras.config.backend() == "jax", keras.config.backend()
    from test_interpret_backends import interpretation
    folder = sys.argv[1]
    model = keras.saving.load_model(f"{folder}/model.keras")
    x = dict(np.load(f"{folder}/inputs.npz"))
    np.savez(f"{folder}/jax.npz", **interpretation(model, x))
""")


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| over max |b|: the error on the scale of the map (near-zero pixels of a
    gradient map carry no relative precision of their own)."""
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
@pytest.mark.slow  # about 60 s: a JAX process and two eq. (1) traces on each backend
def test_jax_backend_gives_the_tensorflow_results(tmp_path, monkeypatch):
    """Same saved model, same inputs: eq. (2), Grad-CAM and two eq. (1) solvers under JAX agree
    with TensorFlow to 1e-4 of each map's largest value (float32 kernels of two compilers: the
    backends differ by ~1e-6 relative per layer; 1e-4 leaves room for the few layers and steps)."""
    import d2tl.model as model_module

    if keras.config.backend() != "tensorflow":
        pytest.skip("compares a TensorFlow run (this process) with a JAX one")
    monkeypatch.setattr(model_module, "build_backbone", tiny_backbone)
    keras.utils.set_random_seed(3)
    model, _ = model_module.build_model(model_module.ModelConfig(input_size=SIZE, weights="random"), resolve_weights("random"))
    model.save(tmp_path / "model.keras")
    rng = np.random.default_rng(7)
    x = {k: rng.uniform(size=(2, SIZE, SIZE, 1)).astype(np.float32) for k in IMAGES}
    np.savez(tmp_path / "inputs.npz", **x)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    job = subprocess.Popen([sys.executable, "-c", JAX_SCRIPT, str(tmp_path)], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reference = interpretation(model, x)  # TensorFlow, while JAX runs
    _, stderr = job.communicate(timeout=600)
    assert job.returncode == 0, stderr[-4000:]
    other = dict(np.load(tmp_path / "jax.npz"))
    assert set(other) == set(reference)
    errors = {k: relative_error(other[k], reference[k]) for k in reference}
    print(json.dumps(errors, indent=1))
    assert max(errors.values()) < 1e-4, errors
    assert all(np.abs(reference[f"influence_{k}"]).max() > 0 and reference[f"gradcam_{k}"].max() > 0
               for k in IMAGES)  # the maps compared are not all zero
    for name in SOLVERS:  # the images moved, so the solvers' paths are compared, not just the start
        assert any(np.abs(reference[f"{name}_{k}"] - 0.5).max() > 0.01 for k in IMAGES)
