"""The --dry-run estimate: model graphs, measured InceptionV3 forward times, estimated seconds."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..training.config import ExperimentConfig
from ..protocol.paper import SPLIT_SIZES
from ..io.provenance import config_hash


def graph_of(config: ExperimentConfig) -> str:
    """What makes a compiled model graph (:func:`d2tl.model.graph.graph_identity`), for grouping
    the estimate's compile costs; the step count is left out, as it only renames a graph."""
    from ..model.graph import graph_identity

    return config_hash({**graph_identity(config), "steps": None})


def backbones_of(config: ExperimentConfig) -> int:
    from ..model.wiring import backbone_count

    return backbone_count(config.model.architecture)


def graph_name(config: ExperimentConfig) -> str:
    keras2 = " (Keras 2 BN)" if config.model.tuning == "semi" and config.model.frozen_bn == "keras2" else ""
    return f"{config.model.architecture}/{config.model.tuning}-tune{keras2}@{config.model.input_size}px"


# The --dry-run estimate is built from a short measurement on this machine: the forward time
# of one InceptionV3 per image at every input side the plan needs (graph mode, after its trace),
# and the time to build one. A training step costs 3 forward passes of its images (forward plus
# the input and weight gradients: d2tl.model.flops.TRAIN_FACTOR); semi-tune, through cached backbone
# features, one forward pass of every image per run. Compiling a training graph is not
# measured (it would take the minutes it estimates); these are our CPU figures (TensorFlow 2.21,
# 2 cores): far less on a workstation.
COMPILE_SECONDS = {"full": 130.0, "semi": 50.0}  # per model graph: tracing train, test and predict steps
PER_RUN_SAVES = 2.0  # seconds per run: best weights out and back in


def measure_forward(sizes, batch: int = 8, log=None) -> dict:
    """Seconds per image of one InceptionV3 forward pass at each input side (graph mode, best of 2
    after a warm-up), and seconds to build one (key ``"build"``)."""
    import keras

    out = {}
    for size in sorted(set(sizes)):
        start = time.perf_counter()
        model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                               input_shape=(size, size, 3))
        out.setdefault("build", time.perf_counter() - start)
        x = np.random.default_rng(0).random((batch, size, size, 3), dtype=np.float32)
        model.predict(x, batch_size=batch, verbose=0)  # trace
        times = []
        for _ in range(2):
            t = time.perf_counter()
            model.predict(x, batch_size=batch, verbose=0)
            times.append(time.perf_counter() - t)
        out[size] = min(times) / batch
        if log:
            log(f"  measured: InceptionV3 forward at {size} px, {1000 * out[size]:.1f} ms per image")
        del model
    return out


def estimate_seconds(configs: list[ExperimentConfig], n_cases: dict, forward: dict,
                     semi_cached: bool = True) -> tuple[float, dict]:
    """Estimated wall time of training ``configs`` (distinct, not yet finished) in one process,
    from measured per-image forward times ``forward[input side]`` (see :func:`measure_forward`)."""
    from ..model.flops import TRAIN_FACTOR
    from ..protocol.views import IMAGES

    graphs, per_config = {}, {}
    total = 0.0
    images = len(IMAGES)
    for c in configs:
        g = graph_of(c)
        if g not in graphs:
            graphs[g] = COMPILE_SECONDS.get(c.model.tuning, COMPILE_SECONDS["full"])
            total += graphs[g]
        f = forward[c.model.input_size] * images  # one case, four images
        train, val, test = (n_cases["train"] * c.augment.copies, n_cases["val"] * c.augment.copies, n_cases["test"])
        if c.model.tuning == "semi" and semi_cached and c.model.frozen_bn == "inference":
            per_run = (train + val + test) * f  # features once; the head's epochs are negligible
        else:
            per_epoch = train * f * (TRAIN_FACTOR if c.model.tuning == "full" else 1) + val * f
            per_run = c.train.epochs * per_epoch + test * f
        per_run += backbones_of(c) * forward.get("build", 3.0) + PER_RUN_SAVES
        seconds = c.train.runs * per_run + test * f + backbones_of(c) * forward.get("build", 3.0)
        per_config[config_hash(c.to_dict())] = seconds
        total += seconds
    return total, {"graphs": graphs, "per_config": per_config}


def split_counts(table: pd.DataFrame) -> dict:
    from ..data.split import part_targets

    targets = part_targets(table["label"].value_counts().to_dict(), SPLIT_SIZES)
    return {part: int(sum(v.values())) for part, v in targets.items()}
