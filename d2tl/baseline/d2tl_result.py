"""D2TL's own result beside the baseline: find (by the default configuration's hash) and read a
``metrics.json`` made on the same data set and split (see :mod:`d2tl.baseline.run`, "D2TL's
result"), its intervals and paired tests against the classifiers from the ``predictions.csv``
beside it, and the split fingerprint that decides "the same split".
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.provenance import canonical_json

METRICS = ("accuracy", "sensitivity", "specificity")


def split_fingerprint(table: pd.DataFrame, parts: pd.Series) -> str:
    """sha256 (16 hex) of the sorted ``id -> part`` mapping: equal iff two splits are equal."""
    return _fingerprint(table["id"], parts.reindex(table.index))


def _fingerprint(ids, parts) -> str:
    mapping = dict(sorted(zip(map(str, ids), map(str, parts))))
    return hashlib.sha256(canonical_json(mapping).encode()).hexdigest()[:16]


def load_d2tl_metrics(path, split_sha: str | None = None, dataset_sha: str | None = None,
                      quiet: bool = False) -> dict | None:
    """D2TL's test metrics from a JSON file (formats: :mod:`d2tl.baseline.run`), or None when absent
    or unusable."""
    def note(text):
        if not quiet:
            print(f"note: {text}; D2TL row skipped", file=sys.stderr)

    if path is None or not Path(path).is_file():
        return None
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return note(f"D2TL metrics file {path} is not readable JSON")
    if not isinstance(data, dict):
        return note(f"{path} is not a JSON object")
    selected = data.get("selected") if isinstance(data.get("selected"), dict) else {}
    block = selected.get("test") if isinstance(selected.get("test"), dict) else data.get("test", data)
    if not isinstance(block, dict) or not all(isinstance(block.get(m), (int, float)) for m in METRICS):
        return note(f"{path} has no test accuracy/sensitivity/specificity")
    prov = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    recorded_data = (prov.get("dataset") or {}).get("cases_sha256") if isinstance(prov.get("dataset"), dict) else None
    if dataset_sha is not None and recorded_data is not None and recorded_data != dataset_sha:
        return note(f"{path} was computed on another data set")
    recorded = data.get("split_sha256")
    if recorded is None and isinstance(data.get("split"), dict):
        recorded = data["split"].get("sha256")
    beside = path.parent / "split.csv"
    if recorded is None and beside.is_file():
        try:
            written = pd.read_csv(beside, dtype=str, keep_default_na=False)
            recorded = _fingerprint(written["id"], written["part"])
        except (OSError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError):
            recorded = None
    verified = None if recorded is None or split_sha is None else recorded == split_sha
    if verified is False:
        return note(f"{path} was computed on another split")
    config = prov.get("config") if isinstance(prov.get("config"), dict) else {}
    model, roi = config.get("model") or {}, config.get("roi") or {}
    described = ", ".join(str(v) for v in (model.get("architecture"), model.get("tuning") and f"{model['tuning']}-tune",
                                            roi.get("box") and f"box {roi['box']}", prov.get("preset")) if v)
    auc = block.get("auc")
    return {"path": str(path), "split_verified": bool(verified), "configuration": described,
            "preset": prov.get("preset"), **{m: float(block[m]) for m in METRICS},
            "auc": float(auc) if isinstance(auc, (int, float)) else np.nan}


def find_d2tl_metrics(root, split_sha: str, dataset_sha: str, cases, preset: str) -> dict | None:
    """D2TL's result beside the baseline: the ``metrics.json`` of ``preset``'s default
    configuration (dual-mode, full-tune, default weights, box 256, no shift) on ``cases``, found
    in ``root/runs`` by its configuration hash (:mod:`d2tl.training.default_result`), never as the newest
    file; None (with a note naming the hash and the command that trains it) when it is missing,
    was made on another data set or split, or ``preset`` is not a D2TL preset."""
    from ..training.default_result import default_folder, train_command
    from ..protocol.presets import PRESETS

    store = Path(root) / "runs"
    if preset not in PRESETS:
        print(f"note: no D2TL preset {preset!r}; D2TL row skipped", file=sys.stderr)
        return None
    folder = default_folder(cases, preset, store)
    if not (folder / "metrics.json").is_file():
        print(f"note: the {preset} default configuration (hash {folder.name}) is not trained in {store} "
              f"(`{train_command(cases, preset, store)}`); D2TL row skipped", file=sys.stderr)
        return None
    d2tl = load_d2tl_metrics(folder / "metrics.json", split_sha, dataset_sha)
    return d2tl if d2tl is not None and d2tl["split_verified"] else None


def test_predictions(d2tl: dict | None):
    """D2TL's per-case test predictions (``predictions.csv`` beside its metrics file, with
    ``y`` and ``call``), or None."""
    from ..stats.section_tests import read_predictions

    return None if d2tl is None else read_predictions(Path(d2tl["path"]).parent)


def interval_columns(d2tl: dict | None) -> dict:
    """The D2TL row's 95% intervals (``<metric>_low`` / ``_high``, as every row of the table),
    from its predictions; empty without them."""
    from ..stats.evaluate import binary_metrics, interval_columns as columns

    p = test_predictions(d2tl)
    if p is None:
        return {}
    return columns(binary_metrics(p["y"], p["p_malignant"])["confusion_matrix"], p["y"], p["p_malignant"])


def paired_tests(d2tl: dict | None, predictions: pd.DataFrame, methods: dict) -> pd.DataFrame:
    """D2TL vs each conventional classifier in ``methods`` (shown name -> predictions column
    prefix) on the test cases of the baseline's ``predictions`` (``part`` column)."""
    from ..stats.section_tests import COLUMNS, baseline_table

    d2 = test_predictions(d2tl)
    if d2 is None:
        return pd.DataFrame(columns=list(COLUMNS))
    return baseline_table(d2, predictions[predictions["part"] == "test"], methods)
