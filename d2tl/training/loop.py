"""One run of the paper's protocol: E epochs, the best epoch by validation, its test result.

Each epoch trains on the augmented training set in a random order and evaluates the augmented
validation set, in one ``model.fit`` per run (:mod:`d2tl.training.batches`); the run keeps its
checkpoint with the best validation accuracy (:mod:`d2tl.training.selection`), evaluated on the
test set too. After every epoch the run's history and a resumable epoch checkpoint are written
(:mod:`d2tl.training.checkpoint`). Semi-tune trains the head on
backbone features computed once per run (:mod:`d2tl.training.features`), which is the same
training, only faster; ``feature_cache=False`` trains it end to end.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..io.atomic import atomic_path, write_csv
from ..stats.evaluate import binary_metrics
from ..io.provenance import write_json
from ..protocol.views import IMAGES
from .checkpoint import EpochCheckpoint, checkpoint_key
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


def training_target(model, config, data: Data, total_steps: int, feature_cache: bool, engine, log, run: int):
    """What ``fit`` trains, on which inputs: the full model on images, or (semi-tune, cached
    features) the head on backbone features computed once. Returns (trained, x_train, x_val, path)."""
    keras2 = config.model.tuning == "semi" and config.model.frozen_bn == "keras2"
    if config.model.tuning == "semi" and feature_cache and not keras2:
        (x_train, x_val), feature_seconds, reused = engine.cached_features(model, [data.train.x, data.val.x])
        trained = engine.start_head(model, config, total_steps)
        log(f"run {run}: semi-tune on cached backbone features "
            f"({'reused' if reused else 'computed'} in {feature_seconds:.1f} s)")
        return trained, x_train, x_val, {"semi_tune_path": "cached features", "feature_seconds": feature_seconds,
                                         "features_reused": reused}
    path = {}
    if config.model.tuning == "semi":
        path = {"semi_tune_path": "end to end" + (" (frozen_bn keras2: features depend on the batch)"
                                                  if keras2 else "")}
    return model, data.train.x, data.val.x, path


def train_run(config, data: Data, run: int, run_dir: Path, log=print, feature_cache: bool = True, *,
              weights, engine=None, tensorboard=None) -> dict:
    """Train one run in ``engine`` (a :class:`d2tl.training.engine.Engine`; a fresh one when
    None); write its history (after every epoch), best weights and summary; return the summary.

    Semi-tune trains only the head, on backbone features computed once
    (:mod:`d2tl.training.features`) unless ``feature_cache`` is false; the result is the same.
    An epoch checkpoint in ``run_dir`` (:mod:`d2tl.training.checkpoint`) is resumed, with the
    same result as an uninterrupted run. ``tensorboard``: a folder for Keras's TensorBoard logs.
    """
    if engine is None:
        from .engine import Engine

        engine = Engine()
    train = config.train
    total_steps = steps_of(config, data)
    model, weights_source = engine.fresh_start(config, train.seed * 1000 + run, total_steps, weights)
    trained, x_train, x_val, path = training_target(model, config, data, total_steps, feature_cache, engine, log, run)
    recorder = EpochRecorder(run, train.epochs, log)
    run_dir.mkdir(parents=True, exist_ok=True)
    saver = EpochCheckpoint(run_dir, checkpoint_key(config, run, total_steps, data, weights_source, path),
                            recorder, log)
    first_epoch = saver.resume(trained)
    stats, bn_x = None, None
    if train.bn_stats == "precise":
        stats = engine.precise_bn(trained) or None  # None when no BN layer is trained (semi-tune)
        bn_x = bn_sample(x_train, len(data.train), train.bn_samples, train.seed * 1000 + run)
    from .batches import EpochBatches, ValidateEachEpoch

    batches = EpochBatches(x_train, one_hot(data.train.y), train.batch_size, train.epochs,
                           np.random.default_rng(train.seed * 1000 + run), first_epoch, train.accumulation)
    validate = ValidateEachEpoch(x_val, one_hot(data.val.y), train.micro_batch,
                                 lambda epoch, logs, seconds: recorder.record(trained, epoch, logs, seconds),
                                 stats, bn_x)
    callbacks = [validate, saver] + ([keras.callbacks.TensorBoard(str(tensorboard))] if tensorboard else [])
    trained.fit(batches, epochs=train.epochs, initial_epoch=first_epoch, steps_per_epoch=batches.steps_per_epoch,
                shuffle=False, verbose=0, callbacks=callbacks)
    trained.set_weights(recorder.weights)
    if trained is not model:
        copy_head(trained, model)  # the best epoch's head (and the dropout seeds' end state)
    summary = finish_run(model, data, run_dir, recorder, saver.seconds, weights_source, path, engine)
    saver.discard()
    return summary


def finish_run(model, data: Data, run_dir: Path, recorder, seconds: float, weights_source: str, path: dict,
               engine) -> dict:
    """The best epoch's test result; its weights, the history and ``summary.json`` (written
    last: it marks the run finished)."""
    rows = recorder.rows
    p_test = predict_proba(model, data.test.x)
    with atomic_path(run_dir / "best.weights.h5") as tmp:
        engine.weights_only(model).save_weights(tmp)
    write_csv(run_dir / "history.csv", pd.DataFrame(rows))
    summary = {"run": recorder.run, "epoch": recorder.best["epoch"], "val_accuracy": recorder.best["val_accuracy"],
               "val_loss": recorder.best["val_loss"], "train_seconds": seconds,
               "mean_epoch_seconds": float(np.mean([r["seconds"] for r in rows])),
               "mean_bn_seconds": float(np.mean([r.get("bn_seconds", 0.0) for r in rows])),
               "weights_source": weights_source, **path, "test": binary_metrics(data.test.y, p_test),
               "test_probabilities": p_test.tolist()}
    write_json(run_dir / "summary.json", summary)
    return summary
