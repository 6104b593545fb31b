"""Transfer from pre-trained backbones, compared arm by arm on the external set (beyond the paper).

The paper's answer to 60 training patients is transfer from ImageNet (Sec. 4.4). Where that file
cannot be had, the same question is asked of what can be made here: the default configuration
(dual-mode, full-tune, box 256 px) under the quick preset, started from each weights source
(``synthetic``: pre-trained on synthetic CEDM ROIs; ``fractal``: formula-pre-trained; ``random``),
``runs`` runs per arm with the paper's protocol (the run with the best validation accuracy is the
arm's model). Every run's best model is scored on the external set too, and the arms' selected
models are compared in pairs on it: McNemar's exact test on the calls and the paired bootstrap
difference of AUC (:func:`d2tl.stats.paired.compare`), Holm-adjusted over the pairs.

Data flow: case table -> :func:`d2tl.training.experiment.run_experiment` per arm (resumable per
run) -> external ROIs -> per-run and selected predictions -> table, paired tests, figure.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.errors import D2TLError
from ..stats.evaluate import metrics_with_intervals, spread

ARMS = ("synthetic", "fractal", "random")


def arm_config(arm: str, runs: int, epochs: int | None = None):
    """The default configuration under the quick preset, from ``arm``'s weights."""
    from ..training.config import preset_base
    from ..protocol.presets import preset

    settings = {**preset("quick"), "weights": arm, "runs": runs}
    if epochs is not None:
        settings["epochs"] = epochs
    return preset_base(settings, "quick")


def generator_seed(cases_csv) -> int | None:
    """The generator seed of a synthetic set (its ``dataset.json``), None for other data."""
    meta = Path(cases_csv).parent / "dataset.json"
    return json.loads(meta.read_text()).get("seed") if meta.is_file() else None


def check_disjoint(weights, sets: dict) -> None:
    """Refuse a synthetic-source backbone whose source set shares a generator seed with a set the
    model is tuned or scored on (``sets``: option -> case table)."""
    from ..pretrain.store import read_sidecar

    sidecar = read_sidecar(weights.path) if weights.path else None
    source = ((sidecar or {}).get("source_set") or {}).get("generator") or {}
    if weights.kind != "synthetic" or "seed" not in source:
        return
    for option, csv in sets.items():
        if generator_seed(csv) == source["seed"]:
            raise D2TLError(f"{option} {csv}: generator seed {source['seed']} is the synthetic pre-training source's "
                            f"seed ({weights.path}); the source must be disjoint from every set a model is scored on")


def external_per_run(config, directory: Path, ext_rois, engine) -> pd.DataFrame:
    """Every run's best model of a finished configuration scored on the external ROIs (cached in
    ``directory/external_runs.csv``)."""
    from ..io.atomic import write_csv
    from ..training.experiment import FINISHED
    from ..training.loop import predict_proba

    cached = directory / "external_runs.csv"
    if cached.is_file():
        return pd.read_csv(cached)
    finished = json.loads((directory / FINISHED).read_text())
    model, _ = engine.compiled_model(config, finished["total_steps"])
    view = engine.weights_only(model)
    frames = []
    for run_dir in sorted(directory.glob("run_*")):
        view.load_weights(run_dir / "best.weights.h5")
        frames.append(pd.DataFrame({"id": ext_rois.ids, "label": np.asarray(ext_rois.labels, dtype=int),
                                    "run": int(run_dir.name.split("_")[1]),
                                    "p_malignant": predict_proba(model, ext_rois.arrays)}))
    table = pd.concat(frames, ignore_index=True)
    write_csv(cached, table)
    return table


def arm_row(arm: str, weights, metrics: dict, external: pd.DataFrame) -> dict:
    """One arm's row: selected model on the test part and the external set, per-run external AUCs."""
    chosen = metrics["selected"]
    selected = external[external["run"] == chosen["run"]]
    ext = metrics_with_intervals(selected["label"].to_numpy(), selected["p_malignant"].to_numpy())
    per_run = [metrics_with_intervals(g["label"].to_numpy(), g["p_malignant"].to_numpy())["auc"]
               for _, g in external.groupby("run")]
    runs = spread(per_run)
    test = chosen["test"]
    from ..io.provenance import portable

    return {"arm": arm, "weights_source": portable(weights.description), "weights_identity": weights.identity,
            "runs": len(per_run), "selected_run": chosen["run"], "selected_epoch": chosen["epoch"],
            "val_accuracy": chosen["val_accuracy"], "test_accuracy": test["accuracy"], "test_auc": test["auc"],
            "ext_accuracy": ext["accuracy"], "ext_sensitivity": ext["sensitivity"],
            "ext_specificity": ext["specificity"], "ext_auc": ext["auc"],
            "ext_auc_low": ext["intervals"]["auc"][0], "ext_auc_high": ext["intervals"]["auc"][1],
            "ext_prediction_sd": ext["prediction_sd"], "ext_called_malignant": float(np.mean(selected["p_malignant"] >= 0.5)),
            "run_ext_aucs": " ".join(f"{a:.3f}" for a in per_run), "run_ext_auc_mean": runs.get("mean"),
            "train_seconds": metrics["train_seconds"]}


def paired_tests(selected: dict) -> pd.DataFrame:
    """Every pair of arms' selected models on the external set: McNemar and the AUC difference."""
    from ..stats.paired import compare, holm

    rows = []
    for a, b in itertools.combinations(selected, 2):
        ta, tb = selected[a], selected[b]
        if list(ta["id"]) != list(tb["id"]):
            raise D2TLError(f"arms {a} and {b} were scored on different external cases")
        rows.append({"arm_a": a, "arm_b": b, **compare(ta["label"], ta["p_malignant"], tb["p_malignant"])})
    table = pd.DataFrame(rows)
    if len(table):
        table["mcnemar_p_holm"] = holm(table["mcnemar_p"].tolist())
    return table


def run_arm(arm, config, weights, cases_csv, external_csv, out: Path, log, engine) -> tuple[dict, pd.DataFrame]:
    """(row, per-run external predictions) of one arm: from its record, or trained and scored."""
    from ..data.cases import load_cases
    from ..data.roi_cache import RoiCache
    from ..training.experiment import run_experiment
    from ..training.run_folder import run_folder
    from .records import arm_key, read_record, record_path, write_record

    key = arm_key(config, cases_csv, external_csv, weights_identity=weights.identity)
    record = read_record(out, arm, key)
    if record is not None:
        log(f"arm {arm}: finished earlier ({record_path(out, arm)}), reused")
        return record["row"], pd.DataFrame(record["external"])
    ext_rois = RoiCache(out / "cache", external_csv, load_cases(external_csv), log=log).get(config.roi,
                                                                                          config.shift_seed)
    log(f"arm {arm}: {weights.description}")
    metrics = run_experiment(config, cases_csv, out / "runs", weights, log, engine=engine)
    directory = run_folder(config, weights, cases_csv, out / "runs")
    external = external_per_run(config, directory, ext_rois, engine)
    row = arm_row(arm, weights, metrics, external)
    write_record(out, arm, key, row=row, external=external.to_dict(orient="list"))
    return row, external


def run_arms(arms, runs: int, cases_csv, external_csv, out: Path, epochs=None, log=print, engine=None,
             on_arm=None):
    """Train (or resume, or read back) every arm and score it; (arm rows, paired tests, per-run
    external predictions). ``on_arm`` sees the same three after every arm, for partial reports."""
    from ..training.engine import Engine
    from ..training.run_folder import resolve_weights

    engine = Engine() if engine is None else engine
    resolved = {arm: resolve_weights(arm_config(arm, runs, epochs).model.weights) for arm in arms}  # refuse before training
    for weights in resolved.values():
        check_disjoint(weights, {"--cases": cases_csv, "--external": external_csv})
    rows, selected, everything = [], {}, []
    for arm in arms:
        row, external = run_arm(arm, arm_config(arm, runs, epochs), resolved[arm], cases_csv, external_csv, out,
                                log, engine)
        rows.append(row)
        selected[arm] = external[external["run"] == row["selected_run"]].reset_index(drop=True)
        everything.append(external.assign(arm=arm))
        log(f"arm {arm}: external AUC {row['ext_auc']:.3f} [{row['ext_auc_low']:.3f}, {row['ext_auc_high']:.3f}] "
            f"(selected run {row['selected_run']}); per run {row['run_ext_aucs']}")
        so_far = pd.DataFrame(rows), paired_tests(selected), pd.concat(everything, ignore_index=True)
        if on_arm is not None:
            on_arm(*so_far)
    return so_far
