"""Rewrite a finished baseline folder's reports (``metrics.csv``, ``metrics.json``, ``metrics.md``)
with the current report code, from the folder's own files; nothing is refitted.

Why: a baseline folder shows D2TL's result beside the classifiers, read from a trained D2TL
configuration in the results store (``results/runs/``, not committed). Re-running the baseline
command where that store is absent drops the D2TL row and the paired tests. A finished folder
keeps every input of its reports (the rows of ``metrics.csv``, ``selection.csv``,
``provenance.json``, the oracle and paired tests of ``metrics.json``), so a change in how
they are reported (the best conventional baseline chosen on validation,
:mod:`d2tl.baseline.external`) reaches it unchanged in every fitted number. The refresh is
recorded in ``provenance.json`` (``refreshed``).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pandas as pd

from ..io.atomic import write_csv, write_text
from ..io.errors import D2TLError
from ..io.provenance import code_version, portable, portable_table, write_json
from .external import comparison
from .report import COLUMNS, EXTERNAL_COLUMNS, REPORTED_COLUMNS, markdown_table, row_name

REPORTS = ("metrics.csv", "metrics.json", "metrics.md")


def held_out_val_auc(selection: pd.DataFrame, default_masks: str) -> dict:
    """Row name -> validation AUC of the chosen setting (fitted on the training cases only),
    from ``selection.csv``: what :attr:`FitResult.held_out_val` gives a fresh run."""
    chosen = selection[selection["chosen"].astype(str).str.lower() == "true"]
    return {row_name(r["method"], r["masks"], default_masks): float(r["val_auc"]) for _, r in chosen.iterrows()}


def _read(folder: Path) -> dict:
    need = [*REPORTS, "selection.csv", "provenance.json"]
    missing = [name for name in need if not (folder / name).is_file()]
    if missing:
        raise D2TLError(f"{folder} is not a finished baseline folder: no {', '.join(missing)}")
    return {"table": pd.read_csv(folder / "metrics.csv"), "selection": pd.read_csv(folder / "selection.csv"),
            "metrics": json.loads((folder / "metrics.json").read_text()),
            "prov": json.loads((folder / "provenance.json").read_text())}


def refresh_reports(folder) -> Path:
    """Rewrite ``folder``'s reports (module docstring); returns the folder."""
    from .result_files import oracle_lines, paired_markdown

    folder = Path(folder)
    got = _read(folder)
    metrics, prov = got["metrics"], got["prov"]
    default, external = metrics["default_masks"], bool(metrics.get("external"))
    table = got["table"]
    ours = table["role"].isin(["baseline", "control"])
    table.loc[ours, "val_auc"] = table.loc[ours, "method"].map(held_out_val_auc(got["selection"], default))
    table = table.reindex(columns=COLUMNS + (EXTERNAL_COLUMNS if external else []) + REPORTED_COLUMNS)
    rows = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in table.to_dict(orient="records")]
    metrics.update(comparison=comparison(rows, default, external), rows=rows)
    lines = oracle_lines(metrics.get("oracle") or {}, prov.get("dataset") or {}, prov.get("external"))
    write_csv(folder / "metrics.csv", portable_table(table))
    write_json(folder / "metrics.json", portable(metrics))
    paired = pd.DataFrame(metrics.get("paired_tests") or [])
    write_text(folder / "metrics.md", portable(markdown_table(table, prov, lines) + paired_markdown(paired)))
    prov["refreshed"] = {"by": "d2tl.baseline.refresh.refresh_reports", "files": list(REPORTS),
                         "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                         "code": code_version()}
    write_json(folder / "provenance.json", portable(prov))
    return folder

