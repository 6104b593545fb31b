"""``pip install .`` gives a package that runs: the wheel's metadata declares every third-party
module the code imports, the ``d2tl`` console script, and a ``Requires-Python`` that the
dependencies allow (numpy and pandas need 3.11 or later). The wheel is built offline from a copy
of the sources (no build isolation, so no download), never in the shared checkout."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as metadata
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

import d2tl

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"jax": "jax"}  # imported module -> the extra that installs it (imported lazily)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> dict:
    """The built wheel's METADATA (parsed) and entry_points.txt (text)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    shutil.copytree(ROOT / "d2tl", src / "d2tl", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
           "-q", "-w", str(out), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("d2tl-*.whl")
    with zipfile.ZipFile(path) as zf:
        info = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        return {"metadata": Parser().parsestr(zf.read(f"{info}/METADATA").decode()),
                "entry_points": zf.read(f"{info}/entry_points.txt").decode()}


def _requirements(meta) -> list[Requirement]:
    return [Requirement(r) for r in meta.get_all("Requires-Dist") or []]


def _third_party_imports() -> set[str]:
    """Top-level modules outside the standard library that d2tl's code imports (lazily or not)."""
    names = set()
    for path in (ROOT / "d2tl").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"d2tl", "__future__"}}


def test_metadata_declares_every_imported_distribution(wheel):
    reqs = _requirements(wheel["metadata"])
    required = {canonicalize_name(r.name) for r in reqs if r.marker is None}
    extras = {canonicalize_name(r.name): str(r.marker) for r in reqs if r.marker is not None}
    owners = metadata.packages_distributions()
    imported = _third_party_imports()
    assert {"numpy", "tensorflow", "keras"} <= imported  # the scan sees the code's imports
    for module in sorted(imported):
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        assert dists, f"no installed distribution provides module {module!r}"
        if module in OPTIONAL:
            assert any(d in extras and f'extra == "{OPTIONAL[module]}"' in extras[d] for d in dists), module
        else:
            assert dists & required, f"module {module!r} (from {sorted(dists)}) is not in Requires-Dist"


def test_installed_versions_satisfy_the_declared_bounds(wheel):
    """The tested environment (requirements.txt's pins) lies inside what the package declares."""
    for req in _requirements(wheel["metadata"]):
        if req.marker is None:
            assert req.specifier.contains(metadata.version(req.name)), (req, metadata.version(req.name))


def test_requires_python_is_true_to_the_dependencies(wheel):
    """The lowest Python the package claims is allowed by every dependency, and the minor release
    below it is refused by at least one (the bound is not looser than the pins allow)."""
    claimed = SpecifierSet(wheel["metadata"]["Requires-Python"])
    lowest = min(Version(f"3.{minor}") for minor in range(0, 30) if claimed.contains(f"3.{minor}"))
    below = Version(f"3.{lowest.minor - 1}")
    assert not claimed.contains(below)
    deps = [SpecifierSet(metadata.metadata(r.name)["Requires-Python"] or "")
            for r in _requirements(wheel["metadata"]) if r.marker is None]
    assert all(spec.contains(lowest) for spec in deps)
    assert not all(spec.contains(below) for spec in deps)
    assert claimed.contains(".".join(map(str, sys.version_info[:2])))


def test_console_script_runs_and_prints_the_version(wheel, capsys):
    lines = wheel["entry_points"].splitlines()
    section = lines[lines.index("[console_scripts]") + 1:]
    scripts = dict(line.replace(" ", "").split("=", 1) for line in section if "=" in line)
    module, _, name = scripts["d2tl"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    with pytest.raises(SystemExit) as stop:
        entry(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"d2tl {d2tl.__version__}"
