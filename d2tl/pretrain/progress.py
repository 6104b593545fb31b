"""The per-epoch progress line of a pre-training (loss, accuracies, time, ETA) and its history rows,
kept in a file so that a resumed training keeps the rows of its earlier epochs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..io.atomic import write_text


def _keras():
    import keras

    return keras


def duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


def progress_callback(epochs: int, rows_file: Path, log=print):
    """A Keras callback: per epoch one line with loss, accuracy, time and an ETA (from the mean
    epoch time without the first epoch, which includes tracing), and the history row, kept in
    ``rows_file`` so a resumed training keeps the rows of earlier epochs."""
    keras = _keras()

    class Progress(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = json.loads(rows_file.read_text()) if rows_file.is_file() else []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            self.rows = [r for r in self.rows if r["epoch"] < epoch + 1]
            self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                              "seconds": seconds})
            write_text(rows_file, json.dumps(self.rows))
            times = [r["seconds"] for r in self.rows]
            steady = float(np.mean(times[1:])) if len(times) > 1 else times[0]
            left = epochs - (epoch + 1)
            accuracy = " ".join(f"{k.removesuffix('accuracy').rstrip('_') or 'acc'} {v:.3f}"
                                for k, v in (logs or {}).items() if k.endswith("accuracy"))
            log(f"pretrain epoch {epoch + 1}/{epochs}: loss {logs.get('loss', float('nan')):.4f} "
                f"{accuracy} ({seconds:.1f} s; ETA {duration(left * steady)})")

    return Progress()
