"""D2TL's own result beside the baseline: find and read a ``metrics.json`` made on the same
data set and split (see :mod:`d2tl.baseline.run`, "D2TL's result"), and the split fingerprint
that decides "the same split".
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..provenance import canonical_json

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
            "auc": float(auc) if isinstance(auc, (int, float)) else np.nan,
            "_default": model.get("architecture") == "dual_mode" and model.get("tuning") == "full"
            and model.get("weights") != "random" and roi.get("box") == 256 and not roi.get("shift")}


def find_d2tl_metrics(root, split_sha: str, dataset_sha: str, exclude=None) -> dict | None:
    """The best D2TL result under ``root`` (``*/metrics.json`` up to three folders deep) made on
    the same data set and split: the paper's default configuration (dual-mode, full-tune,
    ImageNet, box 256, no shift) first, then the paper preset, then the newest."""
    root = Path(root)
    exclude = Path(exclude).resolve() if exclude is not None else None
    found = []
    for pattern in ("*/metrics.json", "*/*/metrics.json", "*/*/*/metrics.json"):
        for path in root.glob(pattern):
            if exclude is not None and exclude in path.resolve().parents:
                continue
            d2tl = load_d2tl_metrics(path, split_sha, dataset_sha, quiet=True)
            if d2tl is not None and d2tl["split_verified"]:
                found.append((d2tl["_default"], d2tl["preset"] == "paper", path.stat().st_mtime, d2tl))
    if not found:
        return None
    return max(found, key=lambda item: item[:3])[3]
