"""Spreading the protocol over processes: balanced shards, progress, reports from the
store, and 3 concurrent shard processes giving the same section tables as one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_tiny_cases
from d2tl import sections
from d2tl.commands import shards
from d2tl.io.errors import D2TLError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("n", range(1, 9))
def test_every_configuration_lands_in_one_shard_and_loads_are_balanced(n):
    rng = np.random.default_rng(n)
    costs = {f"h{i:02d}": float(c) for i, c in enumerate(rng.lognormal(0, 1, size=37))}
    where = shards.assign(costs, n)
    assert set(where) == set(costs) and set(where.values()) <= set(range(n))
    loads = shards.shard_loads(costs, n)
    assert sum(loads) == pytest.approx(sum(costs.values()))
    assert max(loads) <= np.mean(loads) + max(costs.values()) + 1e-9
    assert shards.assign(dict(reversed(list(costs.items()))), n) == where  # the same in every process


def test_paper_plan_entries_are_distinct_and_shared_ones_listed_once(tmp_path):
    cases = write_tiny_cases(tmp_path / "cases", n=8)
    ctx = sections.Context(cases, "paper", tmp_path / "out", log=lambda line: None)
    entries = shards.plan_entries(ctx, sections.ORDER)  # no ImageNet file needed to plan
    names = [e["hash"] for e in entries]
    assert len(names) == len(set(names))
    default = ctx.directory(ctx.base()).name
    shared = next(e for e in entries if e["hash"] == default)
    assert len(shared["used_by"]) >= 4  # box 256, original placement, D2TL pooling and tuning, ImageNet arm
    assert all(e["cost"] > 0 and not e["finished"] for e in entries)
    plan = shards.write_plan(tmp_path / "plan.json", ctx, sections.ORDER, entries, measured=False)
    assert plan["shards"]["8"]["wall"] <= plan["total_cost"] / 8 + plan["largest_cost"] + 1e-9
    assert shards.read_costs(tmp_path / "plan.json") == {e["hash"]: e["cost"] for e in entries}
    with pytest.raises(D2TLError, match="report-only"):
        shards.refuse_missing(ctx, ["pooling"])


@pytest.mark.parametrize("bad", ["3", "4/4", "-1/2", "a/b", "1/0"])
def test_bad_shard_is_named(bad):
    with pytest.raises(D2TLError, match="--shard"):
        shards.parse_shard(bad)


def test_progress_reports_k_of_k_and_an_eta():
    lines = []
    progress = shards.Progress([{"hash": "a", "cost": 1.0, "finished": False},
                                {"hash": "b", "cost": 3.0, "finished": False},
                                {"hash": "c", "cost": 2.0, "finished": True}], lines.append)
    progress.done("a")
    progress.done("c")  # finished earlier: not counted
    assert len(lines) == 1 and "1 of 2 configurations done" in lines[0] and "min left" in lines[0]


def _run_all(*args, env):
    return subprocess.Popen([sys.executable, str(ROOT / "experiments" / "run_all.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


TIMING = ("seconds", "status", "compiled_graph_here", "train_seconds", "steady_epoch_seconds", "steady_train_seconds")


@pytest.mark.slow
def test_three_concurrent_shards_then_report_only_equal_one_process(tmp_path):
    cases = write_tiny_cases(tmp_path / "cases", n=8)
    env = {**os.environ, "D2TL_TEST_BACKBONE": "stub", "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    # The smoke preset: the quick preset's code path (precise BN, cosine schedule, every section)
    # at 2 epochs and 1 augmented copy, so four processes on two cores take about a minute, not four.
    common = ["--preset", "smoke", "--cases", str(cases), "--external", "none", "--skip-baseline",
              "--skip-interpretation"]
    sharded, single = tmp_path / "sharded", tmp_path / "single"
    procs = [_run_all(*common, "--out", str(sharded), "--shard", f"{i}/3", env=env) for i in range(3)]
    procs.append(_run_all(*common, "--out", str(single), env=env))
    outputs = [p.communicate(timeout=1500)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    assert not (sharded / "SUMMARY.md").exists()  # shards write no reports
    missing = _run_all(*common, "--out", str(tmp_path / "empty"), "--report-only", env=env)
    text = missing.communicate(timeout=600)[0]
    assert missing.returncode == 2 and "not finished" in text and "Traceback" not in text
    report = _run_all(*common, "--out", str(sharded), "--report-only", env=env)
    text = report.communicate(timeout=900)[0]
    assert report.returncode == 0, text
    assert "trained" not in {r for r in pd.read_csv(sharded / "pooling" / "pooling.csv")["status"]}
    for name in sections.ORDER:
        a = pd.read_csv(sharded / name / f"{name}.csv")
        b = pd.read_csv(single / name / f"{name}.csv")
        keep = [c for c in a.columns if c not in TIMING]
        pd.testing.assert_frame_equal(a[keep], b[keep])
