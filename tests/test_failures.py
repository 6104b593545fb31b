"""Failures fail (d2tl/io/failures.py): run-all, a shard, a section and run-shards exit non-zero when
any step fails, after running the other steps; the summary names what failed and what was still
written. Test backbone (D2TL_TEST_BACKBONE=stub), smoke preset, eight tiny patients; the
failures are injected into one step each."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from conftest import write_tiny_cases
from d2tl.cli import main
from d2tl.io.failures import Failures, StepsFailed

ARGS = ["--preset", "smoke", "--weights", "random", "--external", "none"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return write_tiny_cases(tmp_path_factory.mktemp("failures") / "data", n=8)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("failures-out") / "out"


@pytest.fixture(autouse=True)
def stub(monkeypatch):
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")


def _fail_on(monkeypatch, word: str):
    """Make training any configuration whose label holds ``word`` raise; the others train."""
    from d2tl.sections.context import Context

    original = Context.train

    def train(self, config, label=""):
        if word in label:
            raise RuntimeError(f"injected failure of {label}")
        return original(self, config, label)

    monkeypatch.setattr(Context, "train", train)


def test_run_all_with_a_failing_step_runs_the_rest_and_exits_non_zero(cases, out, monkeypatch, capsys):
    import d2tl.commands.run_all

    def broken(ctx, jobs=None):
        raise RuntimeError("injected baseline failure")

    monkeypatch.setattr(d2tl.commands.run_all, "run_baseline", broken)
    rc = main(["run-all", "--cases", str(cases), "--out", str(out), *ARGS, "--sections", "pooling",
               "--skip-interpretation"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "1 step(s) failed: baseline (RuntimeError: injected baseline failure)" in err
    assert (out / "pooling" / "pooling.csv").is_file()  # the step before it still wrote its report
    summary = (out / "SUMMARY.md").read_text()
    assert "- failed: baseline: RuntimeError: injected baseline failure" in summary
    assert f"- written anyway: `{out / 'pooling'}`" in summary and "## Sec. 4.3" in summary
    assert "Not run: RuntimeError: injected baseline failure" in summary
    record = json.loads((out / "run_all.json").read_text())
    assert record["failed"] == [{"step": "baseline", "error": "RuntimeError: injected baseline failure"}]


def test_a_section_with_a_failing_configuration_trains_the_others_and_exits_non_zero(cases, out, monkeypatch,
                                                                                    capsys):
    _fail_on(monkeypatch, "dual-mode")
    fresh = out.parent / "section"
    rc = main(["pooling", "--cases", str(cases), "--out", str(fresh), *ARGS])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "pooling: dual-mode (D2TL) (RuntimeError: injected failure" in err
    assert "1 of 2 configurations of pooling finished" in err and not (fresh / "pooling").exists()
    assert len([p for p in (fresh / "runs").iterdir() if (p / "metrics.json").is_file()]) == 1


def test_a_shard_with_a_failing_configuration_exits_non_zero(cases, out, monkeypatch, capsys):
    _fail_on(monkeypatch, "simple pooling")
    rc = main(["run-all", "--cases", str(cases), "--out", str(out), *ARGS, "--sections", "pooling",
               "--shard", "0/1"])
    err = capsys.readouterr().err
    assert rc == 1 and "(pooling: simple pooling) (RuntimeError: injected failure" in err
    assert "1 of 2 configurations of shard 0/1 finished" in err


def test_run_shards_with_a_failing_shard_exits_non_zero_naming_its_log(tmp_path, monkeypatch):
    import d2tl.commands.run_shards

    # each "shard" exits with its index as status: shard 0 succeeds, shard 1 fails
    monkeypatch.setattr(d2tl.commands.run_shards, "RUN_ALL", [sys.executable, "-c",
                                                    "import sys; sys.exit(int(sys.argv[-1].split('/')[0]))"])
    args = argparse.Namespace(gpus=None, processes=2, run_all_args=["--", "--out", str(tmp_path)])
    with pytest.raises(StepsFailed, match="shard 1/2 \\(exit status 1; see .*shard-1.log\\)") as info:
        d2tl.commands.run_shards.run(args)
    assert info.value.failed == [("shard 1/2", f"exit status 1; see {tmp_path / 'shards' / 'shard-1.log'}")]
    assert "finished by shard 0/2" in info.value.written[0]


def test_failures_records_every_failed_step_and_keeps_going():
    failures, ran = Failures(log=lambda line: None), []
    for name in ("a", "b", "c"):
        with failures.step(name):
            ran.append(name)
            if name != "b":
                raise ValueError(f"bad {name}")
            failures.wrote(name)
    assert ran == ["a", "b", "c"] and failures.error("c") == "ValueError: bad c" and failures.error("b") is None
    with pytest.raises(StepsFailed, match="2 step\\(s\\) failed: a \\(ValueError: bad a\\); c .* Written anyway: b"):
        failures.check()
    with pytest.raises(KeyboardInterrupt), failures.step("d"):  # Ctrl-C stops the command at once
        raise KeyboardInterrupt
