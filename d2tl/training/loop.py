"""One run of the paper's protocol: E epochs, the best epoch by validation, its test result.

Each epoch trains on the augmented training set in a random order and evaluates the augmented
validation set, in one ``model.fit`` per run (:mod:`d2tl.training.batches`); the run keeps its
checkpoint with the best validation accuracy (:mod:`d2tl.training.selection`), evaluated on the
test set too. Semi-tune trains the head on
backbone features computed once per run (:mod:`d2tl.training.features`), which is the same
training, only faster; ``feature_cache=False`` trains it end to end.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path, write_csv
from ..evaluate import binary_metrics
from ..provenance import write_json
from ..views import IMAGES
from .data import Data, one_hot, total_steps as steps_of
from .features import copy_head
from .selection import EpochRecorder


def bn_sample(x: dict, n: int, samples: int, seed: int) -> dict:
    """The augmented training samples the precise-BN pass uses: all of them (``samples`` 0), or a
    seeded subset of ``samples``, the same in every epoch of a run."""
    if samples <= 0 or samples >= n:
        return x
    keep = np.sort(np.random.default_rng([seed, 1]).choice(n, samples, replace=False))
    return {k: v[keep] for k, v in x.items()}


def predict_proba(model, x: dict, batch_size: int = 32) -> np.ndarray:
    """Malignancy probability per case."""
    return np.asarray(model.predict({k: x[k] for k in IMAGES}, batch_size=batch_size, verbose=0))[:, 1]


def train_run(config, data: Data, run: int, run_dir: Path, log=print, feature_cache: bool = True,
              weights=None, engine=None) -> dict:
    """Train one run in ``engine`` (a :class:`d2tl.training.engine.Engine`; a fresh one when
    None); write its history, best weights and summary; return the summary.

    Semi-tune trains only the head, on backbone features computed once
    (:mod:`d2tl.training.features`) unless ``feature_cache`` is false; the result is the same.
    """
    if engine is None:
        from .engine import Engine

        engine = Engine()
    train = config.train
    total_steps = steps_of(config, data)
    model, weights_source = engine.fresh_start(config, train.seed * 1000 + run, total_steps, weights)
    recorder = EpochRecorder(run, train.epochs, log)
    order_rng = np.random.default_rng(train.seed * 1000 + run)
    path = {}
    keras2 = config.model.tuning == "semi" and config.model.frozen_bn == "keras2"
    if config.model.tuning == "semi" and feature_cache and not keras2:
        (x_train, x_val), feature_seconds, reused = engine.cached_features(model, [data.train.x, data.val.x])
        trained = engine.start_head(model, config, total_steps)
        path = {"semi_tune_path": "cached features", "feature_seconds": feature_seconds, "features_reused": reused}
        log(f"run {run}: semi-tune on cached backbone features "
            f"({'reused' if reused else 'computed'} in {feature_seconds:.1f} s)")
    else:
        trained, x_train, x_val = model, data.train.x, data.val.x
        if config.model.tuning == "semi":
            path = {"semi_tune_path": "end to end" + (" (frozen_bn keras2: features depend on the batch)"
                                                      if keras2 else "")}
    stats, bn_x = None, None
    if train.bn_stats == "precise":
        stats = engine.precise_bn(trained) or None  # None when no BN layer is trained (semi-tune)
        bn_x = bn_sample(x_train, len(data.train), train.bn_samples, train.seed * 1000 + run)
    from .batches import EpochBatches, ValidateEachEpoch

    batches = EpochBatches(x_train, one_hot(data.train.y), train.batch_size, train.epochs, order_rng)
    validate = ValidateEachEpoch(x_val, one_hot(data.val.y), train.batch_size,
                                 lambda epoch, logs, seconds: recorder.record(trained, epoch, logs, seconds),
                                 stats, bn_x)
    start = time.perf_counter()
    trained.fit(batches, epochs=train.epochs, steps_per_epoch=batches.steps_per_epoch, shuffle=False,
                verbose=0, callbacks=[validate])
    seconds = time.perf_counter() - start
    trained.set_weights(recorder.weights)
    if trained is not model:
        copy_head(trained, model)  # the best epoch's head (and the dropout seeds' end state)
    rows = recorder.rows
    p_test = predict_proba(model, data.test.x)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(run_dir / "best.weights.h5") as tmp:
        engine.weights_only(model).save_weights(tmp)
    write_csv(run_dir / "history.csv", pd.DataFrame(rows))
    summary = {"run": run, "epoch": recorder.best["epoch"], "val_accuracy": recorder.best["val_accuracy"],
               "val_loss": recorder.best["val_loss"], "train_seconds": seconds,
               "mean_epoch_seconds": float(np.mean([r["seconds"] for r in rows])),
               "mean_bn_seconds": float(np.mean([r.get("bn_seconds", 0.0) for r in rows])),
               "weights_source": weights_source, **path, "test": binary_metrics(data.test.y, p_test),
               "test_probabilities": p_test.tolist()}
    write_json(run_dir / "summary.json", summary)  # written last: it marks the run finished
    return summary
