"""Provenance: what every written result carries, so a reader can tell how it was made.

Configuration, seed, the weights source actually used, the data set, package versions, the
code version, and whether the run is the paper's full protocol or a reduced preset (a reduced
run is never a paper number).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import __version__
from .atomic import write_text

PACKAGES = ("tensorflow", "keras", "jax", "numpy", "scipy", "pydicom", "scikit-image", "mahotas",
            "scikit-learn", "pandas", "matplotlib", "pillow")
PAPER_PRESET = "paper"


def package_versions() -> dict:
    """Installed versions of the packages d2tl's results depend on (without importing them)."""
    versions = {"python": platform.python_version(), "d2tl": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def code_version() -> dict:
    """The git commit of the d2tl checkout, and whether it had local changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": dirty if commit else None}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def machine_roots() -> list[tuple[str, str]]:
    """``(absolute folder, what it is written as)`` for :func:`portable`, most specific first:
    the d2tl checkout (a folder with ``pyproject.toml`` above the package) and the working
    folder are dropped (paths become relative to them), the home folder becomes ``~``."""
    checkout = Path(__file__).resolve().parents[1]
    roots = {str(Path.cwd().resolve()): "", str(Path.home().resolve()): "~"}
    if (checkout / "pyproject.toml").is_file():
        roots[str(checkout)] = ""
    return sorted(((k, v) for k, v in roots.items() if k != os.sep), key=lambda kv: -len(kv[0]))


def portable(value, roots: list[tuple[str, str]] | None = None):
    """``value`` (a string, path, dict, list or table cell) with every absolute path of this
    machine rewritten by :func:`machine_roots`: under the checkout or the working folder, relative
    to it; under the home folder, ``~/...``. Committed results then read the same on every
    machine and leak no machine's layout. Other values are returned unchanged."""
    roots = machine_roots() if roots is None else roots
    if isinstance(value, (str, Path)):
        text = str(value)
        for root, short in roots:
            inside = f"{short}/" if short else ""  # root/x -> x or ~/x; root itself -> . or ~
            text = re.sub(r"(?<![\w.~/-])" + re.escape(root) + r"(?:/|(?![\w.~-]))",
                          lambda m: inside if m.group().endswith("/") else (short or "."), text)
        return text
    if isinstance(value, dict):
        return {k: portable(v, roots) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, roots) for v in value]
    return value


def portable_table(table, roots: list[tuple[str, str]] | None = None):
    """A pandas table with :func:`portable` applied to every text cell."""
    roots = machine_roots() if roots is None else roots
    return table.map(lambda v: portable(v, roots) if isinstance(v, str) else v)


def canonical_json(obj) -> str:
    return json.dumps(_jsonable(obj), sort_keys=True, separators=(",", ":"))


def config_hash(config: dict, length: int = 12) -> str:
    """A short, stable hash of a configuration (key order does not matter)."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:length]


def file_sha256(path, length: int = 16) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def dataset_info(cases_csv, table=None) -> dict:
    """Name, path and fingerprint of a case table (name from a ``dataset.json`` beside it)."""
    cases_csv = Path(cases_csv)
    info = {"cases": str(cases_csv), "cases_sha256": file_sha256(cases_csv)}
    described = cases_csv.parent / "dataset.json"
    if described.is_file():
        try:
            meta = json.loads(described.read_text())
            info["name"] = meta.get("name", cases_csv.parent.name)
            info["generator"] = {k: meta[k] for k in ("generator", "seed", "config") if k in meta} or None
        except json.JSONDecodeError:
            info["name"] = cases_csv.parent.name
    else:
        info["name"] = cases_csv.parent.name
    if table is not None:
        info["n_cases"] = int(len(table))
        info["labels"] = {str(k): int(v) for k, v in table["label"].value_counts().sort_index().items()}
    return info


def provenance(*, config: dict, seed, preset: str, dataset: dict | None = None,
               weights_source: str | None = None, **extra) -> dict:
    """The provenance block written beside every result (paths made :func:`portable`; the
    configuration hash is taken first, from the configuration as given)."""
    return portable(_jsonable({
        "d2tl_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "preset": preset,
        "paper_run": preset == PAPER_PRESET,
        "note": None if preset == PAPER_PRESET else
        f"reduced preset '{preset}': not comparable with the paper's numbers",
        "seed": seed,
        "weights_source": weights_source,
        "config": config,
        "config_hash": config_hash(config),
        "dataset": dataset,
        "packages": package_versions(),
        "code": code_version(),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine()},
        **extra,
    }))


def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")
