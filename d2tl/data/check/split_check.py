"""check-data ``--split``: every case in exactly one part, no person in two parts; cases per part."""

from __future__ import annotations

import pandas as pd

from ...protocol.views import LABELS


PARTS = ("train", "val", "test")
def _check_split(split, table: pd.DataFrame, problems: list) -> dict:
    from ..split import load_split

    parts = load_split(split)  # unreadable -> DataError (bad input)
    ids = table["id"]
    missing = [i for i in ids if i not in parts.index]
    extra = [i for i in parts.index if i not in set(ids)]
    if missing:
        problems.append(f"split {split}: {len(missing)} case(s) in no part: {', '.join(missing[:20])}"
                        + (" ..." if len(missing) > 20 else ""))
    if extra:
        problems.append(f"split {split}: {len(extra)} id(s) not in the case table: {', '.join(extra[:20])}"
                        + (" ..." if len(extra) > 20 else ""))
    bad = sorted({p for p in parts if p not in PARTS})
    if bad:
        problems.append(f"split {split}: part(s) {', '.join(map(repr, bad))} are not one of {', '.join(PARTS)}")
    assigned = table.assign(part=ids.map(parts))
    for group, rows in assigned.dropna(subset=["part"]).groupby("group"):
        if rows["part"].nunique() > 1:
            where = ", ".join(f"{i} in {p}" for i, p in zip(rows["id"], rows["part"]))
            problems.append(f"split {split}: person {group} is in {rows['part'].nunique()} parts ({where})")
    counts = pd.crosstab(assigned["part"], assigned["label"]).reindex(columns=list(LABELS), fill_value=0)
    order = [p for p in PARTS if p in counts.index] + sorted(p for p in counts.index if p not in PARTS)
    return {part: {label: int(counts.loc[part, label]) for label in LABELS} for part in order}
