"""ROI arrays cached on disk, so repeated experiments skip image decoding.

A cached set is keyed by the data set (the case table's content and the size and modification
time of every file it names), the ROI configuration (box, shift, input side, normalisation)
and the shift seed (only when there is a shift), plus :data:`FORMAT`, bumped whenever ROI
extraction changes. A changed image file, case table or setting therefore gives a new key,
never a stale array. Files are ``DIR/<key>.npz`` beside a ``<key>.json`` that says what they hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import write_text
from ..io.provenance import file_sha256
from .roi import RoiConfig, RoiSet, extract_rois_many, save_rois

FORMAT = 2  # version of the ROI extraction whose output is cached


def _files_fingerprint(table: pd.DataFrame) -> list:
    stats = []
    for column in sorted(c for c in table.columns if c.endswith("_path")):
        for value in table[column]:
            if isinstance(value, str) and value:
                try:
                    st = os.stat(value)
                    stats.append((value, st.st_size, st.st_mtime_ns))
                except OSError:
                    stats.append((value, None, None))
    return stats


class RoiCache:
    """ROI sets of one case table, read from ``directory`` or extracted once and stored there."""

    def __init__(self, directory, cases_csv, table: pd.DataFrame, log=None):
        self.directory = Path(directory)
        self.table = table
        self.log = log or (lambda line: None)
        files = hashlib.sha256(json.dumps(_files_fingerprint(table)).encode()).hexdigest()
        self._data = {"cases_sha256": file_sha256(cases_csv), "files_sha256": files, "n_cases": len(table)}
        self.hits = self.misses = 0

    def key(self, config: RoiConfig, seed: int) -> str:
        what = {"format": FORMAT, **self._data, "roi": config.to_dict(), "shift_seed": seed if config.shift else 0}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def path(self, config: RoiConfig, seed: int) -> Path:
        return self.directory / f"{self.key(config, seed)}.npz"

    def _read(self, config: RoiConfig, seed: int) -> RoiSet | None:
        path = self.path(config, seed)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                rois = RoiSet(ids=[str(i) for i in f["ids"]], labels=f["labels"], offsets=f["offsets"],
                              arrays={k: f[k] for k in f.files if k not in ("ids", "labels", "offsets")},
                              config=config)
        except (OSError, ValueError, KeyError):  # damaged file: extract again and overwrite it
            return None
        return rois if rois.ids == list(self.table["id"]) else None

    def _write(self, rois: RoiSet, seed: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(rois.config, seed)
        save_rois(rois, path)
        write_text(path.with_suffix(".json"), json.dumps(
            {"format": FORMAT, **self._data, "roi": rois.config.to_dict(), "shift_seed": seed,
             "mib": round(rois.nbytes / 2**20, 2)}, indent=1) + "\n")

    def get_many(self, requests) -> list[RoiSet]:
        """The ROI sets for ``(config, shift seed)`` requests: cached ones read, the rest extracted
        together (each image decoded once) and stored."""
        requests = list(requests)
        found = [self._read(config, seed) for config, seed in requests]
        missing = [i for i, rois in enumerate(found) if rois is None]
        self.hits += len(requests) - len(missing)
        self.misses += len(missing)
        if missing:
            start = time.perf_counter()
            todo = [requests[i] for i in missing]
            for i, rois in zip(missing, extract_rois_many(self.table, todo)):
                self._write(rois, requests[i][1])
                found[i] = rois
            boxes = ", ".join(f"box {c.box} shift {c.shift:g} (seed {s})" for c, s in todo)
            self.log(f"ROIs extracted for {len(todo)} configuration(s) ({boxes}) from {len(self.table)} cases "
                     f"in {time.perf_counter() - start:.1f} s, cached in {self.directory}")
        return found

    def get(self, config: RoiConfig, seed: int = 0) -> RoiSet:
        return self.get_many([(config, seed)])[0]
