"""The epoch-level checkpoint of one run: a run killed after epoch k resumes at epoch k + 1.

After every epoch (after its BN pass, validation and the best-so-far update) the run's
``history.csv`` is rewritten, so it can be read while the run trains, and then one file,
``run_NN/checkpoint.npz``, is written under a temporary name and renamed (:mod:`d2tl.io.atomic`),
so a kill leaves either the previous epoch's checkpoint or this one, never half of one. It holds

- every variable of the trained model: weights, BatchNormalization statistics and the dropout
  layers' seed-generator states (the random state of training);
- every variable of the optimiser: the step count (which drives a learning-rate schedule), the
  moments and, under mixed precision, the loss scale;
- the selection state (:class:`d2tl.training.selection.EpochRecorder`): the best epoch so far and
  its weights (not stored twice when the best epoch is this one), and the history rows;
- the training seconds so far, and a key naming the configuration, run, steps, data and weights
  source: a checkpoint of anything else is said and ignored.

The rest of a run's randomness is a function of its seed and of the epoch: the epoch orders are
drawn up front (:class:`d2tl.training.batches.EpochBatches`, which starts its stream at the
resumed epoch) and the model and precise-BN sample are rebuilt from the seed. The resumed run's
history, selected epoch, weights and test result are therefore those of an uninterrupted run
(tests/test_resume.py kills a real run with SIGKILL). The checkpoint is removed when the run's
``summary.json`` is written. For dual-mode InceptionV3 under Adam it is 0.57 GB (weights and two
moments) or 0.76 GB (and the best epoch's weights, when that is an earlier one), written in 2-3 s
on a 2-core CPU (docs/gpu.md): a few per cent of a quick-preset epoch.

Why not ``keras.callbacks.BackupAndRestore``: it saves the model and optimiser only, not the
best-so-far selection state or the history, which live outside the model; it resumes through a
private attribute (``model._initial_epoch``) set inside ``fit``, after the data source is made,
so the source cannot start its stream at the resumed epoch; and it writes its weights and its
epoch as two files one after the other, which a kill between them leaves disagreeing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..io.atomic import atomic_path, write_csv
from ..io.provenance import config_hash

FILE = "checkpoint.npz"


def checkpoint_key(config, run: int, total_steps: int, data, weights_source: str, path: dict) -> str:
    """What a checkpoint must have been made by to be resumed: configuration, run, steps, the
    data's sizes and labels, the weights source and the semi-tune path."""
    return config_hash({"config": config.to_dict(), "run": run, "total_steps": total_steps,
                        "labels": [np.asarray(part.y).tolist() for part in (data.train, data.val)],
                        "weights_source": weights_source, "path": path.get("semi_tune_path", "")})


def seed_states(model) -> list:
    """The model's variables that are not weights: its seed generators' states."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes ``history.csv`` and the checkpoint after every epoch (after the callbacks before
    it in ``fit``'s list, so the epoch is validated and recorded); :meth:`resume` reads it back."""

    def __init__(self, run_dir, key: str, recorder, log=print):
        super().__init__()
        self.run_dir, self.key, self.recorder, self.log = Path(run_dir), key, recorder, log
        self.path = self.run_dir / FILE
        self.seconds_before = 0.0  # training seconds of the epochs a resumed checkpoint holds
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Training seconds of this run so far, the resumed process's included."""
        return self.seconds_before + (time.perf_counter() - self._start if self._start is not None else 0.0)

    def on_epoch_end(self, epoch, logs=None):
        write_csv(self.run_dir / "history.csv", pd.DataFrame(self.recorder.rows))
        current = self.model.get_weights()
        best_is_current = self.recorder.best["epoch"] == epoch + 1
        arrays = {**_numbered("w", current), **_numbered("s", [np.asarray(v) for v in seed_states(self.model)]),
                  **_numbered("o", [np.asarray(v) for v in self.model.optimizer.variables]),
                  **({} if best_is_current else _numbered("b", self.recorder.weights))}
        state = {"key": self.key, "epoch": epoch + 1, "rows": self.recorder.rows, "best": self.recorder.best,
                 "best_is_current": best_is_current, "seconds": self.seconds}
        with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
            np.savez(f, state=np.array(json.dumps(state)), **arrays)

    def resume(self, model) -> int:
        """Restore ``model``, its optimiser and the recorder from the checkpoint; the number of
        epochs it holds (0 when there is none, or it belongs to something else: then said)."""
        state, arrays = self._read()
        if state is None:
            return 0
        current = _listed(arrays, "w")
        model.set_weights(current)
        for variable, value in zip(seed_states(model), _listed(arrays, "s")):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, _listed(arrays, "o")):
            variable.assign(value)
        self.recorder.rows, self.recorder.best = state["rows"], state["best"]
        self.recorder.weights = current if state["best_is_current"] else _listed(arrays, "b")
        self.seconds_before = state["seconds"]
        self.log(f"run {self.recorder.run}: resuming after epoch {state['epoch']} of {self.recorder.epochs} "
                 f"from {self.path}")
        return state["epoch"]

    def _read(self) -> tuple[dict | None, dict]:
        if not self.path.is_file():
            return None, {}
        try:
            with np.load(self.path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            state = json.loads(str(arrays.pop("state")))
        except (OSError, ValueError, KeyError) as exc:
            self.log(f"{self.path} is unreadable ({type(exc).__name__}: {exc}); training this run from epoch 1")
            return None, {}
        if state.get("key") != self.key:
            self.log(f"{self.path} belongs to another configuration, run or data; training this run from epoch 1")
            return None, {}
        return state, arrays

    def discard(self) -> None:
        """Remove the checkpoint (the run's ``summary.json`` now marks it finished)."""
        self.path.unlink(missing_ok=True)


def _numbered(prefix: str, values: list) -> dict:
    return {f"{prefix}{i}": np.asarray(v) for i, v in enumerate(values)}


def _listed(arrays: dict, prefix: str) -> list:
    count = sum(1 for k in arrays if k[:1] == prefix and k[1:].isdigit())
    return [arrays[f"{prefix}{i}"] for i in range(count)]
