"""Learning against the number of training patients (a study beyond the paper), and the deep
path's positive control: given enough patients, does the default configuration learn?

The paper's cohort gives 60 training patients. From random weights (no ImageNet file on the
machine) the default configuration fits them and stays near chance on new cases. Whether that
is the patient count or something else in the pipeline is measured here: the default
configuration is trained on nested, label-stratified subsets of one larger synthetic set's
training part, with the same number of augmented samples per epoch in every arm (alternatives =
samples / patients), the same epochs, the same validation patients (selection) and the same
test patients, and every selected model is scored on the independent external set too. Only
the number of distinct training patients changes between arms.

The positive control (docs/learning.md) instead gives each arm its own fixed number of epochs
(``arm_epochs``: more patients, fewer epochs, not equal compute), so that every arm can converge.

Each finished arm is kept in ``OUT/runs/patients_NNNN/`` beside the configuration it was trained
with, and a repeated command reuses it (rescoring its saved model), so a study longer than a
session resumes arm by arm; ``on_arm`` sees the rows after every arm, for partial reports.

Data flow: case table -> split (seed 0, the paper's proportions) -> ROIs -> per arm: subset,
augmentation, :func:`d2tl.training.loop.train_run` -> test and external metrics -> table,
figure, provenance.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.augment import augment_cases
from ..data.cases import load_cases
from ..data.roi_cache import RoiCache
from ..data.split import split_cases
from ..io.errors import D2TLError
from ..stats.evaluate import metrics_with_intervals
from ..training.data import Arrays, Data, total_steps

VALIDATION_ALTERNATIVES = 1  # the validation patients' augmented copies, the same in every arm


def nested_subsets(ids: list, labels: np.ndarray, sizes, seed: int = 0) -> dict:
    """``size -> ids``: label-stratified subsets of ``ids``, each containing the smaller ones.

    One seeded order per label; a subset of k takes each label's first round(k x share) ids, so
    the class balance of the whole part is kept and every larger arm adds patients to the smaller.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    order = {c: [ids[i] for i in rng.permutation(np.flatnonzero(labels == c))] for c in np.unique(labels)}
    out = {}
    for k in sorted(sizes):
        if not 2 <= k <= len(ids):
            raise D2TLError(f"--patients {k}: must be between 2 and the {len(ids)} training patients of the set")
        take = {c: int(round(k * len(o) / len(ids))) for c, o in order.items()}
        out[k] = [i for c in order for i in order[c][:max(1, take[c])]]
    return out


def alternatives_for(patients: int, samples: int) -> int:
    """Augmented alternatives per patient so that an epoch has about ``samples`` samples."""
    return max(1, int(round(samples / patients)))


def arm_data(rois, parts: pd.Series, table: pd.DataFrame, train_ids: list, config) -> Data:
    """Training data of one arm: its patients augmented ``config.augment``, the validation part
    at :data:`VALIDATION_ALTERNATIVES` (same seed in every arm), the test part as it is."""
    train = rois.subset(train_ids)
    x, y, source = augment_cases(train.arrays, train.labels, config.augment, seed=config.augment_seed * 10)
    val_ids = list(table["id"][parts == "val"])
    val = rois.subset(val_ids)
    val_augment = dataclasses.replace(config.augment, alternatives=VALIDATION_ALTERNATIVES)
    xv, yv, sv = augment_cases(val.arrays, val.labels, val_augment, seed=config.augment_seed * 10 + 1)
    test_ids = list(table["id"][parts == "test"])
    test = rois.subset(test_ids)
    return Data(train=Arrays(x, y, [train_ids[j] for j in source]), val=Arrays(xv, yv, [val_ids[j] for j in sv]),
                test=Arrays(test.arrays, test.labels, test_ids), parts=parts, seconds={})


def arm_config(base, patients: int, samples: int, epochs: int | None = None):
    """``base`` with the arm's augmented alternatives (about ``samples`` per epoch) and epochs."""
    config = dataclasses.replace(base, augment=dataclasses.replace(base.augment,
                                                                   alternatives=alternatives_for(patients, samples)))
    if epochs is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=epochs))
    return config


def trained_arm(config, weights, data: Data, folder: Path, log, engine) -> dict:
    """The arm's training summary: read back when ``folder`` holds this very configuration's
    finished run, else trained (a folder of another configuration is refused, never mixed)."""
    import json

    from ..io.provenance import write_json
    from ..training.loop import train_run

    wanted = json.loads(json.dumps(config.to_dict()))
    recorded = folder / "arm_config.json"
    if recorded.is_file() and json.loads(recorded.read_text()) != wanted:
        raise D2TLError(f"{folder} holds an arm trained with another configuration ({recorded}); "
                        "choose another --out or delete that folder")
    if (folder / "summary.json").is_file() and recorded.is_file():
        log(f"{folder.name}: finished earlier, reused")
        return json.loads((folder / "summary.json").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    write_json(recorded, wanted)
    return train_run(config, data, 0, folder, log, weights=weights, engine=engine)


def arm_name(patients: int) -> str:
    return f"patients_{patients:04d}"


def run_arms(base, weights, cases_csv, external_csv, sizes, samples: int, out: Path, cache: Path, log=print,
             engine=None, arm_epochs: dict | None = None, on_arm=None) -> pd.DataFrame:
    """Train ``base`` (an :class:`d2tl.training.config.ExperimentConfig`, from ``weights`` resolved
    by the command) once per training-set size in
    ``sizes`` (``arm_epochs``: size -> epochs, else ``base``'s); one row per arm: test and external
    metrics with intervals, timings. ``on_arm(rows)`` is called after every arm."""
    import hashlib

    from ..training.engine import Engine
    from ..training.loop import predict_proba
    from .records import arm_key, read_record, record_path, write_record

    table = load_cases(cases_csv)
    parts = split_cases(table, seed=base.split_seed)
    train_all = list(table["id"][parts == "train"])
    # checked before anything is written (ROI cache, run folders)
    subsets = nested_subsets(train_all, table["label"][parts == "train"].to_numpy(), sizes, seed=base.split_seed)
    ext_table = load_cases(external_csv)
    engine = Engine() if engine is None else engine
    rois = RoiCache(cache, cases_csv, table, log=log).get(base.roi, 0)
    ext = RoiCache(cache, external_csv, ext_table, log=log).get(base.roi, 0)
    rows = []
    for k, ids in subsets.items():
        config = arm_config(base, k, samples, (arm_epochs or {}).get(k))
        key = arm_key(config, cases_csv, external_csv,
                      patients_sha256=hashlib.sha256(" ".join(map(str, ids)).encode()).hexdigest()[:16])
        recorded = read_record(out, arm_name(k), key)
        if recorded is not None:  # a finished arm of this very study, from its committed record
            log(f"arm {k}: finished earlier ({record_path(out, arm_name(k))}), reused")
            rows.append(recorded["row"])
            if on_arm is not None:
                on_arm(pd.DataFrame(rows))
            continue
        data = arm_data(rois, parts, table, ids, config)
        log(f"arm {k} training patients x {config.augment.alternatives} alternatives = {len(data.train)} samples "
            f"per epoch; {len(data.val)} validation, {len(data.test)} test, {len(ext.ids)} external cases")
        start, load = time.perf_counter(), os.getloadavg()[0]  # another job on the cores shows here
        folder = out / "runs" / arm_name(k)
        summary = trained_arm(config, weights, data, folder, log, engine)
        model, _ = engine.compiled_model(config, total_steps(config, data))  # the graph train_run used
        engine.weights_only(model).load_weights(folder / "best.weights.h5")  # the selected epoch's model
        test = metrics_with_intervals(data.test.y, predict_proba(model, data.test.x))
        external = metrics_with_intervals(np.asarray(ext.labels, dtype=int), predict_proba(model, ext.arrays))
        history = pd.read_csv(out / "runs" / f"patients_{k:04d}" / "history.csv")
        rows.append({"patients": k, "alternatives": config.augment.alternatives, "samples_per_epoch": len(data.train),
                     "epochs": config.train.epochs, "selected_epoch": summary["epoch"],
                     "val_accuracy": summary["val_accuracy"],
                     "final_train_accuracy": float(history["accuracy"].iloc[-1]),
                     **{f"test_{m}": test[m] for m in ("accuracy", "sensitivity", "specificity", "auc")},
                     "test_auc_low": test["intervals"]["auc"][0], "test_auc_high": test["intervals"]["auc"][1],
                     "test_prediction_sd": test["prediction_sd"],
                     **{f"ext_{m}": external[m] for m in ("accuracy", "sensitivity", "specificity", "auc")},
                     "ext_auc_low": external["intervals"]["auc"][0], "ext_auc_high": external["intervals"]["auc"][1],
                     "ext_prediction_sd": external["prediction_sd"],
                     "train_seconds": summary["train_seconds"], "mean_bn_seconds": summary["mean_bn_seconds"],
                     "wall_seconds": time.perf_counter() - start, "load_average_at_start": load,
                     "weights_source": summary["weights_source"]})
        write_record(out, arm_name(k), key, row=rows[-1], history=history.to_dict(orient="records"))
        log(f"arm {k}: selected epoch {summary['epoch']}, test AUC {test['auc']:.3f}, external AUC "
            f"{external['auc']:.3f} [{external['intervals']['auc'][0]:.3f}, {external['intervals']['auc'][1]:.3f}]")
        if on_arm is not None:
            on_arm(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def markdown(rows: pd.DataFrame, provenance: dict) -> str:
    """The study's report: what was varied, what was held fixed, one line per arm."""
    d = provenance["dataset"]
    lines = [
        "# Learning against the number of training patients (a study beyond the paper)",
        "",
        f"Preset **{provenance['preset']}** settings (reduced: not the paper's numbers); weights "
        f"{provenance['weights_source']}; data {d['name']} ({d['n_cases']} cases, case table sha256 "
        f"{d['cases_sha256']}), external set {provenance['external']['name']} "
        f"({provenance['external']['n_cases']} cases).",
        "",
        "The default configuration (dual-mode, full-tune, box 256 px) trained on nested, label-stratified "
        "subsets of the training part; every arm has the same validation patients (model selection) and "
        "test patients. " + ("Each arm has its own fixed number of epochs (not equal compute)."
                             if provenance["study"].get("arm_epochs") else
                             "Each arm has the same augmented samples per epoch and epochs.")
        + " The paper protocol's 96-case set gives 60.",
        "",
        f"Command: `{provenance.get('command', '')}`",
        "",
        "| training patients | alternatives | epochs | selected epoch | final train acc | test acc / sens / spec | "
        "test AUC (95% CI) | external acc / sens / spec | external AUC (95% CI) | external p SD | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.patients} | {r.alternatives} | {r.epochs} | {r.selected_epoch} | {r.final_train_accuracy:.0%} | "
            f"{r.test_accuracy:.0%} / {r.test_sensitivity:.0%} / {r.test_specificity:.0%} | "
            f"{r.test_auc:.3f} ({r.test_auc_low:.3f}-{r.test_auc_high:.3f}) | "
            f"{r.ext_accuracy:.0%} / {r.ext_sensitivity:.0%} / {r.ext_specificity:.0%} | "
            f"{r.ext_auc:.3f} ({r.ext_auc_low:.3f}-{r.ext_auc_high:.3f}) | {r.ext_prediction_sd:.3f} | "
            f"{r.train_seconds:.0f} |")
    lines += ["", "- AUC intervals: percentile bootstrap stratified by class (2000 resamples, seed 0); one "
              "training run per arm, so run-to-run variation is not in the intervals.", ""]
    return "\n".join(lines)


def figure(rows: pd.DataFrame, path: Path, title: str) -> None:
    """External and test AUC (with intervals) against training patients."""
    from ..io.atomic import atomic_path
    from ..reporting.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for prefix, name, marker, nudge in (("ext", "external set", "o", 0.98), ("test", "test part", "s", 1.02)):
        y = rows[f"{prefix}_auc"].to_numpy()
        err = np.abs(rows[[f"{prefix}_auc_low", f"{prefix}_auc_high"]].to_numpy().T - y)
        ax.errorbar(rows["patients"] * nudge, y, yerr=err, marker=marker, capsize=3, label=name)
    for r in rows.itertuples():  # training time beside each external point
        ax.annotate(f"{r.train_seconds / 60:.0f} min", (r.patients * 0.98, r.ext_auc), textcoords="offset points",
                    xytext=(-4, -12), ha="right", fontsize=7, color="C0")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(rows["patients"], [str(p) for p in rows["patients"]])
    ax.set_xlabel("training patients")
    ax.set_ylabel("ROC AUC (95% CI)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
