"""The seeded training-data source of one run, and the per-epoch callback that validates it.

One ``model.fit`` per run (rather than one per epoch) spares every epoch a new data adapter, a
new callback list and a copy of the permuted training set: :mod:`experiments.benchmark`
measures the difference against a bare ``train_on_batch`` loop. The batches are those of the
per-epoch loop this replaces: epoch e uses the e-th permutation drawn from the run's generator,
cut into consecutive batches (the last one partial), so the history is the same bit for bit.
"""

from __future__ import annotations

import time

import keras
import numpy as np


class EpochBatches(keras.utils.PyDataset):
    """The batches of ``(x, y)`` of all ``epochs``, each epoch in a new random order drawn from
    ``rng``, from epoch ``first_epoch`` on (0-based; a resumed run's, :mod:`d2tl.training.checkpoint`).

    The orders are drawn here, all up front, rather than by ``fit(shuffle=True)`` so they depend
    on the run's seed alone (see :mod:`d2tl.model.seeding`). The source is one endless
    stream read with ``steps_per_epoch``: batch ``i`` is a pure function of ``i``, so Keras's
    read-ahead (its TensorFlow path prefetches, and opens the next epoch before the last one's
    ``on_epoch_end``) cannot change which samples a batch holds.
    """

    def __init__(self, x: dict, y: np.ndarray, batch_size: int, epochs: int, rng: np.random.Generator,
                 first_epoch: int = 0, accumulation: int = 1):
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y, self.batch_size, self.accumulation = x, y, batch_size, accumulation
        self.orders = [rng.permutation(len(y)) for _ in range(epochs)]
        self.steps_per_epoch = -(-len(y) // batch_size) * accumulation  # micro-batches when accumulating
        # fit(initial_epoch=k) still reads its source from index 0: a resumed run starts at epoch k
        self.offset = first_epoch * self.steps_per_epoch

    @property
    def num_batches(self):
        return None  # endless: fit reads steps_per_epoch batches per epoch

    def __getitem__(self, index: int):
        # Read-ahead past the last epoch gets the last batch again; fit never uses it.
        index = min(index + self.offset, len(self.orders) * self.steps_per_epoch - 1)
        epoch, step = divmod(index, self.steps_per_epoch)
        step, part = divmod(step, self.accumulation)
        rows = self.orders[epoch][step * self.batch_size:(step + 1) * self.batch_size]
        if self.accumulation > 1:
            rows = micro_batch(rows, self.accumulation, part)
        return {k: v[rows] for k, v in self.x.items()}, self.y[rows]


def micro_batch(rows: np.ndarray, parts: int, part: int) -> np.ndarray:
    """Micro-batch ``part`` of ``parts`` of one batch's ``rows``: consecutive, nearly equal
    shares. An epoch's last batch with fewer cases than ``parts`` repeats its cases to fill them,
    so every update averages exactly ``parts`` micro-batch gradients (docs/gpu.md)."""
    return np.array_split(np.resize(rows, max(len(rows), parts)), parts)[part]


class ValidateEachEpoch(keras.callbacks.Callback):
    """After each epoch: the precise-BN pass (when ``stats``), the validation set, and
    ``record(epoch, logs, seconds)`` with the epoch's training, BN and validation times.

    The BN pass runs before validation, so each epoch is validated (and, if best, kept) with the
    statistics it would be used with; fit's own ``validation_data`` would validate first.
    """

    def __init__(self, x_val: dict, y_val: np.ndarray, batch_size: int, record, stats=None, bn_x=None):
        super().__init__()
        self.x_val, self.y_val, self.batch_size = x_val, y_val, batch_size
        self.record, self.stats, self.bn_x = record, stats, bn_x
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = {"train": time.perf_counter() - self._start}
        if self.stats is not None:
            seconds["bn"] = self.stats.update(self.bn_x, self.batch_size)
        t0 = time.perf_counter()
        val = self.model.evaluate(self.x_val, self.y_val, batch_size=self.batch_size, verbose=0, return_dict=True)
        seconds["val"] = time.perf_counter() - t0
        logs = {} if logs is None else logs  # updated in place: later callbacks (TensorBoard) see val_*
        logs.update({"val_loss": val["loss"], "val_accuracy": val["accuracy"]})
        self.record(epoch, logs, seconds)
