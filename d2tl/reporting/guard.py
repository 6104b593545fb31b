"""The one guard against overwriting a report made from other configurations: a report folder's
``provenance.json`` records a digest of what made it, and another digest refuses to replace it."""

from __future__ import annotations

import json
from pathlib import Path

from ..io.errors import D2TLError


def recorded(provenance_json: Path, key: str):
    """``key`` as recorded in ``provenance_json``; None when the file is unreadable or lacks it."""
    try:
        return json.loads(Path(provenance_json).read_text()).get(key)
    except (OSError, json.JSONDecodeError):
        return None


def refuse_other(provenance_json: Path, key: str, digest: str, message) -> None:
    """Raise :class:`D2TLError` with ``message(recorded digest)`` when ``provenance_json`` exists and
    records another ``key`` than ``digest``; nothing when it is absent or the same."""
    provenance_json = Path(provenance_json)
    if not provenance_json.is_file():
        return
    old = recorded(provenance_json, key)
    if old != digest:
        raise D2TLError(message(old))
