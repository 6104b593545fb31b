"""The measured memory of one training step: TensorFlow's CPU allocator peak (GPU when one is used).

TensorFlow 2.21 keeps allocator statistics for the CPU device too
(``tf.config.experimental.get_memory_info("CPU:0")``: current and peak bytes, reset by
``reset_memory_stats``), so a step's peak is measured directly rather than from the process's
resident size. The step is the model's second ``train_on_batch`` (the first builds the optimiser
and traces the step); the peak is counted from the allocator's bytes before the model was built,
so it holds the weights, gradients, optimiser state and activations of the step, as
:mod:`d2tl.training.memory` predicts. Allocations outside TensorFlow's allocator (oneDNN's
scratch space, NumPy arrays) are not counted. Measure in a fresh process
(:func:`measure_in_subprocess`): inside a process that has run other models the reading depended
on what ran before (0.48-0.77 of the prediction, against 0.62-1.01 fresh, on a 2-core AMD CPU).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

# TensorFlow keeps CPU allocator statistics only with oneDNN on, which it turns on by itself only
# on some x86 CPUs; effective when this module is imported before TensorFlow
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from ..protocol.views import IMAGES


def device_name() -> str:
    """The device TensorFlow places the step on: the first GPU, else the CPU."""
    import tensorflow as tf

    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"


def allocator_bytes(device: str) -> dict:
    """``{"current": ..., "peak": ...}`` bytes of TensorFlow's allocator on ``device``."""
    import tensorflow as tf

    from ..io.errors import D2TLError

    try:
        return tf.config.experimental.get_memory_info(device)
    except ValueError as exc:
        raise D2TLError(f"memory measurement: TensorFlow keeps no allocator statistics for {device} here ({exc}); "
                        "run it with TF_ENABLE_ONEDNN_OPTS=1 set before TensorFlow starts") from exc


def step_inputs(input_size: int, cases: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Random images in [0, 1] and one-hot labels for ``cases`` cases."""
    rng = np.random.default_rng(seed)
    x = {key: rng.random((cases, input_size, input_size, 1), dtype=np.float32) for key in IMAGES}
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, cases)]
    return x, y


def measure_step(config, cases: int | None = None, eager: bool = False) -> dict:
    """Peak allocator bytes of one training step of ``config`` (randomly initialised) with
    ``cases`` cases (default: its micro-batch), counted from before the model was built; and the
    bytes still held after it (weights, optimiser state)."""
    import keras
    import tensorflow as tf

    from . import execution
    from ..model import build_model
    from ..model.weights import Weights
    from .optimizers import make_optimizer

    device = device_name()
    cases = cases or config.train.micro_batch
    before = allocator_bytes(device)["current"]
    with execution.precision_scope(config.train.precision):
        model, _ = build_model(dataclasses.replace(config.model, weights="random"), Weights("random"))
        model.compile(optimizer=make_optimizer(config.train, 10), loss="categorical_crossentropy",
                      run_eagerly=eager)
    x, y = step_inputs(config.model.input_size, cases)
    model.train_on_batch(x, y)  # builds the optimiser's slots and traces the step
    tf.config.experimental.reset_memory_stats(device)
    model.train_on_batch(x, y)
    after = allocator_bytes(device)
    keras.backend.clear_session()
    return {"device": device, "cases": cases, "peak": after["peak"] - before, "held": after["current"] - before}


def measure_in_subprocess(architecture: str, tuning: str, side: int, cases: int, precision: str = "float32") -> dict:
    """:func:`measure_step` in a fresh Python process (an allocator that holds nothing else)."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "d2tl.training.memory_measure", architecture, tuning, str(side),
                           str(cases), precision], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def small_config(architecture: str, tuning: str, side: int, cases: int, precision: str = "float32"):
    """A randomly initialised configuration at ``side`` px with a batch of ``cases``."""
    from .config import experiment_config
    from ..data.roi import RoiConfig

    box = RoiConfig().box
    return experiment_config(model={"architecture": architecture, "tuning": tuning, "weights": "random"},
                             roi={"box": box, "input_scale": side / box},
                             train={"batch_size": cases, "precision": precision})


if __name__ == "__main__":  # architecture tuning side cases precision -> one JSON line
    import json
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    arch, tune, side_px, n, prec = sys.argv[1:6]
    print(json.dumps(measure_step(small_config(arch, tune, int(side_px), int(n), prec))))
