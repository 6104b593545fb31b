"""check-data: the same images used twice, and one breast with two labels.

The same image file (same path, or byte-identical content) in two cases is a problem: with two
labels it contradicts itself, and under two persons the split (grouped by person) could put
one breast in both training and test. (Two rows of one person and laterality with two labels
but different images stay allowed: two lesions of one breast.)
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from pathlib import Path

import pandas as pd

IMAGE_COLUMNS = ("le_cc_path", "rec_cc_path", "le_mlo_path", "rec_mlo_path", "he_cc_path", "he_mlo_path")


def _digest(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None  # unreadable files are reported by the image checks
    return h.hexdigest()


def duplicate_problems(table: pd.DataFrame, base: Path) -> list[str]:
    """One line per pair of cases sharing image files, and per breast with two labels."""
    owners = defaultdict(set)  # ("path" | "content", key) -> case ids
    for row in table.to_dict("records"):
        for column in IMAGE_COLUMNS:
            value = row.get(column, "")
            if not value:
                continue
            path = Path(os.path.expanduser(value))
            path = str((path if path.is_absolute() else base / path).resolve())
            owners[("path", path)].add(row["id"])
            digest = _digest(path)
            if digest:
                owners[("content", digest)].add(row["id"])
    info = table.set_index("id")[["group", "label", "laterality"]].to_dict("index") if table["id"].is_unique else {}
    pairs = defaultdict(set)
    for (kind, key), ids in owners.items():
        if len(ids) > 1:
            pairs[tuple(sorted(ids))].add("the same file" if kind == "path" else "identical content")
    problems = []
    for ids, kinds in sorted(pairs.items()):
        rows = [info.get(i, {}) for i in ids]
        notes = []
        if len({r.get("label") for r in rows}) > 1:
            notes.append("with two labels (" + ", ".join(f"{i} {r.get('label')}" for i, r in zip(ids, rows)) + ")")
        if len({r.get("group") for r in rows}) > 1:
            notes.append("under two persons (" + ", ".join(f"{i} {r.get('group')}" for i, r in zip(ids, rows))
                         + "): the split could put one breast in training and test")
        problems.append(f"patients {', '.join(ids)} use {' and '.join(sorted(kinds))} image(s)"
                        + (f" {'; '.join(notes)}" if notes else ""))
    return problems
