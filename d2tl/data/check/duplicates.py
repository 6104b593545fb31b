"""check-data: the same images used twice, and one breast with two labels.

The same image file (same path, or byte-identical content) in two cases is a problem: with two
labels it contradicts itself, and under two persons the split (grouped by person) could put
one breast in both training and test. One breast (the same person and laterality) in two cases
with two different labels is a problem too: a case is one breast with one
finding, so two labels for it are a labelling error -- unless the data set really has two
lesions of one breast as two cases, which ``check-data --allow-two-labels-per-breast`` accepts
(they are then listed as notes). CDD-CESM as our adapter builds it never has it: a case there
is one breast, labelled once from all its images.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ...protocol.views import LABELS, LATERALITIES

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


def breast_label_problems(table: pd.DataFrame) -> list[str]:
    """One line per breast (person and laterality) that two or more cases give different labels."""
    valid = table[(table["group"] != "") & table["laterality"].isin(LATERALITIES) & table["label"].isin(LABELS)]
    lines = []
    for (group, laterality), rows in valid.groupby(["group", "laterality"], sort=True):
        if rows["label"].nunique() > 1:
            cases = ", ".join(f"{i} {label}" for i, label in zip(rows["id"], rows["label"]))
            lines.append(f"person {group}, breast {laterality}: {len(rows)} cases with two different labels "
                         f"({cases}); one breast, one finding -- or, if these are two lesions of one breast, "
                         f"accept them with --allow-two-labels-per-breast")
    return lines
