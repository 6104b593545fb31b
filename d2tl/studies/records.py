"""A study's finished arms, kept as small records beside its results (``OUT/arms/<name>.json``).

A record holds the arm's key (what made its result: configuration, case tables and whatever else
the study names), its table row and what the study needs to report it again. Records are
committed with the results, so a study longer than a session continues on a fresh checkout,
which has neither the trained models nor their folders, from its last finished arm. A record
whose key differs from the arm asked for is ignored, never mixed in.
"""

from __future__ import annotations

import json
from pathlib import Path

RECORDS = "arms"


def arm_key(config, cases_csv, external_csv, **more) -> dict:
    """The key of an arm: its configuration and the two case tables' fingerprints, plus ``more``."""
    from ..io.provenance import file_sha256

    return {"config": json.loads(json.dumps(config.to_dict())), "cases_sha256": file_sha256(cases_csv),
            "external_sha256": file_sha256(external_csv), **more}


def record_path(out, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-80:]
    return Path(out) / RECORDS / f"{safe}.json"


def read_record(out, name: str, key: dict) -> dict | None:
    """The record of arm ``name`` when it was made with ``key``, else None."""
    path = record_path(out, name)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("key") == key else None


def write_record(out, name: str, key: dict, **payload) -> None:
    from ..io.provenance import write_json

    write_json(record_path(out, name), {"key": key, **payload})
