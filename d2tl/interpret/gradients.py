"""Gradients with respect to inputs, on either Keras backend.

The interpretation methods need d f / d x for tensors that are not model weights (the ROIs for
eq. 2 and eq. 1, a backbone's feature maps for Grad-CAM). Keras 3 has no backend-neutral way
to take them, so this is the one place that asks the backend: ``tf.GradientTape`` under
TensorFlow, ``jax.value_and_grad`` under JAX (``keras.config.backend()``). Everything else in
:mod:`d2tl.interpret` computes with ``keras.ops`` and NumPy.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

BACKENDS = ("tensorflow", "jax")


def backend() -> str:
    """The Keras backend, refused with a clear error when it is one we take no gradients on."""
    import keras  # here, not at import: the command modules stay light until they compute

    from ..io.errors import D2TLError

    name = keras.config.backend()
    if name not in BACKENDS:
        raise D2TLError(f"interpretation needs input gradients, written for the {' and '.join(BACKENDS)} "
                        f"backends; KERAS_BACKEND is {name!r}")
    return name


def value_and_grad(fn: Callable, args):
    """``(aux, gradients)`` of ``value, aux = fn(args)``, the gradients of the scalar ``value``
    with respect to ``args`` (a tensor or a dict/list of tensors; the same structure comes back).

    An argument ``value`` does not depend on gets an exactly zero gradient on both backends.
    """
    if backend() == "jax":
        import jax

        (_, aux), grads = jax.value_and_grad(fn, has_aux=True)(args)
        return aux, grads
    import tensorflow as tf  # the tape: TensorFlow's only way to input gradients

    with tf.GradientTape() as tape:
        tape.watch(args)
        value, aux = fn(args)
    return aux, tape.gradient(value, args, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def compiled(fn: Callable) -> Callable:
    """``fn`` traced once and compiled: ``tf.function`` under TensorFlow, ``jax.jit`` under JAX."""
    if backend() == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn)


def tensor(x) -> object:
    """A float32 backend tensor of ``x`` (what the gradient functions differentiate)."""
    import keras

    return keras.ops.convert_to_tensor(np.asarray(x, np.float32))


def numpy(x) -> np.ndarray:
    """A backend tensor (or a structure of them) as NumPy."""
    import keras

    return keras.ops.convert_to_numpy(x)
