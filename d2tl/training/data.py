"""One configuration's training data: split, ROIs, augmentation (train and validation only).

Data flow: case table -> split (:mod:`d2tl.data.split`) -> ROIs (:mod:`d2tl.data.roi`) ->
augmented arrays (:mod:`d2tl.data.augment`), the model inputs of :mod:`d2tl.training.loop`.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from ..data.augment import augment_cases
from ..data.roi import RoiSet, extract_rois
from ..data.split import split_cases
from ..protocol.views import LABELS


@dataclasses.dataclass
class Arrays:
    """Model inputs (dict of four (n, s, s, 1) arrays), labels and case ids of one part."""

    x: dict
    y: np.ndarray
    ids: list

    def __len__(self):
        return len(self.y)


@dataclasses.dataclass
class Data:
    train: Arrays
    val: Arrays
    test: Arrays
    parts: pd.Series  # "train" / "val" / "test" per case, indexed like the case table
    seconds: dict


def prepare_data(table: pd.DataFrame, config, rois: RoiSet | None = None) -> Data:
    """Split, cut ROIs and augment (train and validation only) for one configuration."""
    times = {}
    start = time.perf_counter()
    parts = split_cases(table, seed=config.split_seed)
    times["split"] = time.perf_counter() - start
    if rois is None:
        start = time.perf_counter()
        rois = extract_rois(table, config.roi, seed=config.shift_seed)
        times["rois"] = time.perf_counter() - start
    start = time.perf_counter()
    out = {}
    for i, part in enumerate(("train", "val", "test")):
        ids = list(table["id"][parts == part])
        subset = rois.subset(ids)
        if part == "test":
            out[part] = Arrays(subset.arrays, subset.labels, ids)
        else:
            x, y, source = augment_cases(subset.arrays, subset.labels, config.augment,
                                         seed=config.augment_seed * 10 + i)
            out[part] = Arrays(x, y, [ids[j] for j in source])
    times["augment"] = time.perf_counter() - start
    return Data(**out, parts=parts, seconds=times)


def one_hot(y: np.ndarray) -> np.ndarray:
    """Labels (0 benign, 1 malignant) as the model's two-column targets."""
    return np.eye(len(LABELS), dtype=np.float32)[y]


def total_steps(config, data: Data) -> int:
    """Training steps of one run (epochs x batches): what a step-dependent schedule decays over."""
    return config.train.epochs * int(np.ceil(len(data.train) / config.train.batch_size))
