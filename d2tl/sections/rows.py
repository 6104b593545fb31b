"""A section's table rows: one per configuration (settings, selected model's test metrics with
intervals, per-run spread, timing, external set, provenance) and their SUMMARY.md subset."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .context import Record
from .planned import Planned
from .stats import steady_epoch_seconds

METRICS = ("accuracy", "sensitivity", "specificity", "auc")


def read_history(directory: Path) -> pd.DataFrame:
    path = Path(directory) / "history.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["run", "epoch", "accuracy", "seconds"])


def config_row(planned: Planned, metrics: dict, directory: Path, record: Record | None,
               label: str = "", external: dict | None = None) -> dict:
    """One table row: what the configuration is, its selected model's test metrics, per-run
    spread, timing and provenance."""
    from ..stats.section_tests import row_intervals

    c = planned.config
    t = metrics["selected"]["test"]
    history = read_history(directory)
    steady = steady_epoch_seconds(history) if len(history) else None
    runs, epochs = planned.trained_config.train.runs, planned.trained_config.train.epochs
    per_run = metrics.get("per_run_test", {})
    row = {"label": planned.label, **planned.columns,
           "architecture": c.model.architecture, "tuning": c.model.tuning, "weights": c.model.weights,
           "weights_source": metrics["provenance"].get("weights_source"),
           "box": c.roi.box, "input_px": c.roi.input_size, "shift": c.roi.shift, "shift_seed": c.shift_seed,
           "runs": runs, "epochs": epochs,
           **{m: t.get(m) for m in METRICS},
           **row_intervals(t["confusion_matrix"], directory),
           **{k: t["confusion_matrix"][k] for k in ("tn", "fp", "fn", "tp")},
           "selected_run": metrics["selected"]["run"], "selected_epoch": metrics["selected"]["epoch"],
           "val_accuracy": metrics["selected"]["val_accuracy"],
           **{f"runs_{m}_mean": (per_run.get(m) or {}).get("mean") for m in ("accuracy", "sensitivity", "specificity")},
           **{f"runs_{m}_sd": (per_run.get(m) or {}).get("sd") for m in ("accuracy", "sensitivity", "specificity")},
           "train_seconds": metrics["train_seconds"],
           "steady_epoch_seconds": steady,
           "steady_train_seconds": None if steady is None else steady * runs * epochs,
           "test_prediction_sd": _prediction_sd(directory),
           **external_columns(external),
           "bn_stats": c.train.bn_stats, "frozen_bn": c.model.frozen_bn if c.model.tuning == "semi" else None,
           "learning_rate": c.train.learning_rate,
           "hash": directory.name,
           "status": _status(record, label),
           "compiled_graph_here": record.new_graph if record else None,
           "note": planned.note}
    return row


EXTERNAL_COLUMNS = ("ext_n", "ext_auc", "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity",
                    "ext_specificity", "ext_prediction_sd")


def external_columns(external: dict | None) -> dict:
    """The external-set columns of a table row (None where there is no external set)."""
    if not external:
        return {k: None for k in EXTERNAL_COLUMNS}
    ci = external["intervals"]["auc"] or (None, None)
    return {"ext_n": external["n"], "ext_auc": external["auc"], "ext_auc_low": ci[0], "ext_auc_high": ci[1],
            "ext_accuracy": external["accuracy"], "ext_sensitivity": external["sensitivity"],
            "ext_specificity": external["specificity"], "ext_prediction_sd": external["prediction_sd"]}


def _prediction_sd(directory: Path) -> float | None:
    path = Path(directory) / "predictions.csv"
    return float(pd.read_csv(path)["p_malignant"].std(ddof=0)) if path.is_file() else None


def _status(record: Record | None, label: str) -> str:
    if record is None:
        return "finished earlier"
    if record.first_use and record.first_use != label:
        return f"shared with {record.first_use} (trained once)" if record.status != "finished earlier" \
            else f"finished earlier (shared with {record.first_use})"
    return record.status


LEARNING_COLUMNS = ("label", "accuracy", "sensitivity", "specificity", "auc",
                    *(f"{m}_{end}" for m in METRICS for end in ("low", "high")), "test_prediction_sd", "ext_auc",
                    "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity", "ext_specificity",
                    "ext_prediction_sd")


def learning_rows(table: pd.DataFrame) -> list:
    """Per configuration: test and external-set metrics (for SUMMARY.md)."""
    keep = [c for c in LEARNING_COLUMNS if c in table]
    return json.loads(table[keep].to_json(orient="records", double_precision=15))  # as in the CSV
