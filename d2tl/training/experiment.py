"""The paper's training protocol for one configuration: R runs x E epochs, resumable.

Each run keeps its checkpoint with the best validation accuracy (:mod:`d2tl.training.loop`);
the reported model is the best of those over all runs (:mod:`d2tl.training.selection`). Beyond
the paper, each run's best checkpoint is also evaluated on the test set, and the spread of those
results is reported.

Results go to ``OUT/<hash>/`` where the hash covers the configuration and the case table's
content, so a repeated command finds its finished runs and resumes at the first unfinished
one (a run is finished when its ``summary.json`` exists) at the epoch its last epoch checkpoint
reached (:mod:`d2tl.training.checkpoint`), and a different configuration never overwrites
another's results.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import execution
from ..io.atomic import atomic_path, write_csv, remove_stale_temporaries
from .config import ExperimentConfig
from ..data.cases import load_cases
from ..data.split import save_split
from ..stats.evaluate import binary_metrics, summarise_runs
from ..io.provenance import dataset_info, provenance, write_json
from ..model.weights import Weights
from ..protocol.views import LABELS
from .checkpoint import FILE as CHECKPOINT
from .data import Data, prepare_data, total_steps as steps_of
from .lease import DEFAULT_LEASE
from .loop import predict_proba, train_run
from .run_folder import hashed_config, run_folder
from .run_state import check_config_file, claimed, finished_metrics, finished_run
from .selection import select_best

FINISHED = "metrics.json"


def run_experiment(config: ExperimentConfig, cases_csv, out, weights: Weights, log=print, table=None, rois=None,
                   feature_cache: bool = True, lease: float = DEFAULT_LEASE, engine=None, tensorboard=None) -> dict:
    """Run (or resume, or just read back) the whole protocol for one configuration.

    ``weights``: the resolved :class:`d2tl.model.weights.Weights` of ``config.model.weights``
    (:func:`d2tl.training.run_folder.resolve_weights`, at the command's edge); they name the
    folder (:func:`d2tl.training.run_folder.run_folder`), and ImageNet weights that were only
    identified stop the run before any work when there is something to train (a finished result
    is read back without the file). ``feature_cache=False`` trains semi-tune end to end instead
    of on cached backbone features (the same result, slower; not part of the configuration). The
    folder is trained under its lease (:func:`d2tl.training.run_state.claimed`: a second process
    waits, and a folder of a failed command is removed); damaged state files:
    :mod:`d2tl.training.run_state`. ``engine``: the :class:`d2tl.training.engine.Engine` to train
    in (its compiled graphs are reused); a fresh one for this call when None. ``tensorboard``: a
    folder for TensorBoard logs, one sub-folder per configuration and run (``<hash>/run_NN``).
    """
    if engine is None:
        from .engine import Engine

        engine = Engine()
    cases_csv = Path(cases_csv)
    directory = run_folder(config, weights, cases_csv, out)
    done = finished_metrics(directory, FINISHED, log)
    if done is not None:
        log(f"finished result found: {directory} (delete it to recompute)")
        return done
    weights.require()
    table = load_cases(cases_csv) if table is None else table
    data = prepare_data(table, config, rois)
    dataset = dataset_info(cases_csv, table)
    hashed = json.loads(json.dumps(hashed_config(config, weights)))
    with claimed(directory, lease, log):
        done = finished_metrics(directory, FINISHED, log)  # another process may have finished it meanwhile
        if done is not None:
            log(f"finished result found: {directory} (written while this process waited)")
            return done
        stale = [*remove_stale_temporaries(directory),
                 *(name for run_dir in sorted(directory.glob("run_*")) for name in remove_stale_temporaries(run_dir))]
        if stale:
            log(f"removed {len(stale)} temporary file(s) a killed run left: {', '.join(stale)}")
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
                (run_dir / CHECKPOINT).unlink(missing_ok=True)  # killed after its summary was written
                summaries.append(summary)
                log(f"run {run}: finished earlier, reused")
                continue
            board = Path(tensorboard) / directory.name / run_dir.name if tensorboard else None
            summaries.append(train_run(config, data, run, run_dir, log, feature_cache=feature_cache,
                                       weights=weights, engine=engine, tensorboard=board))
        return finish(config, directory, data, summaries, dataset, weights, log, engine=engine)


def finish(config, directory: Path, data: Data, summaries: list[dict], dataset: dict, weights: Weights,
           log=print, engine=None) -> dict:
    """Select the reported model, save it and write predictions, tables and metrics (in
    ``engine``, a fresh :class:`d2tl.training.engine.Engine` when None).

    ``provenance.execution`` records this process's backend, strategy and devices (not hashed).
    """
    if engine is None:
        from .engine import Engine

        engine = Engine()
    chosen = select_best(summaries)
    total_steps = steps_of(config, data)
    model, _ = engine.compiled_model(config, total_steps)
    view = engine.weights_only(model)
    view.load_weights(directory / f"run_{chosen['run']:02d}" / "best.weights.h5")
    p_test = predict_proba(model, data.test.x)
    with atomic_path(directory / "model.keras") as tmp:
        view.save(tmp)
    weights_sources = sorted({s["weights_source"] for s in summaries})
    write_json(directory / "model.d2tl.json", {"config": config.to_dict(), "weights_source": weights_sources,
                                               "weights_identity": weights.identity,
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
                                 weights_identity=weights.identity,
                                 execution=execution.describe()),
    }
    write_json(directory / FINISHED, metrics)
    t = metrics["selected"]["test"]
    log(f"selected run {chosen['run']} epoch {chosen['epoch']} (val acc {chosen['val_accuracy']:.3f}): "
        f"test accuracy {t['accuracy']:.3f}, sensitivity {t['sensitivity']:.3f}, "
        f"specificity {t['specificity']:.3f}, AUC {t['auc'] if t['auc'] is None else round(t['auc'], 3)}")
    return metrics
