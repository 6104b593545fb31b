"""The state files of a configuration folder: read safely, recomputed when safe, never left half-made.

Which damaged file does what (a file is damaged when it is truncated, not JSON or CSV, or lacks
what it must hold):

- ``metrics.json`` (the finished mark): recomputed from the finished runs, said in the log.
- ``run_NN/summary.json``, ``run_NN/history.csv``, ``run_NN/best.weights.h5``: the run is
  trained again (each run is deterministic given its seed, so the result is the same).
- ``config.json``: an error naming it: it is what proves the folder holds this configuration,
  so the folder must be deleted (or the file restored) to retrain.
- ``model.d2tl.json`` (read by ``predict`` and ``explain``): an error naming it; ``train``
  rewrites it when its ``metrics.json`` is deleted.

:func:`claimed` creates a configuration folder under its lease (:mod:`d2tl.training.lease`) and removes
it again when the command fails before any run finished or wrote an epoch checkpoint
(:mod:`d2tl.training.checkpoint`), so a failed command leaves nothing it cannot resume from.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pandas as pd

from ..io.errors import D2TLError

SUMMARY_KEYS = ("run", "epoch", "val_accuracy", "val_loss", "test", "test_probabilities", "weights_source")


def read_json(path, remedy: str) -> dict:
    """The JSON object in ``path``; a damaged file is a :class:`D2TLError` naming it and ``remedy``."""
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise D2TLError(f"file {path} is damaged (not JSON: {exc}); {remedy}") from None
    if not isinstance(value, dict):
        raise D2TLError(f"file {path} is damaged (holds {type(value).__name__}, not a JSON object); {remedy}")
    return value


def damage(run_dir: Path, epochs: int) -> str | None:
    """Why the finished run in ``run_dir`` cannot be used as it is, or None when it is intact."""
    try:
        summary = read_json(run_dir / "summary.json", "")
    except D2TLError as exc:
        return str(exc).rstrip("; ")
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    if missing:
        return f"{run_dir / 'summary.json'} lacks {', '.join(missing)}"
    history = run_dir / "history.csv"
    try:
        rows = pd.read_csv(history)
    except (OSError, ValueError) as exc:
        return f"{history} is unreadable ({type(exc).__name__}: {exc})"
    if len(rows) != epochs or "val_accuracy" not in rows or rows["val_accuracy"].isna().any():
        return f"{history} is half-written ({len(rows)} complete rows, {epochs} epochs expected)"
    weights = run_dir / "best.weights.h5"
    try:
        import h5py

        with h5py.File(weights, "r"):
            pass
    except OSError as exc:
        return f"{weights} is unreadable ({exc})"
    return None


def finished_run(run_dir: Path, epochs: int, log=print) -> dict | None:
    """The summary of the finished, intact run in ``run_dir``; None when it is to be trained
    (not finished, or damaged: then said, and its summary removed so the state is consistent)."""
    summary = run_dir / "summary.json"
    if not summary.is_file():
        return None
    why = damage(run_dir, epochs)
    if why is None:
        return json.loads(summary.read_text())
    log(f"{run_dir.name}: {why}; training this run again (runs are deterministic given their seed)")
    summary.unlink()
    return None


def finished_metrics(directory: Path, name: str, log=print) -> dict | None:
    """``directory/name`` (metrics.json) when it is there and intact; a damaged one is said and
    removed, and the result recomputed from the finished runs."""
    path = directory / name
    if not path.is_file():
        return None
    try:
        metrics = read_json(path, "")
        if "selected" in metrics and "directory" in metrics:
            return metrics
        why = f"{path} lacks selected or directory"
    except D2TLError as exc:
        why = str(exc).rstrip("; ")
    log(f"{why}; recomputing it from the finished runs")
    path.unlink()
    return None


def check_config_file(path: Path, hashed: dict, directory: Path) -> bool:
    """Does ``config.json`` exist (and hold ``hashed``)? Another configuration or a damaged file is an error."""
    if not path.is_file():
        return False
    held = read_json(path, f"delete the folder {directory} to train this configuration again, or restore the file")
    if held.get("hashed_config") != hashed:
        raise D2TLError(f"{directory} holds another configuration; refusing to mix results")
    return True


@contextlib.contextmanager
def claimed(directory: Path, lease: float, log=print):
    """Hold ``directory``'s lease and create the folder; on failure remove it (and the parent
    folders this call created) if this process created it and no run in it finished or wrote an
    epoch checkpoint."""
    from .lease import held

    directory = Path(directory)
    made = [p for p in (directory, *directory.parents) if not p.exists()]
    try:
        with held(directory.with_name(f".{directory.name}.lock"), lease, log):
            created = not directory.exists()
            directory.mkdir(parents=True, exist_ok=True)
            try:
                yield directory
            except BaseException:
                if created and not any(directory.glob("run_*/summary.json")) \
                        and not any(directory.glob("run_*/checkpoint.npz")):
                    shutil.rmtree(directory, ignore_errors=True)
                raise
    except BaseException:
        for folder in made[1:]:  # innermost first; a folder something else now uses stays
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
