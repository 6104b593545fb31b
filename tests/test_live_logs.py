"""Live logs: ``train --tensorboard DIR`` writes Keras's TensorBoard logs per configuration and
run, validation included (test backbone, in process); a file given as DIR is refused before any
work. The history written after every epoch is checked by tests/test_resume.py on a killed run."""

from __future__ import annotations

import pytest

from conftest import write_tiny_cases
from d2tl.cli import main

ARGS = ["--preset", "smoke", "--weights", "random", "--runs", "1", "--epochs", "2"]


def test_tensorboard_logs_training_and_validation_per_epoch(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    cases = write_tiny_cases(tmp_path / "data", n=12)
    board = tmp_path / "board"
    assert main(["train", "--cases", str(cases), "--out", str(tmp_path / "out"), *ARGS,
                 "--tensorboard", str(board)]) == 0
    (run,) = board.glob("*/run_00")
    assert (tmp_path / "out" / run.parent.name / "metrics.json").is_file()  # named by the configuration's folder
    for part in ("train", "validation"):
        events = EventAccumulator(str(run / part))
        events.Reload()
        assert {"epoch_loss", "epoch_accuracy"} <= set(events.Tags()["tensors"]), part
        assert [e.step for e in events.Tensors("epoch_loss")] == [0, 1]


def test_a_file_as_tensorboard_folder_is_refused_before_any_work(tmp_path, capsys):
    cases = write_tiny_cases(tmp_path / "data", n=4)
    (tmp_path / "afile").write_text("x")
    rc = main(["train", "--cases", str(cases), "--out", str(tmp_path / "out"), *ARGS,
               "--tensorboard", str(tmp_path / "afile")])
    assert rc == 2 and "--tensorboard" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_tensorboard_missing_is_named(monkeypatch):
    import importlib.util

    from d2tl.io.errors import D2TLError
    from d2tl.training.arg_checks import check_tensorboard

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(D2TLError, match="--tensorboard needs the tensorboard package"):
        check_tensorboard()
