"""The package tree is the architecture: docs/architecture.md's layer table is read here and the
code's import graph (every import, function-local ones included) must follow it.

- no cycle between modules, nor between packages (a package is a folder of ``d2tl/``, at any depth);
- a layer imports only layers below it in the table, and every top-level package or module of
  ``d2tl/`` is a row of the table (so the document and the code cannot drift apart).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "d2tl"
DOC = ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, name: str, known) -> dict[str, int]:
    """d2tl modules that ``path`` imports anywhere in it -> the first line importing each; ``from
    P import m`` counts as an import of module ``P.m`` when there is one, else of ``P``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        else:
            continue
        for target in targets:
            if target == "d2tl" or target.startswith("d2tl."):
                found.setdefault(target, node.lineno)
    return found


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {name: {t: line for t, line in imports(path, name, known).items() if t != name}
            for name, path in known.items()}


def package_of(module: str) -> str:
    """The folder a module is in (a package's ``__init__`` is in its own folder); a top-level module
    of ``d2tl/`` is its own layer, so it stands for itself."""
    if module.count(".") <= 1:
        return module
    return module if (ROOT / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]


def unit_of(module: str) -> str:
    """The layer table's entry of a module: its top-level package, or the top-level module itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return "d2tl"
    return ".".join(parts[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def layers() -> list[str]:
    """The layer table of docs/architecture.md, top first: each row's first cell names one package
    (``d2tl/x/``) or top-level module (``d2tl/x.py``)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [re.match(r"\|\s*`(d2tl/[^`]*)`\s*\|", line) for line in section.splitlines()]
    names = []
    for row in filter(None, rows):
        path = row.group(1).rstrip("/")
        if path.endswith(".py"):
            path = path[:-3]
        names.append("d2tl" if path == "d2tl/__init__" else path.replace("/", "."))
    return names


def test_the_layer_table_names_every_top_level_package_and_module():
    table = layers()
    assert len(table) == len(set(table)), f"a layer is named twice in {DOC.name}: {table}"
    code = {unit_of(m) for m in modules()}
    assert code - set(table) == set(), f"not in the layer table of {DOC.name}"
    assert set(table) - code == set(), f"in the layer table of {DOC.name} but not in d2tl/"


def test_no_import_cycle_between_modules():
    edges = {m: set(targets) for m, targets in graph().items()}
    assert cycles(edges) == []


def test_no_import_cycle_between_packages():
    edges = defaultdict(set)
    for module, targets in graph().items():
        for target in targets:
            a, b = package_of(module), package_of(target)
            if a != b:
                edges[a].add(b)
    assert cycles(edges) == []


def test_every_import_goes_down_the_layer_table():
    rank = {name: i for i, name in enumerate(layers())}  # 0 is the top
    upward = [f"{m} (line {line}) imports {t}: {unit_of(m)} is not above {unit_of(t)} in {DOC.name}"
              for m, targets in graph().items() for t, line in targets.items()
              if unit_of(m) != unit_of(t) and rank[unit_of(m)] >= rank[unit_of(t)]]
    assert upward == []
