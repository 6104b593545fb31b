"""How a configuration is executed: numeric precision, XLA, and the device strategy.

Precision and XLA change the numbers a run produces, so they are fields of
:class:`d2tl.training.config.TrainConfig` (in the configuration's hash and in the compiled graph's key).
The strategy (one device, or ``tf.distribute.MirroredStrategy`` over all GPUs of one host) is
an execution detail: the global batch, the data and the seeds stay the same, so it is not
hashed; it is recorded in ``metrics.json`` (``provenance.execution``) instead.

Everything here is backend-neutral except :func:`distribution` with ``"mirrored"`` and
:func:`check_support`'s XLA/determinism rule, which are TensorFlow matters.
"""

from __future__ import annotations

import contextlib
import contextvars

from ..io.errors import D2TLError

# --precision -> Keras dtype policy: float16 / bfloat16 compute, float32 variables.
PRECISIONS = {"float32": "float32", "mixed": "mixed_float16", "bfloat16": "mixed_bfloat16"}
STRATEGIES = ("none", "mirrored")

# The strategy of the enclosing distribution() block: (name, tf.distribute strategy or None).
# A context variable, not module state: set and restored by distribution() alone.
_STRATEGY = contextvars.ContextVar("d2tl_strategy", default=("none", None))


def policy_name(precision: str) -> str:
    """The Keras dtype policy of a ``TrainConfig.precision`` value."""
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise D2TLError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}") from None


@contextlib.contextmanager
def precision_scope(precision: str):
    """Build layers under ``precision``'s dtype policy; the global policy is restored after.

    Keras applications take no dtype argument, so the policy is set around the build: each
    layer (and the model itself, whose policy makes ``compile`` wrap the optimiser in a
    ``LossScaleOptimizer`` under mixed_float16) keeps the policy it was created with.
    """
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy_name(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def effective_jit(jit_compile: bool) -> bool:
    """What ``model.compile(jit_compile=...)`` gets: under JAX always True.

    Keras's JAX trainer runs the step op by op unless it is jitted (about ten times slower), so
    under JAX the step is always compiled by ``jax.jit``; ``--jit`` only matters under TensorFlow.
    """
    import keras

    return bool(jit_compile) or keras.backend.backend() == "jax"


def check_support(train) -> None:
    """Refuse combinations the current backend cannot run as asked (clear errors, early)."""
    import keras

    backend = keras.backend.backend()
    if train.jit_compile and train.deterministic and backend == "tensorflow":
        raise D2TLError("--jit under TensorFlow needs --nondeterministic: Keras turns XLA off while "
                        "TensorFlow's op determinism is on (under KERAS_BACKEND=jax the step is always jitted)")
    name = _STRATEGY.get()[0]
    if name != "none" and backend != "tensorflow":
        raise D2TLError(f"--strategy {name} needs KERAS_BACKEND=tensorflow, not {backend}")


def make_strategy(name: str, devices=None):
    """``None`` for ``"none"``; a ``tf.distribute.MirroredStrategy`` (all visible GPUs, or
    ``devices``) for ``"mirrored"``."""
    import keras

    if name not in STRATEGIES:
        raise D2TLError(f"strategy {name!r} is not one of {', '.join(STRATEGIES)}")
    if name == "none":
        return None
    if keras.backend.backend() != "tensorflow":
        raise D2TLError(f"--strategy {name} uses tf.distribute and needs KERAS_BACKEND=tensorflow; "
                        f"the backend is {keras.backend.backend()} (run without --strategy there)")
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=devices)


@contextlib.contextmanager
def distribution(name: str = "none", devices=None):
    """Models compiled by :meth:`d2tl.training.engine.Engine.compiled_model` inside this block use
    strategy ``name`` (``"none"`` or ``"mirrored"``); the previous one is restored after."""
    strategy = make_strategy(name, devices)
    token = _STRATEGY.set((name, strategy))
    try:
        yield strategy
    finally:
        _STRATEGY.reset(token)


def strategy_scope():
    """The current strategy's scope (a no-op without one)."""
    strategy = _STRATEGY.get()[1]
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def strategy_key() -> tuple:
    """Identifies the current strategy for the cache of compiled models."""
    name, strategy = _STRATEGY.get()
    return (name, None if strategy is None else tuple(strategy.extended.worker_devices))


def describe() -> dict:
    """Backend, strategy, replicas and devices of this process (for metrics.json)."""
    import keras

    backend = keras.backend.backend()
    name, strategy = _STRATEGY.get()
    if strategy is not None:
        devices = list(strategy.extended.worker_devices)
    elif backend == "tensorflow":
        import tensorflow as tf

        first = tf.config.list_logical_devices("GPU")[:1] or tf.config.list_logical_devices("CPU")[:1]
        devices = [d.name for d in first]
    elif backend == "jax":
        import jax

        devices = [str(jax.devices()[0])]
    else:
        devices = []
    from ..model.stub import stand_in_backbone

    out = {"backend": backend, "strategy": name,
           "replicas": 1 if strategy is None else int(strategy.num_replicas_in_sync), "devices": devices}
    if stand_in_backbone():
        out["test_backbone"] = stand_in_backbone()  # a test stand-in, not InceptionV3
    return out
