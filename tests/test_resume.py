"""Mid-run resume (d2tl/training/checkpoint.py): a run killed with SIGKILL right after epoch k's
checkpoint appears resumes at epoch k + 1, and the result is the uninterrupted run's.

The real ``train`` command (test backbone, 75 px, 12 tiny cases, 2 runs x 4 epochs, Adam with a
cosine schedule, precise BN) runs in a subprocess that SIGKILLs itself just after
:func:`os.replace` has put its k-th ``checkpoint.npz`` in place (the rename that
:func:`d2tl.io.atomic.atomic_path` ends every write with), as a preemption at that moment would.
Polling from outside could miss a 0.2 s epoch; this lands after exactly that checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import write_tiny_cases

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--preset", "smoke", "--weights", "random", "--runs", "2", "--epochs", "4", "--schedule", "cosine"]

WRAPPER = """
import os, signal, sys
from pathlib import Path
kill_after, seen = int(os.environ["KILL_AFTER_CHECKPOINT"]), []
_replace = os.replace
def replace(src, dst, *a, **k):
    result = _replace(src, dst, *a, **k)
    if Path(dst).name == "checkpoint.npz":
        seen.append(dst)
        if len(seen) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    return result
os.replace = replace
from d2tl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _train(cases, out, tuning: str, kill_after: int | None = None):
    env = {**os.environ, "D2TL_TEST_BACKBONE": "stub", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "d2tl"]
    if kill_after:
        command, env["KILL_AFTER_CHECKPOINT"] = [sys.executable, "-c", WRAPPER], str(kill_after)
    return subprocess.run([*command, "train", "--cases", str(cases), "--out", str(out), *ARGS, "--tuning", tuning],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=600)


def _folder(out: Path) -> Path:
    return next(p for p in out.iterdir() if p.is_dir() and p.name != "cache")


def _weights(path: Path) -> dict:
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return found


def _result(out: Path) -> dict:
    """Everything a run's result is, timings left out."""
    folder = _folder(out)
    result = {"selected": json.loads((folder / "metrics.json").read_text())["selected"],
              "predictions": pd.read_csv(folder / "predictions.csv")}
    for run_dir in sorted(folder.glob("run_*")):
        history = pd.read_csv(run_dir / "history.csv")
        summary = json.loads((run_dir / "summary.json").read_text())
        result[run_dir.name] = {"history": history[[c for c in history if not c.endswith("seconds")]],
                                "summary": {k: v for k, v in summary.items() if "seconds" not in k},
                                "weights": _weights(run_dir / "best.weights.h5")}
    return result


def _same(a: dict, b: dict) -> None:
    assert a["selected"] == b["selected"] and a["predictions"].equals(b["predictions"])
    for run in ("run_00", "run_01"):
        pd.testing.assert_frame_equal(a[run]["history"], b[run]["history"], check_exact=True)
        assert a[run]["summary"] == b[run]["summary"]
        assert a[run]["weights"].keys() == b[run]["weights"].keys()
        for name, value in a[run]["weights"].items():
            np.testing.assert_array_equal(value, b[run]["weights"][name], err_msg=f"{run} {name}")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("resume") / "data", n=12)


@pytest.fixture(scope="module")
def references(cases, tmp_path_factory):
    """The uninterrupted run's result, per tuning (made once)."""
    made = {}

    def reference(tuning: str) -> dict:
        if tuning not in made:
            out = tmp_path_factory.mktemp(f"reference-{tuning}") / "out"
            done = _train(cases, out, tuning)
            assert done.returncode == 0, done.stdout
            made[tuning] = _result(out)
        return made[tuning]

    return reference


@pytest.mark.slow  # three train processes each (about 45 s on 2 cores); the round trip below is fast
@pytest.mark.parametrize("tuning, kill_after, run, epoch", [
    ("full", 2, 0, 2),
    ("full", 7, 1, 3),
    ("semi", 3, 0, 3),  # the head on cached backbone features
], ids=["full-tune, run 0 after epoch 2", "full-tune, run 1 after epoch 3", "semi-tune, run 0 after epoch 3"])
def test_a_run_killed_after_epoch_k_resumes_at_k_plus_1_with_the_same_result(cases, references, tmp_path,
                                                                            tuning, kill_after, run, epoch):
    out = tmp_path / "out"
    killed = _train(cases, out, tuning, kill_after)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    run_dir = _folder(out) / f"run_{run:02d}"
    assert (run_dir / "checkpoint.npz").is_file() and not (run_dir / "summary.json").is_file()
    assert len(pd.read_csv(run_dir / "history.csv")) == epoch  # the live history, written after every epoch
    resumed = _train(cases, out, tuning)
    assert resumed.returncode == 0, resumed.stdout
    assert f"run {run}: resuming after epoch {epoch} of 4" in resumed.stdout
    assert f"run {run} epoch 1/4" not in resumed.stdout and f"run {run} epoch {epoch + 1}/4" in resumed.stdout
    assert not list(_folder(out).rglob("checkpoint.npz"))  # removed once each run finished
    _same(_result(out), references(tuning))


def _small_model():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.Dropout(0.5)(inputs)))
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def test_a_checkpoint_is_restored_exactly_and_one_of_something_else_is_ignored(tmp_path):
    """In process, on a small model: what is saved comes back (weights, seed states, optimiser,
    selection state); a checkpoint with another key, or a damaged one, is said and not resumed."""
    from d2tl.training.checkpoint import EpochCheckpoint, seed_states
    from d2tl.training.selection import EpochRecorder

    model, lines = _small_model(), []
    model.optimizer.iterations.assign(7)
    recorder = EpochRecorder(0, 4, log=lines.append)
    recorder.record(model, 0, {"loss": 0.5, "accuracy": 0.5, "val_loss": 0.4, "val_accuracy": 0.6}, {"train": 1.0})
    saver = EpochCheckpoint(tmp_path, "this", recorder, log=lines.append)
    saver.set_model(model)
    saver.on_epoch_end(0, {})
    assert len(pd.read_csv(tmp_path / "history.csv")) == 1
    saved = [np.asarray(v) for v in model.variables + model.optimizer.variables]
    other = _small_model()
    fresh = EpochRecorder(0, 4, log=lines.append)
    assert EpochCheckpoint(tmp_path, "this", fresh, log=lines.append).resume(other) == 1
    for a, b in zip(saved, [np.asarray(v) for v in other.variables + other.optimizer.variables]):
        np.testing.assert_array_equal(a, b)
    assert len(seed_states(other)) == 1 and int(other.optimizer.iterations) == 7
    assert fresh.rows == recorder.rows and fresh.best == recorder.best
    assert all(np.array_equal(a, b) for a, b in zip(fresh.weights, model.get_weights()))
    assert EpochCheckpoint(tmp_path, "another", EpochRecorder(0, 4), log=lines.append).resume(_small_model()) == 0
    assert "belongs to another configuration, run or data; training this run from epoch 1" in lines[-1]
    (tmp_path / "checkpoint.npz").write_bytes(b"half a file")
    assert EpochCheckpoint(tmp_path, "this", EpochRecorder(0, 4), log=lines.append).resume(_small_model()) == 0
    assert "is unreadable" in lines[-1]
