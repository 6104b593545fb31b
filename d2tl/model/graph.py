"""What makes a compiled graph: the one definition behind every graph key.

A compiled model (or cached-feature head) can serve every configuration with the same graph:
the model fields except the weights (they are copied in per run), the optimiser and its
learning rate and schedule, the precision and XLA setting, gradient accumulation when used, and, under a step-dependent schedule,
the number of training steps. :func:`graph_key` and :func:`head_key` name the engine's compiled
models (:class:`d2tl.training.engine.Engine`); the section time estimates group by
:func:`graph_identity` too.
"""

from __future__ import annotations

from ..io.provenance import config_hash

TRAIN_FIELDS = ("optimizer", "learning_rate", "schedule", "precision", "jit_compile")
HEAD_FIELDS = ("feature_dropout", "head_dropout", "dense_units", "dense_activation")  # the head's hyper-parameters


def graph_identity(config, total_steps: int | None = None, head_only: bool = False) -> dict:
    """The fields that make ``config``'s compiled graph (the full model's, or with ``head_only``
    the cached-feature head's): ``{"model" or "head": ..., "train": ..., "steps": ...}``.
    ``steps`` is None under the constant schedule (the graph then does not depend on it)."""
    if head_only:
        model = {k: getattr(config.model, k) for k in HEAD_FIELDS}
    else:
        model = {k: v for k, v in config.model.to_dict().items() if k != "weights"}
    train = {k: getattr(config.train, k) for k in TRAIN_FIELDS}
    if config.train.accumulation > 1:  # another optimiser; absent otherwise, so existing keys stay
        train["accumulation"] = config.train.accumulation
    steps = total_steps if config.train.schedule != "constant" else None
    return {"head" if head_only else "model": model, "train": train, "steps": steps}


def graph_key(config, total_steps: int) -> str:
    """The hash naming the full model's compiled graph."""
    return config_hash(graph_identity(config, total_steps))


def head_key(config, total_steps: int, feature_dim: int) -> str:
    """The hash naming the cached-feature head's compiled graph (for backbone features of
    ``feature_dim`` values)."""
    identity = graph_identity(config, total_steps, head_only=True)
    return config_hash({"head": identity["head"], "train": identity["train"], "feature_dim": feature_dim,
                        "steps": identity["steps"]})
