"""Concurrent runs and kills: the per-configuration lease, and ``train`` as
real subprocesses (test backbone, 75 px, 1-2 epochs, 12 cases)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_tiny_cases
from d2tl.training.lease import Lease

ROOT = Path(__file__).resolve().parents[1]


def _holder(path: Path, **fields):
    now = time.time()
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": now, "renewed": now,
                                "lease": 60, "token": "other", **fields}))


def test_a_held_lock_makes_the_second_wait_and_say_who_holds_it(tmp_path):
    lock = tmp_path / ".x.lock"
    first = Lease(lock, lease=60, log=lambda line: None)
    first.acquire()
    said, got = [], threading.Event()
    second = Lease(lock, lease=60, log=said.append)
    thread = threading.Thread(target=lambda: (second.acquire(), got.set()))
    thread.start()
    time.sleep(1.5)
    assert not got.is_set()
    assert said and f"held by host {socket.gethostname()} pid {os.getpid()}" in said[0] and "started" in said[0]
    first.release()
    thread.join(10)
    assert got.is_set() and json.loads(lock.read_text())["token"] == second.me["token"]
    second.release()
    assert not lock.exists()


def test_an_expired_lease_is_taken_over_saying_so(tmp_path):
    lock = tmp_path / ".x.lock"
    _holder(lock, host="node-7", renewed=time.time() - 120)  # another node, silent for 2 minutes
    said = []
    lease = Lease(lock, lease=60, log=said.append)
    lease.acquire()
    assert "took over the lock" in said[0] and "host node-7" in said[0] and "lease expired" in said[0]
    lease.release()


def test_a_dead_holder_on_this_host_is_taken_over_at_once(tmp_path):
    lock = tmp_path / ".x.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _holder(lock, pid=dead.pid)
    said = []
    lease = Lease(lock, lease=600, log=said.append)
    lease.acquire()
    assert "its process no longer exists" in said[0]
    lease.release()


def test_a_live_holder_on_another_host_is_waited_for(tmp_path):
    lock = tmp_path / ".x.lock"
    _holder(lock, host="node-7", pid=1)
    lease = Lease(lock, lease=600, log=lambda line: None)
    thread = threading.Thread(target=lease.acquire, daemon=True)
    thread.start()
    time.sleep(1.2)
    assert json.loads(lock.read_text())["host"] == "node-7"  # not taken
    lock.unlink()
    thread.join(10)
    assert json.loads(lock.read_text())["token"] == lease.me["token"]
    lease.release()


def test_the_lease_is_renewed_while_held(tmp_path):
    lock = tmp_path / ".x.lock"
    lease = Lease(lock, lease=2, log=lambda line: None)
    lease.acquire()
    first = json.loads(lock.read_text())["renewed"]
    time.sleep(1.3)
    assert json.loads(lock.read_text())["renewed"] > first
    lease.release()


# ------------------------------------------------------------------ real subprocesses (slow)

ARGS = ["--preset", "smoke", "--weights", "random", "--runs", "2", "--epochs", "2"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("lease") / "data", n=12)


def _train(cases, out, **popen):
    env = {**os.environ, "D2TL_TEST_BACKBONE": "stub", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "d2tl", "train", "--cases", str(cases), "--out", str(out), *ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **popen)


def _result(out: Path):
    folder = next(p for p in out.iterdir() if p.is_dir() and p.name != "cache")
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics["selected"], pd.read_csv(folder / "predictions.csv")


@pytest.fixture(scope="module")
def reference(cases, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    proc = _train(cases, out)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    return _result(out)


@pytest.mark.slow
def test_two_processes_on_one_configuration_train_it_once(cases, reference, tmp_path):
    out = tmp_path / "out"
    first, second = _train(cases, out), _train(cases, out)
    logs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], logs
    waited = [log for log in logs if "waiting:" in log]
    assert len(waited) == 1 and "held by host" in waited[0] and "written while this process waited" in waited[0]
    assert sum("run 0 epoch 1/2" in log for log in logs) == 1  # trained once
    selected, predictions = _result(out)
    assert selected == reference[0] and predictions.equals(reference[1])
    assert not list(out.glob(".*.lock"))


def _kill_when(proc, condition, timeout=300):
    start = time.time()
    while time.time() - start < timeout:
        if condition():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    proc.kill()
    return False


@pytest.mark.slow
@pytest.mark.parametrize("point", ["during an epoch", "between runs", "while the model is saved"])
def test_sigkill_then_rerun_gives_the_uninterrupted_result(cases, reference, tmp_path, point):
    out = tmp_path / "out"
    folders = lambda: [p for p in out.iterdir() if p.is_dir() and p.name != "cache"] if out.is_dir() else []  # noqa: E731
    conditions = {
        "during an epoch": lambda: any((f / "split.csv").is_file() for f in folders()),
        "between runs": lambda: any((f / "run_00" / "summary.json").is_file() for f in folders()),
        "while the model is saved": lambda: any((f / "run_01" / "summary.json").is_file() for f in folders()),
    }
    proc = _train(cases, out)
    assert _kill_when(proc, conditions[point]), "the process finished before the kill point"
    folder = folders()[0]
    assert not (folder / "metrics.json").is_file()
    rerun = _train(cases, out)
    log, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, log
    assert "took over the lock" in log and "its process no longer exists" in log  # the killed one's lock
    selected, predictions = _result(out)
    assert selected == reference[0] and predictions.equals(reference[1])
