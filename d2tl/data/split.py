"""The 60/16/20 train/validation/test split: stratified by label, grouped by person, seeded.

For the paper's 96 cases (48/48, one per person) it gives exactly 30/30, 8/8 and 10/10
(docs/paper-readings.md, "split"); other data sets get the same proportions per label. The same
split serves every experiment and the conventional baseline, so it is saved once and reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path
from ..io.errors import DataError
from ..protocol.paper import SPLIT_SIZES
from ..protocol.views import LABELS
from ..io.text_table import read_text_table

ATTEMPTS = 20  # greedy restarts when grouping prevents exact counts


def part_targets(label_counts: dict[str, int], sizes: dict[str, int] = SPLIT_SIZES) -> dict[str, dict[str, int]]:
    """Cases per part and label: ``sizes``' proportions applied to each label.

    Largest-remainder rounding (ties to the earlier part) so each label's counts add up; a
    part rounded to zero takes one case from the largest part, so every part holds every label.
    """
    _check_sizes(sizes)
    parts = list(sizes)
    total = sum(sizes.values())
    counts_text = ", ".join(f"{label} {label_counts.get(label, 0)}" for label in LABELS)
    targets = {p: {} for p in parts}
    for label in LABELS:
        n = int(label_counts.get(label, 0))
        if n < len(parts):
            raise DataError(f"too few cases to split ({counts_text}): every part "
                            f"({', '.join(parts)}) needs at least one {label} case")
        exact = np.array([n * sizes[p] / total for p in parts])
        counts = np.floor(exact).astype(int)
        order = sorted(range(len(parts)), key=lambda k: (-(exact[k] - counts[k]), k))
        for k in order[: n - counts.sum()]:
            counts[k] += 1
        for k in np.flatnonzero(counts == 0):
            counts[int(np.argmax(counts))] -= 1
            counts[k] = 1
        for p, c in zip(parts, counts):
            targets[p][label] = int(c)
    return targets


def split_cases(table: pd.DataFrame, seed: int, sizes: dict[str, int] = SPLIT_SIZES) -> pd.Series:
    """Assign every case to a part (``"train"``, ``"val"``, ``"test"``); indexed like ``table``.

    Uses columns ``id``, ``group`` (the person: never on two sides) and ``label``. Counts per
    part and label match :func:`part_targets` exactly when the groups allow it, else as
    closely as the greedy placement below finds.
    """
    _check_table(table)
    labels = table["label"].to_numpy()
    targets = part_targets({label: int((labels == label).sum()) for label in LABELS}, sizes)
    parts = list(sizes)
    target = np.array([[targets[p][label] for label in LABELS] for p in parts])

    # scikit-learn has no grouped, stratified three-way splitter with exact counts
    # (StratifiedGroupKFold is k-fold and only approximately stratified), hence this greedy:
    # groups in random order, larger groups first; each goes to a part it overfills least,
    # drawn with probability proportional to that part's remaining room for its labels; then
    # moves and swaps of groups while they help. With one case per group the first attempt is
    # a uniformly random split with exact counts; otherwise the best of a few attempts is kept.
    rng = np.random.default_rng(seed)
    groups = table.groupby(table["group"].astype(str), sort=True).indices
    best = None
    for _ in range(ATTEMPTS):
        names = list(groups)
        names = [names[k] for k in rng.permutation(len(names))]
        names.sort(key=lambda g: -len(groups[g]))  # stable: the shuffle orders equal sizes
        mixes = np.array([[(labels[groups[g]] == label).sum() for label in LABELS] for g in names])
        place, miss = _place(mixes, target, rng)
        if best is None or miss < best[0]:
            best = (miss, names, place)
        if miss == 0:
            break
    _, names, place = best

    assigned = np.empty(len(table), dtype=object)
    for g, k in zip(names, place):
        assigned[groups[g]] = parts[k]
    parts_series = pd.Series(assigned, index=table.index, name="part")
    summary = split_summary(table, parts_series, parts)
    if (summary[list(LABELS)] == 0).to_numpy().any():
        raise DataError("cannot give every part a case of each label without splitting a "
                        f"person's cases; counts per part and label:\n{summary.to_string()}")
    return parts_series


def _place(mixes, target, rng) -> tuple[np.ndarray, int]:
    """Greedy placement of groups (label mixes, in order) into parts, then :func:`_improve`.

    Returns each group's part index and the total miss, sum |count - target|.
    """
    room = target.copy()
    place = np.empty(len(mixes), dtype=int)
    for i, mix in enumerate(mixes):
        overfill = np.maximum(mix - room, 0).sum(axis=1)
        candidates = np.flatnonzero(overfill == overfill.min())
        weight = (np.maximum(room[candidates], 0) * mix).sum(axis=1)
        place[i] = rng.choice(candidates, p=weight / weight.sum() if weight.sum() > 0 else None)
        room[place[i]] -= mix
    counts = target - room
    _improve(place, mixes, counts, target, rng)
    return place, int(np.abs(counts - target).sum())


def _improve(place, mixes, counts, target, rng) -> None:
    """Move a group, or swap two, between parts while that brings ``counts`` closer to ``target``.

    Only does anything when multi-case groups made the greedy miss. Works on the few distinct
    group label mixes rather than on groups, so it is cheap. Updates ``place`` in place.
    """
    kinds, kind_of = np.unique(mixes, axis=0, return_inverse=True)
    kind_of = kind_of.ravel()
    nothing = len(kinds)  # a "kind" standing for no group: a swap with it is a move
    kinds = np.vstack([kinds, np.zeros_like(kinds[0])])
    while True:
        dev = counts - target
        best, move = 0, None
        for a in range(len(target)):
            for b in range(len(target)):
                if a == b:
                    continue
                for t in np.unique(kind_of[place == a]):
                    for u in [*np.unique(kind_of[place == b]), nothing]:
                        delta = kinds[t] - kinds[u]  # net cases going from a to b
                        gain = (np.abs(dev[a]).sum() + np.abs(dev[b]).sum()
                                - np.abs(dev[a] - delta).sum() - np.abs(dev[b] + delta).sum())
                        if gain > best:
                            best, move = gain, (a, b, t, u, delta)
        if move is None:
            return
        a, b, t, u, delta = move
        g = rng.choice(np.flatnonzero((place == a) & (kind_of == t)))
        if u != nothing:
            place[rng.choice(np.flatnonzero((place == b) & (kind_of == u)))] = a
        place[g] = b
        counts[a] -= delta
        counts[b] += delta


def split_summary(table: pd.DataFrame, parts: pd.Series, order=None) -> pd.DataFrame:
    """Case counts per part (rows, in ``order`` or train/val/test order) and label, plus total."""
    if order is None:
        known = [p for p in SPLIT_SIZES if p in set(parts)]
        order = known + sorted(set(parts) - set(known))
    counts = pd.crosstab(parts.reindex(table.index), table["label"])
    counts = counts.reindex(index=list(order), columns=list(LABELS), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.index.name, counts.columns.name = "part", None
    return counts.astype(int)


def save_split(parts: pd.Series, table: pd.DataFrame, path) -> None:
    """Write the split as a CSV of ``id, part`` (atomically)."""
    out = pd.DataFrame({"id": table["id"].astype(str).to_numpy(),
                        "part": parts.reindex(table.index).to_numpy()})
    with atomic_path(Path(path)) as tmp:
        out.to_csv(tmp, index=False)


def load_split(path, table: pd.DataFrame | None = None) -> pd.Series:
    """Read a split CSV: parts by id, or, given ``table``, indexed like it (all ids must match)."""
    path = Path(path)
    data = read_text_table(path, "split file")
    if list(data.columns[:2]) != ["id", "part"]:
        raise DataError(f"split file {path}: columns must be id, part; got {', '.join(data.columns)}")
    duplicated = data["id"][data["id"].duplicated()]
    if len(duplicated):
        raise DataError(f"split file {path}: duplicate id {duplicated.iloc[0]!r}")
    by_id = pd.Series(data["part"].to_numpy(), index=data["id"].to_numpy(), name="part")
    if table is None:
        return by_id
    ids = table["id"].astype(str)
    missing = ids[~ids.isin(by_id.index)]
    extra = by_id.index[~by_id.index.isin(ids)]
    if len(missing) or len(extra):
        raise DataError(f"split file {path} does not match the case table: "
                        f"{len(missing)} case(s) missing (e.g. {list(missing[:3])}), "
                        f"{len(extra)} unknown id(s) (e.g. {list(extra[:3])})")
    return pd.Series(by_id.reindex(ids).to_numpy(), index=table.index, name="part")


def _check_sizes(sizes) -> None:
    if not sizes or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0
                        for v in sizes.values()):
        raise ValueError(f"sizes must map part names to positive integers, got {sizes!r}")


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in ("id", "group", "label") if c not in table.columns]
    if missing:
        raise DataError(f"case table lacks column(s) {', '.join(missing)} needed to split")
    bad = table.loc[~table["label"].isin(LABELS), "label"]
    if len(bad):
        raise DataError(f"case table: label {bad.iloc[0]!r} is not one of {', '.join(LABELS)}")
    duplicated = table["id"][table["id"].astype(str).duplicated()]
    if len(duplicated):
        raise DataError(f"case table: duplicate id {duplicated.iloc[0]!r}")
