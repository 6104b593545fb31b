"""The shared state of the sections run in one process (:class:`Context`).

- one results store, ``OUT/runs/<hash>/``, shared by all sections: a configuration that several
  sections use (box 256, dual-mode, full-tune, default weights) is trained once and found by the
  others, in this process or a later one (a finished hash folder is never recomputed);
- the case table is read once and ROIs are cut once per ROI configuration;
- the same split (``split_seed``) everywhere, as the conventional baseline uses too.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import time
from pathlib import Path

import pandas as pd

from ..training.config import ExperimentConfig, preset_base
from ..protocol.defaults import DEFAULT_CASES, DEFAULT_OUT, missing_cases_hint
from ..io.errors import D2TLError
from ..protocol.presets import preset as preset_settings
from ..io.provenance import dataset_info
from ..model.weights import IMAGENET_MD5

RUNS_FOLDER = "runs"  # OUT/runs/<hash>: every trained configuration, shared by all sections
CACHE_FOLDER = "cache"  # OUT/cache/rois: ROI arrays, keyed by data set, box and shift


@dataclasses.dataclass
class Record:
    """What happened to one training configuration in this process."""

    directory: Path
    status: str  # "trained", "resumed", "finished earlier", "trained earlier in this process"
    seconds: float
    new_graph: bool | None = None  # this configuration compiled a new model graph (its time includes it)
    first_use: str = ""  # the section and label that first asked for it in this process


class Context:
    """Shared state of the sections run in one process (see the module docstring).

    ``settings`` replaces the named preset's values (for tests; the name is then recorded as
    given, e.g. ``"tiny"``, never as a real preset); besides a preset's keys it may hold
    ``weights`` (the default configuration's, ``auto`` when absent). ``overrides``: which of
    ``settings`` deviate from the named preset (``--epochs`` ...), said in every report.
    """

    def __init__(self, cases=DEFAULT_CASES, preset: str = "quick", out=DEFAULT_OUT, log=print,
                 settings: dict | None = None, replace: bool = False, rois_kept: int = 3,
                 execution: dict | None = None, external=None, imagenet_md5: str | None = None,
                 split_seeds: int = 1, overrides: dict | None = None, gpu_memory: int | None = None):
        self.cases = Path(cases)
        if not self.cases.is_file():
            hint = missing_cases_hint(cases)
            raise D2TLError(f"case table {cases} does not exist{hint}")
        self.preset = preset
        self.settings = dict(settings) if settings is not None else preset_settings(preset)
        # the command line's deviations from the preset (d2tl.protocol.presets.with_overrides), said in every report
        self.overrides = dict(overrides or {})
        missing = {"runs", "epochs", "input_scale", "shift_repeats", "random_init_epochs", "batch_size",
                   "alternatives"} - set(self.settings)
        if missing:
            raise D2TLError(f"preset settings lack {', '.join(sorted(missing))}")
        # TrainConfig's precision / jit_compile / deterministic for every configuration (defaults if absent)
        self.execution = dict(execution or {})
        self.out = Path(out)
        self.store = self.out / RUNS_FOLDER
        self.log = log
        self.replace = replace
        self.records: dict[str, Record] = {}
        self._table = None
        self._dataset = None
        self._rois: collections.OrderedDict = collections.OrderedDict()
        self._rois_kept = rois_kept
        self._weights: dict = {}
        self._imagenet_found = None  # whether the ImageNet file is here, looked up once
        from ..training.engine import Engine

        self.engine = Engine()  # one per process of sections: each model graph is compiled once
        self.parameter_counts: dict = {}  # model configuration -> parameter counts (the tuning section)
        self.progress = None  # a d2tl.commands.shards.Progress, told of every configuration trained
        from .split_variance import check_split_seeds

        self.split_seeds = check_split_seeds(split_seeds)  # d2tl.sections.split_variance
        self.imagenet_md5 = imagenet_md5 or IMAGENET_MD5
        self._roi_cache = None
        self.external = Path(external) if external else None
        from ..training.memory import MemoryModel
        from ..training.memory_fit import DEFAULT_GPU_MEMORY, parse_size

        self.gpu_memory = gpu_memory or parse_size(DEFAULT_GPU_MEMORY)  # bytes a training step must fit
        self.memory = MemoryModel()  # d2tl.training.memory: one backbone build per input side
        if self.external is not None and not self.external.is_file():
            raise D2TLError(f"external case table {self.external} does not exist")

    # -- data --
    @property
    def table(self) -> pd.DataFrame:
        if self._table is None:
            from ..data.cases import load_cases

            self._table = load_cases(self.cases)
        return self._table

    @property
    def dataset(self) -> dict:
        if self._dataset is None:
            self._dataset = dataset_info(self.cases, self.table)
        return self._dataset

    @property
    def roi_cache(self):
        """ROI arrays on disk (``OUT/cache/rois``): later processes skip image decoding."""
        if self._roi_cache is None:
            from ..data.roi_cache import RoiCache

            self._roi_cache = RoiCache(self.out / CACHE_FOLDER / "rois", self.cases, self.table, log=self.log)
        return self._roi_cache

    @staticmethod
    def _roi_key(config: ExperimentConfig) -> tuple:
        return config.roi, config.shift_seed if config.roi.shift else 0

    def prefetch_rois(self, configs) -> None:
        """Cut (or read back) the ROIs of all ``configs`` not yet finished, decoding each image once."""
        wanted = list(dict.fromkeys(self._roi_key(c) for c in configs if not self.finished(c)))
        wanted = [k for k in wanted if k not in self._rois]
        if wanted:
            self.roi_cache.get_many(wanted)  # stored on disk; read back one at a time by rois()

    def rois(self, config: ExperimentConfig):
        """ROIs for ``config``'s box placement, from the disk cache or cut once (the last few
        are kept in memory)."""
        key = self._roi_key(config)
        if key not in self._rois:
            start = time.perf_counter()
            self._rois[key] = self.roi_cache.get(*key)
            self.log(f"ROIs: box {config.roi.box} px, shift {config.roi.shift:g} px (seed {key[1]}), "
                     f"{config.roi.input_size} px inputs, {len(self.table)} cases ready in "
                     f"{time.perf_counter() - start:.1f} s")
        self._rois.move_to_end(key)
        default = self._roi_key(self.base())  # used by every section: kept
        for old in [k for k in self._rois if k not in (key, default)][:max(0, len(self._rois) - self._rois_kept)]:
            del self._rois[old]
        return self._rois[key]

    # -- configurations --
    def base(self) -> ExperimentConfig:
        """The paper's default configuration under this preset (:func:`d2tl.training.config.preset_base`):
        dual-mode, full-tune, the preset's weights, box 256 px, no shift."""
        return preset_base(self.settings, self.preset, self.execution)

    # -- weights (d2tl.model.weights), resolved once per process: a Context is a command's edge --
    def weights(self, spec: str, locate: bool = True):
        """The resolved weights of ``spec`` (:func:`d2tl.training.run_folder.resolve_weights`, once
        per process); an error when they are unavailable. With ``locate`` false, ImageNet is
        identified by its published hash without its file (plans and dry runs: the folder's
        name); only training needs the file."""
        from ..training.run_folder import resolve_weights

        if spec not in self._weights and not locate and spec == "imagenet":
            return resolve_weights(spec, self.imagenet_md5, locate=False)
        if spec not in self._weights:
            self._weights[spec] = resolve_weights(spec, self.imagenet_md5)
        return self._weights[spec]

    def fitted(self, config: ExperimentConfig, strict: bool = True) -> ExperimentConfig:
        """``config`` as it trains within ``gpu_memory``: unchanged when its step fits, else with
        micro-batches (:mod:`d2tl.training.memory_fit`); refused when nothing fits (``strict``;
        plans name it one case per micro-batch and show that it does not fit)."""
        from ..training.memory_fit import fit

        return fit(self.memory, config, self.gpu_memory, strict)

    def check_memory(self, sections) -> None:
        """Refuse, before any training, when a configuration of ``sections`` fits ``gpu_memory``
        at no micro-batch (a long run never ends in an out-of-memory error)."""
        from .registry import plan

        for section in sections:
            for p in plan(section, self):
                self.fitted(p.trained_config)

    def memory_row(self, config: ExperimentConfig) -> dict:
        """The plan's memory figures of ``config`` (:func:`d2tl.training.memory_fit.memory_row`)."""
        from ..training.memory_fit import memory_row

        return memory_row(self.memory, config, self.gpu_memory)

    def directory(self, config: ExperimentConfig) -> Path:
        from ..training.run_folder import run_folder

        config = self.fitted(config, strict=False)
        return run_folder(config, self.weights(config.model.weights, locate=False), self.cases, self.store)

    def finished(self, config: ExperimentConfig) -> bool:
        from ..training.experiment import FINISHED

        return (self.directory(config) / FINISHED).is_file()

    def auto_weights_source(self) -> str:
        """What the default configuration's weights setting (the preset's) gives on this machine,
        in words; for ``imagenet`` without the file, says so instead of failing (plans)."""
        spec = self.base().model.weights
        if spec == "imagenet":
            from ..model.weights import find_imagenet, imagenet_target

            if self._imagenet_found is None:
                self._imagenet_found = find_imagenet(self.imagenet_md5) is not None
            if not self._imagenet_found:
                return f"imagenet (md5:{self.imagenet_md5}; file missing here: {imagenet_target()}, needed to train)"
        return self.weights(spec).description

    def auto_is_random(self) -> bool:
        """Whether the default configuration starts from random weights on this machine."""
        spec = self.base().model.weights
        return spec != "imagenet" and self.weights(spec).kind == "random"

    # -- training --
    def train(self, config: ExperimentConfig, label: str = "") -> dict:
        """Train ``config`` (or read back its finished result); one store for all sections."""
        from ..training.experiment import FINISHED, run_experiment

        config = self.fitted(config)
        directory = self.directory(config)
        key = str(directory)
        if key in self.records and self.finished(config):
            self.log(f"[{label}] same configuration as {self.records[key].first_use} ({directory.name}): "
                     "trained once, reused")
            return json.loads((directory / FINISHED).read_text())
        finished, resumable = self.finished(config), directory.is_dir()
        graphs = self.engine.graphs
        start = time.perf_counter()
        prefix = f"[{label}] " if label else ""
        weights = self.weights(config.model.weights, locate=not finished)  # refuses before any work
        metrics = run_experiment(config, self.cases, self.store, weights, log=lambda line: self.log(prefix + line),
                                 table=self.table, rois=None if finished else self.rois(config), engine=self.engine)
        seconds = time.perf_counter() - start
        status = "finished earlier" if finished else ("resumed" if resumable else "trained")
        self.records[key] = Record(directory, status, seconds,
                                   None if finished else self.engine.graphs > graphs, label)
        if self.progress is not None:
            self.progress.done(directory.name)
        return metrics

    def score_external(self, config: ExperimentConfig) -> dict | None:
        """The selected model of ``config`` on the external set (None without one)."""
        if self.external is None:
            return None
        from ..training.external import score_external

        return score_external(config, self.directory(config), self.external, self.out / CACHE_FOLDER / "rois",
                              log=self.log, engine=self.engine)
