"""Seeding one run: Python, NumPy and Keras's global seed, without re-seeding TensorFlow.

``keras.utils.set_random_seed`` also calls ``tf.random.set_seed``, and every change of
TensorFlow's global seed makes every ``tf.function`` retrace (minutes for two InceptionV3s on a
CPU). Nothing of ours draws from TensorFlow's global seed (initialisers and dropout use Keras
seed generators; the epoch order is drawn with NumPy), so it is set once per engine and the rest
of ``set_random_seed`` is done here through two Keras internals (``keras.src``), the one place
that touches them.

Those internals are used only on the Keras versions they were checked on (:data:`TESTED_KERAS`,
the pinned range of requirements.txt). On another version this warns and calls the public
``keras.utils.set_random_seed`` instead: the seeds, and so the results, are the same, only each
run then retraces. A warning rather than an error, because nothing is wrong with the results.
"""

from __future__ import annotations

import random
import warnings

import numpy as np

TESTED_KERAS = ((3, 15),)  # (major, minor) versions whose keras.src seeding internals were checked


def keras_version() -> tuple:
    """The installed Keras's (major, minor)."""
    import keras

    return tuple(int(part) for part in keras.__version__.split(".")[:2])


def seed_keras_globals(seed: int) -> bool:
    """Set Keras's global seed and drop its global seed generator (as ``set_random_seed`` does,
    without TensorFlow's seed); False (after a warning) where that cannot be done safely."""
    version = keras_version()
    if version not in TESTED_KERAS:
        warnings.warn(f"Keras {'.'.join(map(str, version))} is not one d2tl's seeding was checked on "
                      f"({', '.join('.'.join(map(str, v)) for v in TESTED_KERAS)}): seeding with "
                      "keras.utils.set_random_seed, which gives the same results but retraces every run",
                      RuntimeWarning, stacklevel=2)
        return False
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    return True


def seed_everything(seed: int, deterministic: bool, seed_tensorflow: bool) -> None:
    """Seed Python, NumPy and Keras's global seed generator for one run; TensorFlow's global seed
    (and, when ``deterministic``, its deterministic kernels) too when ``seed_tensorflow``."""
    import keras

    if seed_tensorflow:
        keras.utils.set_random_seed(seed)
        if deterministic and keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # the one backend-specific switch: deterministic kernels

            tf.config.experimental.enable_op_determinism()
    if not seed_keras_globals(seed):
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)
