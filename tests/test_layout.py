"""The house plan stays kept: no module over 400 lines, and no module keeps a mutable cache at
module level. The import rules (no cycle; reporting, below the sections, never imports one) are
tests/test_layers.py's, checked against docs/architecture.md's layer table."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "d2tl"
MAX_LINES = 400


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_module_level_mutable_cache():
    """A module-level name bound to an empty dict, list or set (a cache or registry filled at run
    time) is state the training engine or a Context should own instead."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) and node.value is not None else []
            value = getattr(node, "value", None)
            empty = (isinstance(value, (ast.Dict, ast.List, ast.Set)) and not getattr(value, "keys", None)
                     and not getattr(value, "elts", None)) or (
                isinstance(value, ast.Call) and getattr(value.func, "attr", getattr(value.func, "id", ""))
                in ("OrderedDict", "defaultdict", "dict", "list", "set") and not value.args)
            if targets and empty:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == []
