"""SIGKILL at the exact moment a final file is being put in place: while the
selected model is saved, while the test predictions are written and while the metrics are written.

The kill comes from inside the real ``train`` process (``python -m d2tl train``, test backbone,
75 px, 2 runs x 2 epochs, 12 cases): a wrapper around :func:`os.replace`, the rename that
:func:`d2tl.io.atomic.atomic_path` ends every write with, sends the process SIGKILL just before the
named file would appear, so its finished temporary file is left behind as a real kill leaves it.
Polling from outside cannot hit these windows (milliseconds) reliably; this hits them every time.
The rerun of the same command must then give the uninterrupted run's selected checkpoint and
test predictions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_tiny_cases

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--preset", "smoke", "--weights", "random", "--runs", "2", "--epochs", "2"]

# Run the real command line, but SIGKILL this process when a file named KILL_AT is about to be
# renamed into place in a configuration folder (not in a run_XX folder).
WRAPPER = """
import os, signal, sys
from pathlib import Path
target = os.environ["KILL_AT"]
_replace = os.replace
def replace(src, dst, *a, **k):
    dst = Path(dst)
    if dst.name == target and not dst.parent.name.startswith("run_"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _replace(src, dst, *a, **k)
os.replace = replace
from d2tl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(**extra):
    return {**os.environ, "D2TL_TEST_BACKBONE": "stub", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
            **extra}


def _train(cases, out, kill_at: str | None = None):
    command = [sys.executable, "-c", WRAPPER] if kill_at else [sys.executable, "-m", "d2tl"]
    env = _env(KILL_AT=kill_at) if kill_at else _env()
    return subprocess.run([*command, "train", "--cases", str(cases), "--out", str(out), *ARGS],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=600)


def _folder(out: Path) -> Path:
    return next(p for p in out.iterdir() if p.is_dir() and p.name != "cache")


def _result(out: Path):
    folder = _folder(out)
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics["selected"], pd.read_csv(folder / "predictions.csv")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("kill") / "data", n=12)


@pytest.fixture(scope="module")
def reference(cases, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    done = _train(cases, out)
    assert done.returncode == 0, done.stdout
    return _result(out)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["model.keras", "predictions.csv", "metrics.json"],
                         ids=["while the selected model is saved", "while predictions are written",
                              "while metrics are written"])
def test_sigkill_while_a_final_file_is_written_then_rerun(cases, reference, tmp_path, name):
    out = tmp_path / "out"
    killed = _train(cases, out, kill_at=name)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    folder = _folder(out)
    assert not (folder / "metrics.json").is_file() and not (folder / name).is_file()
    assert list(folder.glob(f".*.tmp.{name}")), "the kill left no temporary file: it did not hit the write"
    rerun = _train(cases, out)
    assert rerun.returncode == 0, rerun.stdout
    assert "run 0: finished earlier, reused" in rerun.stdout and "run 1: finished earlier, reused" in rerun.stdout
    assert "temporary file(s) a killed run left" in rerun.stdout
    assert not list(folder.rglob(".*.tmp.*")), "the rerun left the killed run's temporary files"
    selected, predictions = _result(out)
    assert selected == reference[0] and predictions.equals(reference[1])
