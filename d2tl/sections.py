"""The paper's experiments, Sec. 4.1-4.4, as library code behind ``experiments/<section>.py``.

Each section declares its training configurations (:func:`plan`), trains them with
:func:`d2tl.train.run_experiment` (or reads them back), analyses them (:func:`analyse`) and writes
``OUT/<section>/`` (:mod:`d2tl.report`). One :class:`Context` serves every section of a process:

- one results store, ``OUT/runs/<hash>/``, shared by all sections: a configuration that several
  sections use (box 256, dual-mode, full-tune, default weights) is trained once and found by the
  others, in this process or a later one (a finished hash folder is never recomputed);
- the case table is read once and ROIs are cut once per ROI configuration;
- the same split (``split_seed``) everywhere, as the conventional baseline uses too.

Sections, with what each varies from the default configuration (:meth:`Context.base`):

=============  ===========================================================================
box_size       box 64, 128, 256, 512 px (Sec. 4.1, Fig. 7)
box_shift      box centre moved 10, 20, 40 px in a random direction shared by a view's two
               images, ``shift_repeats`` new directions each (``shift_seed`` = repeat); the
               original placement is the default (Sec. 4.2, Fig. 8)
pooling        simple pooling (one InceptionV3 for all four images) vs dual-mode (Sec. 4.3, Fig. 9)
tuning         semi-tune (only the three dense layers) vs full-tune (Sec. 4.4, Fig. 10)
random_init    ImageNet vs formula-pre-trained vs random initialisation, full-tune,
               ``random_init_epochs`` (Sec. 4.4; arms in :mod:`d2tl.init_arms`)
=============  ===========================================================================
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .config import ExperimentConfig, preset_base
from .errors import D2TLError
from .paper import BOX_SIZES, REPORTED, SHIFTS, SPLIT_SIZES
from .presets import PRESETS, preset as preset_settings
from .provenance import config_hash, dataset_info
from .weights import IMAGENET_MD5
from .defaults import DEFAULT_CASES, DEFAULT_OUT, missing_cases_hint

RUNS_FOLDER = "runs"  # OUT/runs/<hash>: every trained configuration, shared by all sections
CACHE_FOLDER = "cache"  # OUT/cache/rois: ROI arrays, keyed by data set, box and shift

ORDER = ("box_size", "box_shift", "pooling", "tuning", "random_init")
INFO = {  # section -> (paper section, figure, title)
    "box_size": ("4.1", "Fig. 7", "Box size"),
    "box_shift": ("4.2", "Fig. 8", "Box shift"),
    "pooling": ("4.3", "Fig. 9", "Dual-mode vs simple pooling"),
    "tuning": ("4.4", "Fig. 10", "Full-tune vs semi-tune"),
    "random_init": ("4.4", "learning curves", "ImageNet vs formula-pre-trained vs random initialisation"),
}
FIGURES = {"box_size": "fig7_box_size.png", "box_shift": "fig8_box_shift.png", "pooling": "fig9_pooling.png",
           "tuning": "fig10_tuning.png", "random_init": "random_init_learning_curves.png"}
TEST_USED = ("Welch's two-sample t-test, two-sided (scipy.stats.ttest_ind(equal_var=False)), on the test "
             "accuracies of the repeats; Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu), as a check")
METRICS = ("accuracy", "sensitivity", "specificity", "auc")
SPREAD_FLOOR = 0.01  # SD of p_malignant across test cases below which outputs count as constant
TRAIN_ACCURACY_LEVEL = 0.9  # Sec. 4.4: the epoch at which training accuracy reaches 90%


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------- context

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
    ``weights`` (the default configuration's, ``auto`` when absent).
    """

    def __init__(self, cases=DEFAULT_CASES, preset: str = "quick", out=DEFAULT_OUT, log=print,
                 settings: dict | None = None, replace: bool = False, rois_kept: int = 3,
                 execution: dict | None = None, external=None, imagenet_md5: str | None = None,
                 split_seeds: int = 1):
        self.cases = Path(cases)
        if not self.cases.is_file():
            hint = missing_cases_hint(cases)
            raise D2TLError(f"case table {cases} does not exist{hint}")
        self.preset = preset
        self.settings = dict(settings) if settings is not None else preset_settings(preset)
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
        self.progress = None  # a d2tl.shards.Progress, told of every configuration trained
        from .split_variance import check_split_seeds

        self.split_seeds = check_split_seeds(split_seeds)  # d2tl.split_variance
        self.imagenet_md5 = imagenet_md5 or IMAGENET_MD5
        self._roi_cache = None
        self.external = Path(external) if external else None
        if self.external is not None and not self.external.is_file():
            raise D2TLError(f"external case table {self.external} does not exist")

    # -- data --
    @property
    def table(self) -> pd.DataFrame:
        if self._table is None:
            from .data.cases import load_cases

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
            from .data.roi_cache import RoiCache

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
        """The paper's default configuration under this preset (:func:`d2tl.config.preset_base`):
        dual-mode, full-tune, the preset's weights, box 256 px, no shift."""
        return preset_base(self.settings, self.preset, self.execution)

    # -- weights (d2tl.weights) --
    def weights(self, spec: str):
        """The resolved weights of ``spec`` (checked once per process); an error when they are
        unavailable, which only training ever asks for."""
        if spec not in self._weights:
            from .weights import resolve

            self._weights[spec] = resolve(spec, self.imagenet_md5)
        return self._weights[spec]

    def weights_identity(self, spec: str) -> str:
        """What the configuration hash holds for ``spec``: ImageNet by its published hash, without
        needing the file (plans and dry runs)."""
        from .weights import identity

        return identity(spec, self.imagenet_md5) if spec == "imagenet" else self.weights(spec).identity

    def directory(self, config: ExperimentConfig) -> Path:
        from .train import run_dir_for

        return run_dir_for(config, self.cases, self.store, self.weights_identity(config.model.weights))

    def finished(self, config: ExperimentConfig) -> bool:
        from .train import FINISHED

        return (self.directory(config) / FINISHED).is_file()

    def auto_weights_source(self) -> str:
        """What the default configuration's weights setting (the preset's) gives on this machine,
        in words; for ``imagenet`` without the file, says so instead of failing (plans)."""
        spec = self.base().model.weights
        if spec == "imagenet":
            from .weights import find_imagenet, imagenet_target

            if find_imagenet(self.imagenet_md5) is None:
                return f"imagenet (md5:{self.imagenet_md5}; file missing here: {imagenet_target()}, needed to train)"
        return self.weights(spec).description

    def auto_is_random(self) -> bool:
        """Whether the default configuration starts from random weights on this machine."""
        spec = self.base().model.weights
        return spec != "imagenet" and self.weights(spec).kind == "random"

    # -- training --
    def train(self, config: ExperimentConfig, label: str = "") -> dict:
        """Train ``config`` (or read back its finished result); one store for all sections."""
        from . import train as training
        from .train import run_experiment

        directory = self.directory(config)
        key = str(directory)
        if key in self.records and self.finished(config):
            self.log(f"[{label}] same configuration as {self.records[key].first_use} ({directory.name}): "
                     "trained once, reused")
            return json.loads((directory / training.FINISHED).read_text())
        finished, resumable = self.finished(config), directory.is_dir()
        graphs = len(getattr(training, "_COMPILED", {}))
        start = time.perf_counter()
        prefix = f"[{label}] " if label else ""
        weights = None if finished else self.weights(config.model.weights)  # refuses before any work
        metrics = run_experiment(config, self.cases, self.store, log=lambda line: self.log(prefix + line),
                                 table=self.table, rois=None if finished else self.rois(config), weights=weights,
                                 weights_identity=self.weights_identity(config.model.weights))
        seconds = time.perf_counter() - start
        status = "finished earlier" if finished else ("resumed" if resumable else "trained")
        self.records[key] = Record(directory, status, seconds,
                                   None if finished else len(getattr(training, "_COMPILED", {})) > graphs, label)
        if self.progress is not None:
            self.progress.done(directory.name)
        return metrics

    def score_external(self, config: ExperimentConfig) -> dict | None:
        """The selected model of ``config`` on the external set (None without one)."""
        if self.external is None:
            return None
        from .external import score_external

        return score_external(config, self.directory(config), self.external, self.out / CACHE_FOLDER / "rois",
                              log=self.log)


# --------------------------------------------------------------------------------- plans

@dataclasses.dataclass
class Planned:
    """One training configuration of a section."""

    label: str
    config: ExperimentConfig
    columns: dict  # what distinguishes it in the section's table, e.g. {"box": 64}
    substitute: ExperimentConfig | None = None  # train this one instead (identical in effect)
    note: str = ""

    @property
    def trained_config(self) -> ExperimentConfig:
        return self.substitute or self.config


def plan(section: str, ctx: Context) -> list[Planned]:
    """The training configurations of ``section``, in the order they are trained."""
    base = ctx.base()
    s = ctx.settings
    if section == "box_size":
        return [Planned(f"box {b}", base.replace(roi={"box": b}), {"box": b}) for b in BOX_SIZES]
    if section == "box_shift":
        out = [Planned("original", base, {"shift": 0, "repeat": 0}, note="the default configuration")]
        for shift in SHIFTS:
            for r in range(s["shift_repeats"]):
                seed = repeat_seed(shift, r)
                out.append(Planned(f"shift {shift} px #{r + 1}",
                                   base.replace(roi={"shift": float(shift)}, shift_seed=seed, train={"seed": seed}),
                                   {"shift": shift, "repeat": r + 1}))
        return out
    if section == "pooling":
        return [Planned("dual-mode (D2TL)", base, {"architecture": "dual_mode"}),
                Planned("simple pooling", base.replace(model={"architecture": "simple_pooling"}),
                        {"architecture": "simple_pooling"})]
    if section == "tuning":
        return [Planned("full-tune (D2TL)", base, {"tuning": "full", "frozen_bn": None}),
                Planned("semi-tune", base.replace(model={"tuning": "semi"}), {"tuning": "semi", "frozen_bn": "inference"},
                        note="frozen BN in inference mode (Keras 3), trained on cached backbone features"),
                Planned("semi-tune, Keras 2 BN", base.replace(model={"tuning": "semi", "frozen_bn": "keras2"}),
                        {"tuning": "semi", "frozen_bn": "keras2"},
                        note="frozen BN normalises with batch statistics in fit (the paper's Keras 2); "
                             "trained end to end, since its features depend on the batch")]
    if section == "random_init":  # ImageNet, formula-pre-trained and random arms: d2tl.init_arms
        from .init_arms import plan as init_plan

        return init_plan(ctx)
    raise D2TLError(f"unknown section {section!r}; choose one of {', '.join(ORDER)}")


def repeat_seed(shift: int, repeat: int) -> int:
    """The seed of repeat ``repeat`` (0-based) of Sec. 4.2's ``shift`` px: 100 x shift + repeat + 1
    (10 px: 1001, 1002, ...; 20 px: 2001, ...; 40 px: 4001, ...). It draws the repeat's shift
    directions and seeds its training runs (run r: seed x 1000 + r), so every (shift, repeat) is an
    independent sample, as the t-test and Mann-Whitney U assume; none equals the default seed 0."""
    return 100 * int(shift) + repeat + 1


def graph_of(config: ExperimentConfig) -> tuple:
    """What makes a compiled model graph (weights do not)."""
    m = config.model
    return (m.architecture, m.tuning, m.frozen_bn if m.tuning == "semi" else None, m.input_size,
            m.feature_dropout, m.head_dropout, m.dense_units, config.train.optimizer, config.train.learning_rate,
            config.train.schedule)


def graph_name(config: ExperimentConfig) -> str:
    keras2 = " (Keras 2 BN)" if config.model.tuning == "semi" and config.model.frozen_bn == "keras2" else ""
    return f"{config.model.architecture}/{config.model.tuning}-tune{keras2}@{config.model.input_size}px"


# --------------------------------------------------------------------------------- statistics

def compare_samples(a, b) -> dict:
    """Welch's t-test and Mann-Whitney U (both two-sided) of samples ``a`` and ``b``.

    p-values are None where a test is undefined (fewer than 2 values in a sample for Welch's
    test; both samples constant, where Welch's statistic is 0/0), with the reason in ``note``.
    """
    from scipy import stats

    a = np.asarray([x for x in a if x is not None], dtype=float)
    b = np.asarray([x for x in b if x is not None], dtype=float)
    out = {"n_a": int(len(a)), "n_b": int(len(b)),
           "mean_a": float(a.mean()) if len(a) else None, "mean_b": float(b.mean()) if len(b) else None,
           "sd_a": float(a.std(ddof=1)) if len(a) > 1 else None, "sd_b": float(b.std(ddof=1)) if len(b) > 1 else None,
           "welch_t": None, "welch_p": None, "mannwhitney_u": None, "mannwhitney_p": None, "note": ""}
    notes = []
    if len(a) < 2 or len(b) < 2:
        notes.append("Welch's test needs at least 2 repeats per group")
    elif a.std() == 0 and b.std() == 0:
        notes.append("Welch's test undefined: both groups constant")
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy's precision note on near-constant data
            r = stats.ttest_ind(a, b, equal_var=False)
        if np.isfinite(r.pvalue):
            out["welch_t"], out["welch_p"] = float(r.statistic), float(r.pvalue)
        else:
            notes.append("Welch's test undefined")
    if len(a) and len(b):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            u = stats.mannwhitneyu(a, b, alternative="two-sided")
        if np.isfinite(u.pvalue):
            out["mannwhitney_u"], out["mannwhitney_p"] = float(u.statistic), float(u.pvalue)
    out["note"] = "; ".join(notes)
    return out


def first_epoch_reaching(history: pd.DataFrame, level: float = 0.9, column: str = "accuracy") -> int | None:
    """The first epoch (1-based) whose ``column`` is at least ``level``; None if none is."""
    hit = history.loc[history[column] >= level, "epoch"]
    return int(hit.min()) if len(hit) else None


def last_epochs_mean(history: pd.DataFrame, column: str, n: int = 10) -> float:
    """Mean of ``column`` over the last ``n`` epochs (all epochs when there are fewer)."""
    h = history.sort_values("epoch")
    return float(h[column].tail(n).mean())


def steady_epoch_seconds(history: pd.DataFrame) -> float:
    """Mean epoch wall time without the first epoch of the first run, which may include the
    one-off compilation of the model graph (when it is the only epoch, it is used as is)."""
    h = history.sort_values(["run", "epoch"])
    rest = h.iloc[1:] if len(h) > 1 else h
    return float(rest["seconds"].mean())


# --------------------------------------------------------------------------------- results

def read_history(directory: Path) -> pd.DataFrame:
    path = Path(directory) / "history.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["run", "epoch", "accuracy", "seconds"])


def config_row(planned: Planned, metrics: dict, directory: Path, record: Record | None,
               label: str = "", external: dict | None = None) -> dict:
    """One table row: what the configuration is, its selected model's test metrics, per-run
    spread, timing and provenance."""
    from .section_tests import row_intervals

    c = planned.config
    t = metrics["selected"]["test"]
    history = read_history(directory)
    steady = steady_epoch_seconds(history) if len(history) else None
    runs, epochs = planned.trained_config.train.runs, planned.trained_config.train.epochs
    per_run = metrics.get("per_run_test", {})
    row = {"label": planned.label, **planned.columns,
           "architecture": c.model.architecture, "tuning": c.model.tuning, "weights": c.model.weights,
           "weights_source": metrics["provenance"].get("weights_source"),
           "box": c.roi.box, "input_px": c.roi.input_size, "shift": c.roi.shift, "shift_seed": c.shift_seed,
           "runs": runs, "epochs": epochs,
           **{m: t.get(m) for m in METRICS},
           **row_intervals(t["confusion_matrix"], directory),
           **{k: t["confusion_matrix"][k] for k in ("tn", "fp", "fn", "tp")},
           "selected_run": metrics["selected"]["run"], "selected_epoch": metrics["selected"]["epoch"],
           "val_accuracy": metrics["selected"]["val_accuracy"],
           **{f"runs_{m}_mean": (per_run.get(m) or {}).get("mean") for m in ("accuracy", "sensitivity", "specificity")},
           **{f"runs_{m}_sd": (per_run.get(m) or {}).get("sd") for m in ("accuracy", "sensitivity", "specificity")},
           "train_seconds": metrics["train_seconds"],
           "steady_epoch_seconds": steady,
           "steady_train_seconds": None if steady is None else steady * runs * epochs,
           "test_prediction_sd": _prediction_sd(directory),
           **external_columns(external),
           "bn_stats": c.train.bn_stats, "frozen_bn": c.model.frozen_bn if c.model.tuning == "semi" else None,
           "learning_rate": c.train.learning_rate,
           "hash": directory.name,
           "status": _status(record, label),
           "compiled_graph_here": record.new_graph if record else None,
           "note": planned.note}
    return row


EXTERNAL_COLUMNS = ("ext_n", "ext_auc", "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity",
                    "ext_specificity", "ext_prediction_sd")


def external_columns(external: dict | None) -> dict:
    """The external-set columns of a table row (None where there is no external set)."""
    if not external:
        return {k: None for k in EXTERNAL_COLUMNS}
    ci = external["intervals"]["auc"] or (None, None)
    return {"ext_n": external["n"], "ext_auc": external["auc"], "ext_auc_low": ci[0], "ext_auc_high": ci[1],
            "ext_accuracy": external["accuracy"], "ext_sensitivity": external["sensitivity"],
            "ext_specificity": external["specificity"], "ext_prediction_sd": external["prediction_sd"]}


def _prediction_sd(directory: Path) -> float | None:
    path = Path(directory) / "predictions.csv"
    return float(pd.read_csv(path)["p_malignant"].std(ddof=0)) if path.is_file() else None


def _status(record: Record | None, label: str) -> str:
    if record is None:
        return "finished earlier"
    if record.first_use and record.first_use != label:
        return f"shared with {record.first_use} (trained once)" if record.status != "finished earlier" \
            else f"finished earlier (shared with {record.first_use})"
    return record.status


@dataclasses.dataclass
class SectionResult:
    name: str
    folder: Path
    table: pd.DataFrame  # one row per planned configuration
    comparison: list  # rows {"quantity", "paper", "ours"} for the side-by-side
    notes: list
    extra: dict  # section-specific numbers (p-values, parameter counts, learning-curve stats)
    histories: pd.DataFrame
    provenance: dict
    seconds: float
    figures: list = dataclasses.field(default_factory=list)
    tables: dict = dataclasses.field(default_factory=dict)  # extra CSV tables: name -> DataFrame

    def summary(self) -> dict:
        number, figure, title = INFO[self.name]
        return {"section": self.name, "paper_section": number, "figure": figure, "title": title,
                "comparison": self.comparison, "notes": self.notes, "extra": self.extra,
                "folder": str(self.folder), "figures": [str(f) for f in self.figures],
                "seconds": self.seconds, "preset": self.provenance.get("preset"),
                "weights_sources": self.provenance.get("weights_sources"),
                "dataset": self.provenance.get("dataset"), "configurations": learning_rows(self.table)}


LEARNING_COLUMNS = ("label", "accuracy", "sensitivity", "specificity", "auc",
                    *(f"{m}_{end}" for m in METRICS for end in ("low", "high")), "test_prediction_sd", "ext_auc",
                    "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity", "ext_specificity",
                    "ext_prediction_sd")


def learning_rows(table: pd.DataFrame) -> list:
    """Per configuration: test and external-set metrics (for SUMMARY.md)."""
    keep = [c for c in LEARNING_COLUMNS if c in table]
    return json.loads(table[keep].to_json(orient="records", double_precision=15))  # as in the CSV


def pct(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def with_interval(row, metric: str) -> str:
    """A test metric as a percentage, with its 95% interval when the row has one."""
    low, high = row.get(f"{metric}_low"), row.get(f"{metric}_high")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return pct(row.get(metric))
    return f"{pct(row.get(metric))} ({pct(low)}-{pct(high)})"


def triple(row) -> str:
    """``acc / sens / spec`` as percentages, each with its 95% interval where the row has one."""
    return " / ".join(with_interval(row, m) for m in ("accuracy", "sensitivity", "specificity"))


def pvalue(p) -> str:
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _seconds(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.1f} s"


def analyse(section: str, ctx: Context, plans: list[Planned], rows: pd.DataFrame, histories: pd.DataFrame):
    """(comparison rows, notes, extra numbers, extra tables) of one section."""
    from . import section_tests
    from .censored import censored_note, level_summary
    from .evaluate import interval_note

    comparison, notes, extra, tables = [], [], {}, {}
    by = lambda label: rows.loc[rows["label"] == label].iloc[0]  # noqa: E731
    one_class = rows.loc[(rows["tp"] + rows["fp"] == 0) | (rows["tn"] + rows["fn"] == 0), "label"].tolist()
    extra["one_class_configurations"] = one_class
    if one_class:
        notes.append(f"{len(one_class)} of {len(rows)} configurations ({', '.join(one_class)}) call every test case "
                     "the same class: their accuracy is the class balance and their sensitivity/specificity "
                     "100%/0% or 0%/100%. The test-set prediction SD column says whether the outputs are "
                     f"constant (below {SPREAD_FLOOR:g}: no case is told from another) or only one-sided.")
    flat = rows.loc[rows["test_prediction_sd"].fillna(1.0) < SPREAD_FLOOR, "label"].tolist()
    extra["constant_output_configurations"] = flat
    if flat:
        notes.append(f"Constant outputs (test prediction SD below {SPREAD_FLOOR:g}): {', '.join(flat)}.")
    if rows["ext_auc"].notna().any():
        notes.append(f"External set: the selected model of each configuration scored on {int(rows['ext_n'].max())} "
                     "independent cases (another generator seed), with a 95% bootstrap interval of the AUC "
                     "(columns ext_*). The paper-protocol test set has 20 cases, whose AUC has a standard error "
                     "of about 0.1.")
    preset_note = ("all boxes are resized to the same input side here, so training time does not "
                   "follow the box size" if rows["input_px"].nunique() == 1 and section == "box_size" else "")
    if section == "box_size":
        paper256 = REPORTED["box_size"][256]
        for _, r in rows.iterrows():
            paper = {64: "below box 256 on every metric", 128: "below box 256 on every metric",
                     256: triple(paper256), 512: "accuracy lower, sensitivity above 80%, specificity much lower"}
            comparison.append({"quantity": f"box {r['box']} px: test acc / sens / spec",
                               "paper": paper.get(int(r["box"]), "n/a"), "ours": triple(r)})
        times = ", ".join(f"{int(r['box'])}: {_seconds(r['steady_train_seconds'])}" for _, r in rows.iterrows())
        comparison.append({"quantity": "training time per box", "paper": "grows with box size",
                           "ours": times + (" (same input side for every box: see note)" if preset_note else "")})
        best = rows.loc[rows["accuracy"].idxmax()]
        extra["best_box_by_test_accuracy"] = int(best["box"])
        if preset_note:
            notes.append(f"Inputs: {preset_note}.")
    elif section == "box_shift":
        groups = {shift: rows.loc[rows["shift"] == shift] for shift in (0, *SHIFTS)}
        summary = []
        for shift, g in groups.items():
            entry = {"shift": shift, "n": int(len(g))}
            for m in ("accuracy", "sensitivity", "specificity", "auc"):
                values = g[m].dropna().astype(float)
                entry[f"{m}_mean"] = float(values.mean()) if len(values) else None
                entry[f"{m}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
            summary.append(entry)
        summary = pd.DataFrame(summary)
        tables["shift_summary"] = summary
        tests = []
        for a, b in ((10, 20), (40, 20)):
            result = compare_samples(groups[a]["accuracy"], groups[b]["accuracy"])
            tests.append({"comparison": f"{a} px vs {b} px", "metric": "test accuracy", **result})
        tests = pd.DataFrame(tests)
        tables["p_values"] = tests
        extra["p_values"] = tests.to_dict(orient="records")
        extra["test_used"] = TEST_USED
        s20 = summary.set_index("shift").loc[20]
        paper20 = REPORTED["box_shift"][20]
        comparison.append({"quantity": "original placement: test acc / sens / spec",
                           "paper": f"{triple(REPORTED['box_size'][256])} (box 256, Sec. 4.1)",
                           "ours": triple(by("original"))})
        for shift in SHIFTS:
            s = summary.set_index("shift").loc[shift]
            comparison.append({"quantity": f"{shift} px shift: test acc / sens / spec (mean of {int(s['n'])} repeats)",
                               "paper": triple(paper20) if shift == 20 else "n/a (figure only)",
                               "ours": " / ".join(pct(s[f"{m}_mean"]) for m in ("accuracy", "sensitivity", "specificity"))})
        for (_, t), key in zip(tests.iterrows(), ("p_10_vs_20", "p_40_vs_20")):
            reported = REPORTED["box_shift"][key]
            comparison.append({"quantity": f"p, test accuracy, {t['comparison']}",
                               "paper": reported if isinstance(reported, str) else f"{reported:.3f}",
                               "ours": f"Welch {pvalue(t['welch_p'])}, Mann-Whitney {pvalue(t['mannwhitney_p'])}"
                                       + (f" ({t['note']})" if t["note"] else "")})
        notes.append(f"Test: {TEST_USED}. The paper does not name its test.")
        notes.append("Each (shift, repeat) has its own seed, 100 x shift + repeat (d2tl.sections.repeat_seed): it "
                     "draws the repeat's shift directions (one per case and view, shared by the view's LE and "
                     "recombined images) and seeds its training, so the repeats are independent samples.")
        del s20
    elif section == "pooling":
        dual, simple = by("dual-mode (D2TL)"), by("simple pooling")
        ratio = (dual["steady_train_seconds"] / simple["steady_train_seconds"]
                 if dual["steady_train_seconds"] and simple["steady_train_seconds"] else None)
        extra["time_ratio_dual_over_simple"] = ratio
        comparison += [
            {"quantity": "D2TL (dual-mode): test acc / sens / spec", "paper": triple(REPORTED["box_size"][256]),
             "ours": triple(dual)},
            {"quantity": "simple pooling: test acc / sens / spec", "paper": "accuracy and sensitivity below D2TL",
             "ours": triple(simple)},
            {"quantity": "training time, dual-mode / simple pooling", "paper": "about 2x",
             "ours": "n/a" if ratio is None else f"{ratio:.2f}x ({_seconds(dual['steady_train_seconds'])} vs "
                                                 f"{_seconds(simple['steady_train_seconds'])})"}]
        notes.append("Both models push all four images through InceptionV3 (simple pooling shares one network, "
                     "dual-mode has one per mode), so their arithmetic per step is the same; only the parameter "
                     "count differs. Times are steady-state epoch times x epochs x runs (the epoch that compiled "
                     "the graph is left out).")
    elif section == "tuning":
        full, semi = by("full-tune (D2TL)"), by("semi-tune")
        keras2 = by("semi-tune, Keras 2 BN") if (rows["label"] == "semi-tune, Keras 2 BN").any() else None
        counts = parameter_counts_by_tuning(ctx.base())
        ratio = counts["full"]["trainable"] / counts["semi"]["trainable"]
        extra["parameters"] = counts
        extra["trainable_ratio"] = ratio
        stated = REPORTED["tuning"]["param_ratio_stated"]
        tables["parameters"] = pd.DataFrame([{"tuning": k, **v} for k, v in counts.items()])
        comparison += [
            {"quantity": "full-tune (D2TL): test acc / sens / spec", "paper": triple(REPORTED["box_size"][256]),
             "ours": triple(full)},
            {"quantity": "semi-tune, frozen BN in inference mode (Keras 3): test acc / sens / spec",
             "paper": "accuracy much lower, specificity 0%", "ours": triple(semi)}]
        if keras2 is not None:
            comparison.append({"quantity": "semi-tune, frozen BN with batch statistics in fit (Keras 2): "
                                           "test acc / sens / spec",
                               "paper": "accuracy much lower, specificity 0%", "ours": triple(keras2)})
        comparison.append({"quantity": "trainable parameters, full / semi",
                           "paper": f"about {stated}x", "ours": f"{ratio:.1f}x ({counts['full']['trainable']:,} / "
                                                                 f"{counts['semi']['trainable']:,})"})
        if abs(ratio - stated) > 1:
            notes.append(f"Inconsistency with the paper: it says full-tune tunes about {stated} times as many "
                         f"parameters as semi-tune; the model it describes (two InceptionV3s without their top, "
                         f"2048-D per view, two 512-D dense layers, a 2-way output) gives {ratio:.1f}x "
                         f"({counts['full']['trainable']:,} vs {counts['semi']['trainable']:,}). We report what the "
                         "described model has.")
        notes.append("Semi-tune freezes both InceptionV3s and trains only abstraction_le, abstraction_rec and the "
                     "output layer, under two readings of 'frozen' batch normalisation: Keras 3's (moving "
                     "statistics in training too; trained on cached backbone features) and Keras 2's, the paper's "
                     "runtime (batch statistics in fit, moving statistics at inference; trained end to end).")
        pattern = {}
        for label, r in (("inference", semi), ("keras2", keras2)):
            if r is not None:
                pattern[label] = bool(r["tn"] + r["fp"] > 0 and r["tn"] == 0 and r["tp"] + r["fn"] > 0 and r["fn"] == 0)
        extra["semi_all_malignant"] = pattern
        pretrained = not str(semi["weights_source"]).startswith("random")
        extra["semi_comparison_void"] = not pretrained
        if not pretrained:
            notes.append("Which frozen-BN reading reproduces the paper's semi-tune pattern (every test case called "
                         "malignant, 0% specificity) is not decided here: the backbones are randomly initialised "
                         "(no ImageNet or other pretrained weights on this machine), so semi-tune trains a head on "
                         "random features and the comparison is void. "
                         f"Observed all-malignant pattern: {pattern}.")
        else:
            which = [k for k, v in pattern.items() if v]
            notes.append("Paper's semi-tune pattern (every test case malignant, 0% specificity) reproduced by: "
                         + (", ".join(which) if which else "neither reading") + ".")
    elif section == "random_init":
        stats_rows = []
        for p in plans:
            r = by(p.label)
            h = histories.loc[histories["label"] == p.label]
            per_run = pd.DataFrame([{"run": int(run), "last10_train": last_epochs_mean(hr, "accuracy"),
                                     "last10_val": last_epochs_mean(hr, "val_accuracy")}
                                    for run, hr in h.groupby("run")])
            level = level_summary(h, TRAIN_ACCURACY_LEVEL)  # censored runs kept (d2tl.censored)
            stats_rows.append({"label": p.label, "initialisation": p.columns["initialisation"],
                               "weights_source": r["weights_source"], "epochs": int(r["epochs"]),
                               "runs": int(r["runs"]), "runs_reaching_90": level["runs_reaching"],
                               "epoch_90_median": level["median"], "epoch_90_median_text": level["median_text"],
                               "epoch_90_censored_at": level["censored_at"],
                               "epoch_90_per_run": level["per_run"],
                               "last10_train_accuracy": float(per_run["last10_train"].mean()),
                               "last10_val_accuracy": float(per_run["last10_val"].mean()),
                               "last_n_epochs": int(min(10, r["epochs"]))})
        learning = pd.DataFrame(stats_rows)
        tables["learning"] = learning
        extra["learning"] = stats_rows
        rep = REPORTED["random_init"]
        from .init_arms import absent

        extra["absent_arms"] = absent(ctx)
        notes.extend(extra["absent_arms"])
        for s in stats_rows:
            key = s["initialisation"]
            comparison.append({"quantity": f"{key}: first epoch with 90% training accuracy (Kaplan-Meier median)",
                               "paper": f"epoch ~{rep['epoch_90pct_train_acc'][key]}" if key in
                               rep["epoch_90pct_train_acc"] else "not in the paper",
                               "ours": f"{s['epoch_90_median_text']} (of {s['epochs']}; {s['runs_reaching_90']}/"
                                       f"{s['runs']} runs reach it)"})
            pt, pv = rep["last10_train_val_acc"].get(key, (None, None))
            comparison.append({"quantity": f"{key}: mean train / val accuracy, last {s['last_n_epochs']} epochs",
                               "paper": "not in the paper" if pt is None else f"{pct(pt, 2)} / {pct(pv, 2)} (last 10 of 200)",
                               "ours": f"{pct(s['last10_train_accuracy'], 2)} / {pct(s['last10_val_accuracy'], 2)}"})
        for p in plans:
            comparison.append({"quantity": f"{p.columns['initialisation']}: test acc / sens / spec",
                               "paper": "n/a", "ours": triple(by(p.label))})
            if p.note:
                notes.append(f"{p.label}: {p.note}.")
        notes.append("Training accuracy is Keras's running accuracy over each epoch's augmented training set "
                     "(dropout active); validation accuracy is on the augmented validation set.")
        notes.append(censored_note(TRAIN_ACCURACY_LEVEL))
    paired = section_tests.section_table(section, rows, ctx.store)
    if len(paired):
        tables["paired_tests"] = paired
        extra["paired_tests"] = section_tests.records(paired)
        notes += section_tests.notes(paired)
    notes.append(interval_note())
    return comparison, notes, extra, tables


_PARAMETER_COUNTS: dict = {}


def parameter_counts_by_tuning(base: ExperimentConfig) -> dict:
    """Total / trainable / non-trainable parameters of the model under full- and semi-tune
    (built with random weights: the counts do not depend on the weights or the input side)."""
    from .model import build_model, parameter_counts

    model_config = dataclasses.replace(base.model, weights="random")
    key = json.dumps(dataclasses.asdict(model_config), sort_keys=True)
    if key not in _PARAMETER_COUNTS:
        counts = {}
        for tuning in ("full", "semi"):
            model, _ = build_model(dataclasses.replace(model_config, tuning=tuning))
            counts[tuning] = {k: int(v) for k, v in parameter_counts(model).items()}
            del model
        _PARAMETER_COUNTS[key] = counts
    return {k: dict(v) for k, v in _PARAMETER_COUNTS[key].items()}


# --------------------------------------------------------------------------------- running

def section_folder(ctx: Context, section: str) -> Path:
    return ctx.out / section


def fingerprint(ctx: Context, section: str, plans: list[Planned]) -> str:
    """Identifies a section report: section, data set, every configuration it shows (weights by
    identity) and the split seeds."""
    from .train import hashed_config

    key = {"section": section, "cases_sha256": ctx.dataset["cases_sha256"],
           "configs": [hashed_config(p.config, ctx.weights_identity(p.config.model.weights)) for p in plans]}
    if ctx.split_seeds > 1:
        key["split_seeds"] = ctx.split_seeds
    return config_hash(key)


def check_folder(ctx: Context, section: str, plans: list[Planned]) -> str:
    """The report fingerprint; refuse to overwrite a report made from other configurations."""
    digest = fingerprint(ctx, section, plans)
    prov = section_folder(ctx, section) / "provenance.json"
    if prov.is_file() and not ctx.replace:
        try:
            recorded = json.loads(prov.read_text()).get("report_fingerprint")
        except (OSError, json.JSONDecodeError):
            recorded = None
        if recorded != digest:
            raise D2TLError(f"{prov.parent} holds a report made from other configurations or data "
                            f"(fingerprint {recorded}, this one {digest}); refusing to overwrite it. "
                            f"Choose another --out, or pass --replace (trained results in "
                            f"{ctx.store} are never replaced either way)")
    return digest


def run_section(section: str, ctx: Context) -> SectionResult:
    """Train (or reuse) every configuration of ``section``, analyse, write ``OUT/<section>/``."""
    from . import report

    start = time.perf_counter()
    number, figure, title = INFO[section]
    plans = plan(section, ctx)
    digest = check_folder(ctx, section, plans)
    ctx.log(f"== Sec. {number} {title} ({figure}): {len(plans)} configurations, preset {ctx.preset}")
    ctx.prefetch_rois([p.trained_config for p in plans])
    rows, histories = [], []
    for p in plans:
        label = f"{section}: {p.label}"
        metrics = ctx.train(p.trained_config, label=label)
        directory = ctx.directory(p.trained_config)
        external = ctx.score_external(p.trained_config)
        rows.append(config_row(p, metrics, directory, ctx.records.get(str(directory)), label, external))
        histories.append(read_history(directory).assign(label=p.label))
    rows = pd.DataFrame(rows)
    histories = pd.concat(histories, ignore_index=True)
    comparison, notes, extra, tables = analyse(section, ctx, plans, rows, histories)
    if ctx.split_seeds > 1:
        from . import split_variance

        repeats = []
        for p, seed, copy in split_variance.split_plans(plans, ctx.split_seeds):
            metrics = ctx.train(copy.config, label=f"{section}: {copy.label}")
            repeats.append(split_variance.repeat_row(p.label, seed, metrics))
        tables["split_variance"] = split_variance.split_variance_table(rows, repeats)
        extra["split_seeds"] = ctx.split_seeds
        extra["split_variance"] = tables["split_variance"].to_dict(orient="records")
        notes.append(split_variance.note(tables["split_variance"], ctx.split_seeds))
    prov = report.section_provenance(ctx, section, plans, rows, digest)
    result = SectionResult(section, section_folder(ctx, section), rows, comparison, notes, extra, histories,
                           prov, 0.0, tables=tables)
    result.seconds = time.perf_counter() - start
    report.write_section(result)
    ctx.log(f"== Sec. {number} done in {result.seconds:.0f} s -> {result.folder}")
    return result


# --------------------------------------------------------------------------------- dry run

# The --dry-run estimate is built from a short measurement on this machine: the forward time
# of one InceptionV3 per image at every input side the plan needs (graph mode, after its trace),
# and the time to build one. A training step costs 3 forward passes of its images (forward plus
# the input and weight gradients: d2tl.flops.TRAIN_FACTOR); semi-tune, through cached backbone
# features, one forward pass of every image per run. Compiling a training graph is not
# measured (it would take the minutes it estimates); these are our CPU figures (TensorFlow 2.21,
# 2 cores): far less on a workstation.
COMPILE_SECONDS = {"full": 130.0, "semi": 50.0}  # per model graph: tracing train, test and predict steps
PER_RUN_SAVES = 2.0  # seconds per run: best weights out and back in


def measure_forward(sizes, batch: int = 8, log=None) -> dict:
    """Seconds per image of one InceptionV3 forward pass at each input side (graph mode, best of 2
    after a warm-up), and seconds to build one (key ``"build"``)."""
    import keras

    out = {}
    for size in sorted(set(sizes)):
        start = time.perf_counter()
        model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                               input_shape=(size, size, 3))
        out.setdefault("build", time.perf_counter() - start)
        x = np.random.default_rng(0).random((batch, size, size, 3), dtype=np.float32)
        model.predict(x, batch_size=batch, verbose=0)  # trace
        times = []
        for _ in range(2):
            t = time.perf_counter()
            model.predict(x, batch_size=batch, verbose=0)
            times.append(time.perf_counter() - t)
        out[size] = min(times) / batch
        if log:
            log(f"  measured: InceptionV3 forward at {size} px, {1000 * out[size]:.1f} ms per image")
        del model
    return out


def backbones_of(c: ExperimentConfig) -> int:
    return {"dual_mode": 2, "simple_pooling": 1, "separate": 4}[c.model.architecture]


def estimate_seconds(configs: list[ExperimentConfig], n_cases: dict, forward: dict,
                     semi_cached: bool = True) -> tuple[float, dict]:
    """Estimated wall time of training ``configs`` (distinct, not yet finished) in one process,
    from measured per-image forward times ``forward[input side]`` (see :func:`measure_forward`)."""
    from .flops import TRAIN_FACTOR
    from .views import IMAGES

    graphs, per_config = {}, {}
    total = 0.0
    images = len(IMAGES)
    for c in configs:
        g = graph_of(c)
        if g not in graphs:
            graphs[g] = COMPILE_SECONDS.get(c.model.tuning, COMPILE_SECONDS["full"])
            total += graphs[g]
        f = forward[c.model.input_size] * images  # one case, four images
        train, val, test = (n_cases["train"] * c.augment.copies, n_cases["val"] * c.augment.copies, n_cases["test"])
        if c.model.tuning == "semi" and semi_cached and c.model.frozen_bn == "inference":
            per_run = (train + val + test) * f  # features once; the head's epochs are negligible
        else:
            per_epoch = train * f * (TRAIN_FACTOR if c.model.tuning == "full" else 1) + val * f
            per_run = c.train.epochs * per_epoch + test * f
        per_run += backbones_of(c) * forward.get("build", 3.0) + PER_RUN_SAVES
        seconds = c.train.runs * per_run + test * f + backbones_of(c) * forward.get("build", 3.0)
        per_config[config_hash(c.to_dict())] = seconds
        total += seconds
    return total, {"graphs": graphs, "per_config": per_config}


def split_counts(table: pd.DataFrame) -> dict:
    from .data.split import part_targets

    targets = part_targets(table["label"].value_counts().to_dict(), SPLIT_SIZES)
    return {part: int(sum(v.values())) for part, v in targets.items()}


def describe(c: ExperimentConfig) -> str:
    return (f"{c.model.architecture}, {c.model.tuning}-tune, weights {c.model.weights}, box {c.roi.box} px "
            f"-> {c.roi.input_size} px, shift {c.roi.shift:g} px (seed {c.shift_seed}), "
            f"{c.train.runs} run(s) x {c.train.epochs} epoch(s), {c.augment.copies} augmented copies")


def print_plan(ctx: Context, sections, measure: bool = True, extra_seconds: dict | None = None,
               out=print) -> float:
    """Print every training configuration of ``sections`` (shared ones once), what is already
    finished, the model graphs to compile, and an estimated time; returns the estimate (s)."""
    s = ctx.settings
    out(f"Plan: preset {ctx.preset} (runs {s['runs']}, epochs {s['epochs']}, input scale {s['input_scale']:.4g}, "
        f"shift repeats {s['shift_repeats']}, random-init epochs {s['random_init_epochs']}, batch {s['batch_size']} "
        f"cases, {s['alternatives']} augmented alternative(s) per image"
        + (f"; every configuration on {ctx.split_seeds} split seeds" if ctx.split_seeds > 1 else "") + ")")
    out(f"Data: {ctx.cases} ({ctx.dataset.get('name')}, {len(ctx.table)} cases); trained results in {ctx.store}; "
        f"default weights ({ctx.base().model.weights}) give: {ctx.auto_weights_source()}")
    seen: dict[str, str] = {}
    to_train: list[ExperimentConfig] = []
    for section in sections:
        number, figure, title = INFO[section]
        out(f"\nSec. {number} {title} ({figure}) -> {section_folder(ctx, section)}")
        plans = plan(section, ctx)
        if ctx.split_seeds > 1:
            from .split_variance import split_plans

            plans = plans + [copy for _, _, copy in split_plans(plans, ctx.split_seeds)]
        for p in plans:
            c = p.trained_config
            key = str(ctx.directory(c))
            if p.substitute is not None:
                state = f"uses {ctx.directory(c).name} instead ({p.note})"
            elif key in seen:
                state = f"shared: trained once, for {seen[key]}"
            elif ctx.finished(c):
                state = "finished earlier: reused"
            else:
                state = "to train"
                to_train.append(c)
            seen.setdefault(key, f"{section}: {p.label}")
            out(f"  {p.label:<28} {describe(p.config)}  [{ctx.directory(c).name}: {state}]")
    graphs = sorted({graph_name(c) for c in to_train})
    out(f"\n{len(to_train)} configuration(s) to train; model graphs to compile (once each): "
        f"{', '.join(graphs) if graphs else 'none'}")
    if not measure:
        return float("nan")
    start = time.perf_counter()
    forward = measure_forward({c.model.input_size for c in to_train} or {75}, log=out)
    total, parts = estimate_seconds(to_train, split_counts(ctx.table), forward)
    for name, seconds in (extra_seconds or {}).items():
        total += seconds
        out(f"plus {name}: about {seconds / 60:.1f} min")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    hours = f" ({total / 3600:.1f} h)" if total > 5400 else ""
    out(f"Estimated time on this machine: about {total / 60:.0f} min{hours}, of which "
        f"{sum(parts['graphs'].values()) / 60:.1f} min compiling {len(parts['graphs'])} graph(s) (our 2-core CPU "
        f"figure); measured here in {time.perf_counter() - start:.0f} s (load average {load:.2f}) from InceptionV3 "
        "forward passes; a training step counted as 3 forward passes of its images; semi-tune through cached features")
    return total


# --------------------------------------------------------------------------------- command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"case table CSV (default {DEFAULT_CASES}); "
                        "any table d2tl reads, e.g. one made by python -m d2tl cdd-cesm")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS),
                        help="paper: 10 runs x 100 epochs, full-size inputs, 10 shift repeats, 200 random-init "
                        "epochs (a GPU); quick (default): reduced, for a CPU -- never paper numbers")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"results root (default {DEFAULT_OUT}): reports in "
                        f"OUT/<section>/, trained configurations in OUT/{RUNS_FOLDER}/<hash>/")
    parser.add_argument("--external", help="an independent case table on which every selected model is also "
                        "scored (95%% intervals); 'none' for no external set. Default: the preset's; quick makes "
                        "a synthetic one (another generator seed) beside a synthetic --cases set")
    parser.add_argument("--weights", help="the default configuration's backbone weights: imagenet, random, "
                        "fractal (python -m d2tl pretrain), a weights file, or auto (reduced presets only); "
                        "preset's if omitted (paper: imagenet, "
                        "which it refuses to run without; quick and smoke: auto)")
    parser.add_argument("--imagenet-md5", help="expected MD5 of the ImageNet file (default: Keras's published hash)")
    parser.add_argument("--split-seeds", type=int, default=1, help="beyond the paper: also train every "
                        "configuration on split seeds 1..K-1 and report each metric's mean and spread over the K "
                        "grouped, stratified splits beside the single split (default 1: the paper's one split)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and an estimated time; train nothing "
                        "(never needs the weights)")
    parser.add_argument("--replace", action="store_true", help="replace a section report made from other "
                        "configurations (trained results are never replaced)")
    from .execution import PRECISIONS, STRATEGIES

    g = parser.add_argument_group("execution (see docs/gpu.md)")
    g.add_argument("--precision", default="float32", choices=list(PRECISIONS),
                   help="mixed: float16 compute, float32 weights (GPU); bfloat16 likewise; part of each configuration")
    g.add_argument("--jit", action="store_true", help="XLA-compile the training step (TensorFlow: needs "
                   "--nondeterministic; always on under KERAS_BACKEND=jax)")
    g.add_argument("--nondeterministic", action="store_true", help="allow non-deterministic TensorFlow kernels")
    g.add_argument("--strategy", default="none", choices=list(STRATEGIES),
                   help="mirrored: tf.distribute.MirroredStrategy over every GPU of this host (TensorFlow)")


def make_context(args, log=None) -> Context:
    execution = {"precision": getattr(args, "precision", "float32"), "jit_compile": getattr(args, "jit", False),
                 "deterministic": not getattr(args, "nondeterministic", False)}
    log = log or _log_line
    from .external import resolve_external

    external = resolve_external(getattr(args, "external", None), args.cases, preset_settings(args.preset), log,
                                make=not getattr(args, "dry_run", False))
    settings = preset_settings(args.preset)
    if getattr(args, "weights", None):
        settings["weights"] = args.weights
    ctx = Context(args.cases, args.preset, args.out, log=log, replace=args.replace, execution=execution,
                  external=external, settings=settings, imagenet_md5=getattr(args, "imagenet_md5", None),
                  split_seeds=getattr(args, "split_seeds", 1))
    from .execution import check_support

    check_support(ctx.base().train)  # e.g. --jit under deterministic TensorFlow, before any work
    plans_only = getattr(args, "dry_run", False) or getattr(args, "report_only", False) or \
        (getattr(args, "plan", None) and not getattr(args, "shard", None))
    if not plans_only:  # plans, dry runs and reports from a finished store never need the weights
        ctx.weights(ctx.base().model.weights)  # the paper preset refuses here without ImageNet, naming the file
    return ctx


def _log_line(line: str) -> None:
    print(line, flush=True)


def main(section: str, argv=None, doc: str | None = None) -> int:
    """The command line of ``experiments/<section>.py``."""
    parser = argparse.ArgumentParser(description=(doc or section).splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        from .execution import distribution

        ctx = make_context(args)
        if args.dry_run:
            print_plan(ctx, [section])
            return 0
        with distribution(args.strategy):
            result = run_section(section, ctx)
        from .report import comparison_markdown

        print(comparison_markdown(result.summary()))
        return 0
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
