"""The paper's training protocol: R runs x E epochs, best-validation selection, resumable.

Each epoch trains on the augmented training set in random order and evaluates the augmented
validation set. Each run keeps its checkpoint with the best validation accuracy; the reported
model is the best of those over all runs. Tie rule: higher validation accuracy, then lower
validation loss, then the earlier run, then the earlier epoch. Beyond the paper, each run's
best checkpoint is also evaluated on the test set, and the spread of those results is reported.
Semi-tune trains the head on backbone features computed once per run (:mod:`d2tl.feature_cache`),
which is the same training, only faster; ``feature_cache=False`` trains it end to end.

Results go to ``OUT/<hash>/`` where the hash covers the configuration and the case table's
content, so a repeated command finds its finished runs and resumes at the first unfinished
one (a run is finished when its ``summary.json`` exists), and a different configuration never
overwrites another's results.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_csv
from .config import ExperimentConfig
from .data.augment import augment_cases
from .data.cases import load_cases
from .data.roi import RoiSet, extract_rois
from .data.split import save_split, split_cases
from .errors import D2TLError
from .evaluate import binary_metrics, summarise_runs
from .lease import DEFAULT_LEASE
from .provenance import config_hash, dataset_info, provenance, write_json
from .run_state import check_config_file, claimed, finished_metrics, finished_run
from .views import IMAGES, LABELS
from .defaults import DEFAULT_CASES, missing_cases_hint

FINISHED = "metrics.json"


@dataclasses.dataclass
class Arrays:
    """Model inputs (dict of four (n, s, s, 1) arrays), labels and case ids of one part."""

    x: dict
    y: np.ndarray
    ids: list

    def __len__(self):
        return len(self.y)


@dataclasses.dataclass
class Data:
    train: Arrays
    val: Arrays
    test: Arrays
    parts: pd.Series  # "train" / "val" / "test" per case, indexed like the case table
    seconds: dict


def prepare_data(table: pd.DataFrame, config: ExperimentConfig, rois: RoiSet | None = None) -> Data:
    """Split, cut ROIs and augment (train and validation only) for one configuration."""
    times = {}
    start = time.perf_counter()
    parts = split_cases(table, seed=config.split_seed)
    times["split"] = time.perf_counter() - start
    if rois is None:
        start = time.perf_counter()
        rois = extract_rois(table, config.roi, seed=config.shift_seed)
        times["rois"] = time.perf_counter() - start
    start = time.perf_counter()
    out = {}
    for i, part in enumerate(("train", "val", "test")):
        ids = list(table["id"][parts == part])
        subset = rois.subset(ids)
        if part == "test":
            out[part] = Arrays(subset.arrays, subset.labels, ids)
        else:
            x, y, source = augment_cases(subset.arrays, subset.labels, config.augment,
                                         seed=config.augment_seed * 10 + i)
            out[part] = Arrays(x, y, [ids[j] for j in source])
    times["augment"] = time.perf_counter() - start
    return Data(**out, parts=parts, seconds=times)


def _one_hot(y: np.ndarray) -> np.ndarray:
    return np.eye(len(LABELS), dtype=np.float32)[y]


def better(a: dict, b: dict | None) -> bool:
    """Is checkpoint ``a`` better than ``b`` by the selection rule (accuracy, then loss)?

    Run and epoch order break remaining ties, because candidates are visited in that order
    and only a strictly better one replaces the incumbent.
    """
    if b is None:
        return True
    if a["val_accuracy"] != b["val_accuracy"]:
        return a["val_accuracy"] > b["val_accuracy"]
    return a["val_loss"] < b["val_loss"]


def select_best(candidates: list[dict]) -> dict:
    """The best of per-run (or per-epoch) records, visited in run and epoch order."""
    best = None
    for c in sorted(candidates, key=lambda c: (c.get("run", 0), c.get("epoch", 0))):
        if better(c, best):
            best = c
    return best


def _make_optimizer(train, total_steps: int):
    import keras

    lr = train.learning_rate
    if train.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, total_steps))
    return {"adam": keras.optimizers.Adam, "sgd": lambda learning_rate: keras.optimizers.SGD(
        learning_rate, momentum=0.9), "rmsprop": keras.optimizers.RMSprop}[train.optimizer](learning_rate=lr)


class EpochRecorder:
    """Per epoch: the history row, one log line, and the weights of the best epoch by
    :func:`better` (kept in memory; they include the BN statistics the epoch was validated with)."""

    def __init__(self, run: int, epochs: int, log=print):
        self.run, self.epochs, self.log = run, epochs, log
        self.rows, self.best, self.weights = [], None, None

    def record(self, model, epoch: int, logs: dict, seconds: dict) -> None:
        row = {"run": self.run, "epoch": epoch + 1, **{k: float(v) for k, v in logs.items()},
               "seconds": sum(seconds.values()), **{f"{k}_seconds": v for k, v in seconds.items()}}
        self.rows.append(row)
        candidate = {"epoch": epoch + 1, "val_accuracy": row["val_accuracy"], "val_loss": row["val_loss"]}
        if better(candidate, self.best):
            self.best, self.weights = candidate, model.get_weights()
        bn = f", BN {seconds['bn']:.1f} s" if seconds.get("bn") else ""
        self.log(f"run {self.run} epoch {epoch + 1}/{self.epochs}: loss {row['loss']:.4f} acc {row['accuracy']:.3f} "
                 f"val_loss {row['val_loss']:.4f} val_acc {row['val_accuracy']:.3f} "
                 f"({row['seconds']:.1f} s{bn})")


def bn_sample(x: dict, n: int, samples: int, seed: int) -> dict:
    """The augmented training samples the precise-BN pass uses: all of them (``samples`` 0), or a
    seeded subset of ``samples``, the same in every epoch of a run."""
    if samples <= 0 or samples >= n:
        return x
    keep = np.sort(np.random.default_rng([seed, 1]).choice(n, samples, replace=False))
    return {k: v[keep] for k, v in x.items()}


_TF_SEEDED = False


def _seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, NumPy and Keras's global seed generator for one run.

    ``keras.utils.set_random_seed`` also calls ``tf.random.set_seed``, and every change of
    TensorFlow's global seed makes every ``tf.function`` retrace (minutes for two InceptionV3s
    on a CPU). Nothing of ours draws from TensorFlow's global seed (initialisers and dropout use
    Keras seed generators; the epoch order is drawn with NumPy), so it is set once per process
    and the rest of ``set_random_seed`` is done here.
    """
    import keras

    global _TF_SEEDED
    if not _TF_SEEDED:
        keras.utils.set_random_seed(seed)
        if deterministic and keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # the one backend-specific switch: deterministic kernels

            tf.config.experimental.enable_op_determinism()
        _TF_SEEDED = True
    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # a Keras without these internals: correct, only slower
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def predict_proba(model, x: dict, batch_size: int = 32) -> np.ndarray:
    """Malignancy probability per case."""
    return np.asarray(model.predict({k: x[k] for k in IMAGES}, batch_size=batch_size, verbose=0))[:, 1]


# Tracing the training step of two InceptionV3s takes minutes on a CPU, far more than a quick
# run's epochs, so one compiled model serves every run (and every configuration) with the same
# graph. Each run then copies in the weights of a freshly built model and resets the
# optimiser and dropout seed states, which is exactly "a new model per run" without re-tracing.
_COMPILED: dict = {}


def _graph_key(config: ExperimentConfig, total_steps: int) -> str:
    model = {k: v for k, v in config.model.to_dict().items() if k != "weights"}
    train = {k: getattr(config.train, k) for k in ("optimizer", "learning_rate", "schedule", "precision",
                                                    "jit_compile")}
    return config_hash({"model": model, "train": train,
                        "steps": total_steps if config.train.schedule != "constant" else None})


def compiled_model(config: ExperimentConfig, total_steps: int):
    """The process's compiled model for ``config``'s graph (built once), and its optimiser's
    initial state.

    Built under the configuration's dtype policy and, inside :func:`d2tl.execution.distribution`,
    under the strategy's scope (variables mirrored on every device). Under a mixed_float16
    policy ``compile`` wraps the optimiser in a ``LossScaleOptimizer``; its state is
    ``model.optimizer``'s, loss scale included.
    """
    from . import execution
    from .model import build_model

    execution.check_support(config.train)
    key = (_graph_key(config, total_steps), execution.strategy_key())
    if key not in _COMPILED:
        with execution.strategy_scope(), execution.precision_scope(config.train.precision):
            model, _ = build_model(dataclasses.replace(config.model, weights="random"))
            optimizer = _make_optimizer(config.train, total_steps)
            jit = execution.effective_jit(config.train.jit_compile)
            model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"],
                          jit_compile=jit)
            if jit and not model.jit_compile:
                raise D2TLError("Keras turned XLA off for this model (under TensorFlow: op determinism is on "
                                "in this process, set by an earlier deterministic run); run --jit with "
                                "--nondeterministic in a new process")
            model.optimizer.build(model.trainable_variables)
        _COMPILED[key] = (model, [np.array(v) for v in model.optimizer.variables])
    return _COMPILED[key]


def fresh_start(config: ExperimentConfig, seed: int, total_steps: int, weights=None):
    """The compiled model, set to the state a newly built model would have under ``seed``
    (backbones from ``weights``, a resolved :class:`d2tl.weights.Weights`; resolved from the
    configuration when None).

    The fresh model only supplies values (variables are float32 under every precision), so it is
    built outside any strategy scope, under the global dtype policy.
    """
    from .model import build_model

    _seed_everything(seed, config.train.deterministic)
    fresh, weights_source = build_model(config.model, weights)
    model, optimizer_state = compiled_model(config, total_steps)
    model.set_weights(fresh.get_weights())
    for variable, value in zip(model.optimizer.variables, optimizer_state):
        variable.assign(value)
    for layer in fresh.layers:
        if hasattr(layer, "seed_generator"):
            model.get_layer(layer.name).seed_generator.state.assign(layer.seed_generator.state.value)
    del fresh
    return model, weights_source


_VIEWS: dict = {}


def weights_only(model):
    """An uncompiled functional model over ``model``'s own layers (no copy), to save and load.

    Saving the compiled model writes Adam's two moments beside every weight (3x the size:
    575 MB instead of 191 MB per file for dual-mode); the optimiser is reset every run, so its
    state is never needed again.
    """
    import keras

    owner, view = _VIEWS.get(id(model), (None, None))
    if owner is not model:
        view = keras.Model(model.inputs, model.outputs, name=model.name)
        _VIEWS[id(model)] = (model, view)
    return view


def train_run(config: ExperimentConfig, data: Data, run: int, run_dir: Path, log=print,
              feature_cache: bool = True, weights=None) -> dict:
    """Train one run; write its history, best weights and summary; return the summary.

    Semi-tune trains only the head, on backbone features computed once
    (:mod:`d2tl.feature_cache`) unless ``feature_cache`` is false; the result is the same.
    """
    train = config.train
    total_steps = train.epochs * int(np.ceil(len(data.train) / train.batch_size))
    model, weights_source = fresh_start(config, train.seed * 1000 + run, total_steps, weights)
    recorder = EpochRecorder(run, train.epochs, log)
    order_rng = np.random.default_rng(train.seed * 1000 + run)
    path = {}
    keras2 = config.model.tuning == "semi" and config.model.frozen_bn == "keras2"
    if config.model.tuning == "semi" and feature_cache and not keras2:
        from .feature_cache import cached_features, copy_head, start_head

        (x_train, x_val), feature_seconds, reused = cached_features(model, [data.train.x, data.val.x])
        trained = start_head(model, config, total_steps)
        path = {"semi_tune_path": "cached features", "feature_seconds": feature_seconds, "features_reused": reused}
        log(f"run {run}: semi-tune on cached backbone features "
            f"({'reused' if reused else 'computed'} in {feature_seconds:.1f} s)")
    else:
        trained, x_train, x_val = model, data.train.x, data.val.x
        if config.model.tuning == "semi":
            path = {"semi_tune_path": "end to end" + (" (frozen_bn keras2: features depend on the batch)"
                                                      if keras2 else "")}
    stats = None
    if train.bn_stats == "precise":
        from .precise_bn import precise_bn

        stats = precise_bn(trained) or None  # None when no BN layer is trained (semi-tune)
        bn_x = bn_sample(x_train, len(data.train), train.bn_samples, train.seed * 1000 + run)
    y_train, y_val = _one_hot(data.train.y), _one_hot(data.val.y)
    start = time.perf_counter()
    for epoch in range(train.epochs):
        # Patients in a new random order each epoch, drawn here rather than by fit(shuffle=True)
        # so the order depends on the run's seed only (see _seed_everything).
        order = order_rng.permutation(len(data.train))
        t0 = time.perf_counter()
        history = trained.fit({k: v[order] for k, v in x_train.items()}, y_train[order],
                              batch_size=train.batch_size, initial_epoch=epoch, epochs=epoch + 1,
                              shuffle=False, verbose=0)
        seconds = {"train": time.perf_counter() - t0}
        if stats is not None:
            seconds["bn"] = stats.update(bn_x, train.batch_size)  # before validation: it is validated with them
        t0 = time.perf_counter()
        val = trained.evaluate(x_val, y_val, batch_size=train.batch_size, verbose=0, return_dict=True)
        seconds["val"] = time.perf_counter() - t0
        logs = {k: v[-1] for k, v in history.history.items()}
        logs.update({"val_loss": val["loss"], "val_accuracy": val["accuracy"]})
        recorder.record(trained, epoch, logs, seconds)
    seconds = time.perf_counter() - start
    trained.set_weights(recorder.weights)
    if trained is not model:
        copy_head(trained, model)  # the best epoch's head (and the dropout seeds' end state)
    rows = recorder.rows
    p_test = predict_proba(model, data.test.x)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(run_dir / "best.weights.h5") as tmp:
        weights_only(model).save_weights(tmp)
    write_csv(run_dir / "history.csv", pd.DataFrame(rows))
    summary = {"run": run, "epoch": recorder.best["epoch"], "val_accuracy": recorder.best["val_accuracy"],
               "val_loss": recorder.best["val_loss"], "train_seconds": seconds,
               "mean_epoch_seconds": float(np.mean([r["seconds"] for r in rows])),
               "mean_bn_seconds": float(np.mean([r.get("bn_seconds", 0.0) for r in rows])),
               "weights_source": weights_source, **path, "test": binary_metrics(data.test.y, p_test),
               "test_probabilities": p_test.tolist()}
    write_json(run_dir / "summary.json", summary)  # written last: it marks the run finished
    return summary


def hashed_config(config: ExperimentConfig, weights_identity: str | None = None) -> dict:
    """The configuration as its hash sees it: the weights word (``auto``, ``imagenet``, a path)
    replaced by the identity of the source it resolves to (:mod:`d2tl.weights`)."""
    from .weights import identity

    d = config.to_dict()
    d["model"]["weights"] = weights_identity if weights_identity is not None else identity(config.model.weights)
    return d


def run_dir_for(config: ExperimentConfig, cases_csv, out, weights_identity: str | None = None) -> Path:
    """``out/<hash of the configuration (weights by identity) and the case table>``."""
    key = {"config": hashed_config(config, weights_identity), "cases_sha256": dataset_info(cases_csv)["cases_sha256"]}
    return Path(out) / config_hash(key)


def run_experiment(config: ExperimentConfig, cases_csv, out, log=print, table=None, rois=None,
                   feature_cache: bool = True, weights=None, weights_identity: str | None = None,
                   lease: float = DEFAULT_LEASE) -> dict:
    """Run (or resume, or just read back) the whole protocol for one configuration.

    ``weights``: the resolved :class:`d2tl.weights.Weights` of ``config.model.weights``, resolved
    here when None and there is something to train (an unavailable or damaged ImageNet file stops
    the run before any work; a finished result is read back without the weights).
    ``weights_identity`` names the folder (:func:`d2tl.weights.identity` of the configuration's
    weights when None). ``feature_cache=False`` trains semi-tune end to end instead of on cached
    backbone features (the same result, slower; not part of the configuration). The folder is
    trained under its lease (:func:`d2tl.run_state.claimed`: a second process waits, and a folder
    of a failed command is removed); damaged state files: :mod:`d2tl.run_state`.
    """
    from .weights import identity, resolve

    cases_csv = Path(cases_csv)
    if weights_identity is None:
        weights_identity = weights.identity if weights is not None else identity(config.model.weights)
    directory = run_dir_for(config, cases_csv, out, weights_identity)
    done = finished_metrics(directory, FINISHED, log)
    if done is not None:
        log(f"finished result found: {directory} (delete it to recompute)")
        return done
    if weights is None:
        weights = resolve(config.model.weights)
    if weights.identity != weights_identity:
        raise D2TLError(f"weights {config.model.weights!r} resolve to {weights.identity}, not {weights_identity}: "
                        "the ImageNet file changed during the run")
    table = load_cases(cases_csv) if table is None else table
    data = prepare_data(table, config, rois)
    dataset = dataset_info(cases_csv, table)
    hashed = json.loads(json.dumps(hashed_config(config, weights.identity)))
    with claimed(directory, lease, log):
        done = finished_metrics(directory, FINISHED, log)  # another process may have finished it meanwhile
        if done is not None:
            log(f"finished result found: {directory} (written while this process waited)")
            return done
        if not check_config_file(directory / "config.json", hashed, directory):
            write_json(directory / "config.json", {"config": config.to_dict(), "hashed_config": hashed,
                                                   "weights": {"identity": weights.identity,
                                                               "source": weights.description},
                                                   "dataset": dataset})
        save_split(data.parts, table, directory / "split.csv")
        log(f"{config.model.architecture}, {config.model.tuning}-tune, box {config.roi.box} px "
            f"(input {config.roi.input_size} px), shift {config.roi.shift:g} px: "
            f"{len(data.train)} train / {len(data.val)} val augmented samples, {len(data.test)} test cases; "
            f"{config.train.runs} runs x {config.train.epochs} epochs -> {directory}")
        summaries = []
        for run in range(config.train.runs):
            run_dir = directory / f"run_{run:02d}"
            summary = finished_run(run_dir, config.train.epochs, log)
            if summary is not None:
                summaries.append(summary)
                log(f"run {run}: finished earlier, reused")
                continue
            summaries.append(train_run(config, data, run, run_dir, log, feature_cache=feature_cache,
                                       weights=weights))
        return finish(config, directory, data, summaries, dataset, log, weights)


def finish(config, directory: Path, data: Data, summaries: list[dict], dataset: dict, log=print,
           weights=None) -> dict:
    """Select the reported model, save it and write predictions, tables and metrics.

    ``provenance.execution`` records this process's backend, strategy and devices (not hashed).
    """
    from . import execution

    chosen = select_best(summaries)
    total_steps = config.train.epochs * int(np.ceil(len(data.train) / config.train.batch_size))
    model, _ = compiled_model(config, total_steps)
    weights_only(model).load_weights(directory / f"run_{chosen['run']:02d}" / "best.weights.h5")
    p_test = predict_proba(model, data.test.x)
    with atomic_path(directory / "model.keras") as tmp:
        weights_only(model).save(tmp)
    weights_sources = sorted({s["weights_source"] for s in summaries})
    write_json(directory / "model.d2tl.json", {"config": config.to_dict(), "weights_source": weights_sources,
                                               "weights_identity": None if weights is None else weights.identity,
                                               "selected_run": chosen["run"], "selected_epoch": chosen["epoch"]})
    predictions = pd.DataFrame({"id": data.test.ids, "label": [LABELS[i] for i in data.test.y],
                                "p_malignant": p_test,
                                "predicted": [LABELS[int(p >= 0.5)] for p in p_test]})
    write_csv(directory / "predictions.csv", predictions)
    histories = [pd.read_csv(directory / f"run_{s['run']:02d}" / "history.csv") for s in summaries]
    write_csv(directory / "history.csv", pd.concat(histories))
    runs = pd.DataFrame([{"run": s["run"], "best_epoch": s["epoch"], "val_accuracy": s["val_accuracy"],
                          "val_loss": s["val_loss"], **{f"test_{k}": s["test"][k] for k in
                                                        ("accuracy", "sensitivity", "specificity", "auc")},
                          "train_seconds": s["train_seconds"], "mean_epoch_seconds": s["mean_epoch_seconds"]}
                         for s in summaries])
    write_csv(directory / "runs.csv", runs)
    metrics = {
        "selected": {"run": chosen["run"], "epoch": chosen["epoch"], "val_accuracy": chosen["val_accuracy"],
                     "val_loss": chosen["val_loss"], "test": binary_metrics(data.test.y, p_test)},
        "per_run_test": summarise_runs([s["test"] for s in summaries]),
        "total_steps": total_steps,  # names the compiled graph under a step-dependent schedule
        "train_seconds": float(sum(s["train_seconds"] for s in summaries)),
        "mean_bn_seconds": float(np.mean([s.get("mean_bn_seconds", 0.0) for s in summaries])),
        "mean_epoch_seconds": float(np.mean([s["mean_epoch_seconds"] for s in summaries])),
        "data_seconds": data.seconds,
        "directory": str(directory),
        "provenance": provenance(config=config.to_dict(), seed=config.train.seed, preset=config.preset,
                                 dataset=dataset, weights_source=", ".join(weights_sources),
                                 weights_identity=None if weights is None else weights.identity,
                                 execution=execution.describe()),
    }
    write_json(directory / FINISHED, metrics)
    t = metrics["selected"]["test"]
    log(f"selected run {chosen['run']} epoch {chosen['epoch']} (val acc {chosen['val_accuracy']:.3f}): "
        f"test accuracy {t['accuracy']:.3f}, sensitivity {t['sensitivity']:.3f}, "
        f"specificity {t['specificity']:.3f}, AUC {t['auc'] if t['auc'] is None else round(t['auc'], 3)}")
    return metrics


def log_to_stdout(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()




def add_arguments(parser) -> None:
    from .model import ARCHITECTURES, TUNINGS
    from .presets import PRESETS
    from .config import OPTIMIZERS, SCHEDULES

    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"case table CSV (default {DEFAULT_CASES})")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                        help="paper: 10 runs x 100 epochs, full-size inputs; quick: reduced, learns on a CPU "
                             "(default); smoke: the code path only (see d2tl/presets.py)")
    parser.add_argument("--out", default="results/train", help="results folder; one sub-folder per configuration")
    g = parser.add_argument_group("model")
    g.add_argument("--architecture", default="dual_mode", choices=ARCHITECTURES)
    g.add_argument("--tuning", default="full", choices=TUNINGS, help="full: all layers; semi: the 3 dense layers")
    g.add_argument("--weights",
                   help="imagenet, random, fractal (InceptionV3 pre-trained by python -m d2tl pretrain), a weights "
                        "file, or auto (reduced presets only: ImageNet if available, else random, said loudly); "
                        "preset's if omitted (paper: imagenet, others: auto)")
    g.add_argument("--imagenet-md5", help="expected MD5 of the ImageNet file (default: Keras's published hash)")
    from .model import FROZEN_BN
    from .config import BN_STATS

    g.add_argument("--frozen-bn", default="inference", choices=FROZEN_BN,
                   help="semi-tune's frozen BatchNormalization: inference (Keras 3, moving statistics "
                        "throughout) or keras2 (batch statistics in fit, as the paper's Keras 2; trains end to end)")
    g.add_argument("--feature-dropout", type=float, default=0.5)
    g.add_argument("--head-dropout", type=float, default=0.5)
    g = parser.add_argument_group("boxes")
    g.add_argument("--box", type=int, default=256, help="box side, full-resolution px")
    g.add_argument("--shift", type=float, default=0.0, help="box centre shift, full-resolution px")
    g.add_argument("--shift-seed", type=int, default=0, help="seed of the shift directions")
    g.add_argument("--input-scale", type=float, help="model input side / box side (preset's if omitted)")
    g = parser.add_argument_group("training")
    g.add_argument("--runs", type=int, help="runs (preset's if omitted)")
    g.add_argument("--epochs", type=int, help="epochs per run (preset's if omitted)")
    g.add_argument("--batch-size", type=int, help="cases per step (preset's if omitted)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help="preset's if omitted")
    g.add_argument("--lr", type=float, help="learning rate (preset's if omitted)")
    g.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (preset's if omitted)")
    g.add_argument("--bn-stats", choices=BN_STATS, help="BatchNormalization statistics for validation, test and "
                   "the saved model: moving (Keras's running averages) or precise (re-estimated on the "
                   "training set after every epoch); preset's if omitted")
    g.add_argument("--bn-samples", type=int, help="augmented training samples of the precise-BN pass "
                   "(0 = all; preset's if omitted)")
    g.add_argument("--lease", type=float, default=DEFAULT_LEASE,
                   help="seconds after its holder's last renewal that a configuration's lock is taken over "
                        "(d2tl/lease.py; default %(default)g)")
    g.add_argument("--seed", type=int, default=0, help="run r uses seed*1000+r")
    g.add_argument("--split-seed", type=int, default=0)
    g.add_argument("--augment-seed", type=int, default=0)
    g.add_argument("--alternatives", type=int, help="augmented alternatives per image (paper: 5; preset's if omitted)")
    from .execution import PRECISIONS, STRATEGIES

    g = parser.add_argument_group("execution (see docs/gpu.md)")
    g.add_argument("--precision", default="float32", choices=list(PRECISIONS),
                   help="float32 (default); mixed: float16 compute, float32 variables, loss scaling; "
                        "bfloat16: bfloat16 compute, float32 variables")
    g.add_argument("--jit", action="store_true",
                   help="XLA-compiled training steps (TensorFlow; needs --nondeterministic there). "
                        "Under KERAS_BACKEND=jax steps are always jitted")
    g.add_argument("--nondeterministic", action="store_true",
                   help="allow non-deterministic (faster) TensorFlow kernels; reruns may then differ")
    g.add_argument("--strategy", default="none", choices=list(STRATEGIES),
                   help="mirrored: tf.distribute.MirroredStrategy over all visible GPUs of this host "
                        "(TensorFlow only; --batch-size stays the global batch)")


def config_from_args(args) -> ExperimentConfig:
    """The preset's default configuration (:func:`d2tl.config.preset_base`, as every section
    starts from) with the options given on the command line."""
    from .config import preset_base
    from .presets import preset

    settings = preset(args.preset)
    for key, value in (("input_scale", args.input_scale), ("runs", args.runs), ("epochs", args.epochs),
                       ("batch_size", args.batch_size), ("learning_rate", args.lr), ("optimizer", args.optimizer),
                       ("schedule", args.schedule), ("bn_stats", args.bn_stats), ("bn_samples", args.bn_samples),
                       ("alternatives", args.alternatives), ("weights", args.weights)):
        if value is not None:
            settings[key] = value
    base = preset_base(settings, args.preset, {"precision": args.precision, "jit_compile": args.jit,
                                               "deterministic": not args.nondeterministic})
    return base.replace(
        model={"architecture": args.architecture, "tuning": args.tuning, "feature_dropout": args.feature_dropout,
               "head_dropout": args.head_dropout, "frozen_bn": args.frozen_bn},
        roi={"box": args.box, "shift": args.shift}, train={"seed": args.seed},
        split_seed=args.split_seed, shift_seed=args.shift_seed, augment_seed=args.augment_seed)


def run(args) -> int:
    from .train_checks import check_args

    if not Path(args.cases).is_file():
        hint = missing_cases_hint(args.cases)
        raise D2TLError(f"case table {args.cases} does not exist{hint}")
    check_args(args)  # every option, --out and a --weights file, before any work
    config = config_from_args(args)
    from .execution import check_support, distribution

    with distribution(args.strategy):
        check_support(config.train)  # before the data are prepared
        table, rois = load_cases(args.cases), None
        from .weights import IMAGENET_MD5, identity, resolve

        md5 = args.imagenet_md5 or IMAGENET_MD5
        name = identity(config.model.weights, md5)
        weights = None
        if not (run_dir_for(config, args.cases, args.out, name) / FINISHED).is_file():
            from .data.roi_cache import RoiCache

            weights = resolve(config.model.weights, md5)  # refuses before the ROIs are cut
            rois = RoiCache(Path(args.out) / "cache" / "rois", args.cases, table, log=log_to_stdout).get(
                config.roi, config.shift_seed)
        metrics = run_experiment(config, args.cases, args.out, log=log_to_stdout, table=table, rois=rois,
                                 weights=weights, weights_identity=name, lease=args.lease)
    print(f"results: {metrics['directory']}")
    return 0
