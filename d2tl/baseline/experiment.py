"""The baseline experiment behind ``python -m d2tl baseline``: configuration, features of every
mask variant and case table, selection and fitting; :mod:`d2tl.baseline.result_files` writes
the files of ``OUT/<hash>/``.

:mod:`d2tl.baseline.run` documents what is written and why (masks, control, external set);
this module holds the code, :mod:`d2tl.baseline.run` the command line.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats import section_tests
from ..io.atomic import atomic_path, write_text
from ..io.errors import D2TLError, DataError
from ..io.provenance import config_hash, dataset_info, provenance, write_json
from ..reporting.guard import refuse_other
from ..protocol.views import VIEWS
from .classify import CONTROL, GRIDS, MODELS, encode_labels, select_and_fit
from . import d2tl_result
from .d2tl_result import find_d2tl_metrics, load_d2tl_metrics, split_fingerprint
from .external import comparison, interval_columns, score_external
from .features import FEATURES_VERSION, FeatureConfig, extract_features, mateos_features
from .intensity import INTENSITY_VERSION, extract_intensity
from .report import figure_title, metrics_table, plot_figure, row_name
from .result_files import oracle_lines, predictions_table, write_features, write_metrics, write_predictions
from .shape import MaskPerturbation

DEFAULT_OUT = Path("results/baseline")
PRESETS = ("quick", "paper")
DEFAULT_PERTURBATION = MaskPerturbation(amplitude=0.2, harmonics=6, dilate=1, seed=0)


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """What determines a baseline result (besides the data); hashed into the output folder name."""

    preset: str = "paper"
    seed: int = 0  # the classifiers' and the perturbation's (docs/options.md)
    models: tuple[str, ...] = MODELS
    refit: str = "train"
    features: FeatureConfig = FeatureConfig()
    perturbation: MaskPerturbation | None = DEFAULT_PERTURBATION  # None: the masks as given
    exact_masks: bool = True  # with a perturbation: also every method on the masks as given
    intensity_control: bool = True
    recombine_weight: float | None = None
    split_seed: int = 0  # without a split file

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")

    @property
    def default_masks(self) -> str:
        return "exact" if self.perturbation is None else "perturbed"

    def mask_variants(self) -> dict:
        """``{name: perturbation or None}``, the default masks first."""
        if self.perturbation is None:
            return {"exact": None}
        return {"perturbed": self.perturbation, **({"exact": None} if self.exact_masks else {})}

    def methods(self) -> tuple[str, ...]:
        return (*self.models, *((CONTROL,) if self.intensity_control else ()))

    def grids(self) -> dict:
        return {m: GRIDS[self.preset][m] for m in self.methods()}

    def to_dict(self) -> dict:
        return {"preset": self.preset, "seed": self.seed, "models": list(self.models), "refit": self.refit,
                "grids": self.grids(), "features": self.features.to_dict(),
                "features_version": FEATURES_VERSION,
                "perturbation": None if self.perturbation is None else self.perturbation.to_dict(),
                "exact_masks": self.exact_masks and self.perturbation is not None,
                "intensity_control": self.intensity_control,
                "intensity_version": INTENSITY_VERSION if self.intensity_control else None,
                "recombine_weight": self.recombine_weight,
                # named only where it differs from seed: the one seed of earlier results meant both
                **({"split_seed": self.split_seed} if self.split_seed != self.seed else {})}


# --- inputs -------------------------------------------------------------------------------------

def check_masks(table: pd.DataFrame, source="case table") -> None:
    """Every case needs a mask per view; one error lists the cases that lack one."""
    lacking = [f"{row['id']} ({view})" for _, row in table.iterrows() for view in VIEWS
               if not str(row.get(f"{view}_mask_path", "") or "").strip()]
    if lacking:
        shown = ", ".join(lacking[:10]) + (f" and {len(lacking) - 10} more" if len(lacking) > 10 else "")
        raise DataError(f"{source}: the conventional baseline needs a lesion mask per view "
                        f"(columns cc_mask_path, mlo_mask_path); missing for patient {shown}")


def get_split(table: pd.DataFrame, split_csv=None, seed: int = 0) -> tuple[pd.Series, dict]:
    """The split (indexed like ``table``) and a description of where it came from."""
    from ..data.split import load_split, split_cases, split_summary

    if split_csv:
        parts = load_split(split_csv, table)
        source = {"source": str(split_csv)}
    else:
        parts = split_cases(table, seed)
        source = {"source": f"d2tl.data.split.split_cases(seed={seed})"}
    bad = sorted(set(parts) - {"train", "val", "test"})
    if bad:
        raise DataError(f"split: unknown part(s) {bad}; expected train, val, test")
    summary = split_summary(table, parts)
    source.update({"sha256": split_fingerprint(table, parts),
                   "counts": {p: {k: int(v) for k, v in r.items()} for p, r in summary.iterrows()}})
    return parts, source


def _oracle(cases) -> dict | None:
    """The oracle figures of a synthetic data set (``dataset.json`` beside the case table)."""
    from ..data.oracle import oracle_summary

    try:
        return oracle_summary(Path(cases).parent)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None


# --- experiment ---------------------------------------------------------------------------------

@dataclasses.dataclass
class BaselineResult:
    folder: Path
    table: pd.DataFrame
    fits: dict  # method -> FitResult, default masks
    features: pd.DataFrame  # texture and shape features, default masks
    seconds_per_case: float
    provenance: dict
    entries: list = dataclasses.field(default_factory=list)  # every method x masks (see report.metrics_table)
    paired_tests: pd.DataFrame | None = None  # D2TL vs each classifier on the test cases (d2tl.stats.section_tests)


def _json_rows(table: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in table.to_dict(orient="records")]


def run_baseline(cases, config: BaselineConfig = BaselineConfig(), *, split=None, out=DEFAULT_OUT,
                 cache_dir=None, jobs: int = 1, d2tl_metrics="auto", external=None,
                 progress=None) -> BaselineResult:
    """The whole experiment; returns what it wrote (see the module docstring). ``external``: an
    independent case table (CSV) scored by the selected classifiers."""
    start = time.perf_counter()
    out = Path(out)
    inputs = load_inputs(cases, external, split, config.split_seed)
    hashed = hashed_config(config, inputs)
    digest = config_hash(hashed)
    folder = out / digest
    _check_folder(folder, digest)
    variants = config.mask_variants()
    feats, tables = extract_all(inputs.sets, variants, config, cache_dir if cache_dir is not None
                                else out / "feature-cache", jobs, progress)
    intensity, intensity_seconds = extract_intensity_all(inputs.sets, variants, config)
    entries, ext_scores = fit_all(config, inputs, feats, intensity)
    d2tl = d2tl_metrics_for(d2tl_metrics, out.parent, inputs, cases, config.preset)
    default = config.default_masks
    result_table = metrics_table(entries, d2tl, default, external=external is not None)
    oracle = {"data": _oracle(cases), "external": _oracle(external) if external is not None else None}
    prov = provenance(config=hashed, seed=config.seed, preset=config.preset, dataset=inputs.data,
                      experiment="baseline (Sec. 4.6, Fig. 14)", split=inputs.split_info, external=inputs.ext_data,
                      default_masks=default, mask_variants=list(variants),
                      n_features=_n_features(feats[("main", default)], intensity.get(("main", default))),
                      d2tl_metrics=None if d2tl is None else {k: d2tl[k] for k in
                                                              ("path", "split_verified", "configuration")},
                      oracle=oracle, timing=_timing(tables, intensity_seconds, jobs, entries))
    predictions = predictions_table(inputs, entries, default)
    paired = _paired_tests(d2tl, predictions, entries, default)
    rows = _json_rows(result_table)
    summary = {"config_hash": digest, "split_sha256": inputs.split_info["sha256"], "default_masks": default,
               "perturbation": hashed["perturbation"], "external": inputs.ext_data,
               "comparison": comparison(rows, default, external is not None), "oracle": oracle,
               "rows": rows, "paired_tests": section_tests.records(paired)}
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        write_metrics(tmp, result_table, prov, oracle_lines(oracle, inputs.data, inputs.ext_data), paired, summary)
        write_predictions(tmp, inputs, predictions, ext_scores, entries, default)
        write_features(tmp, variants, feats, intensity, default)
        plot_figure(result_table, tmp / "fig14_baseline.png", default,
                    title=figure_title(inputs.data, config.perturbation) + f", preset {config.preset}")
        prov["timing"]["total_seconds"] = time.perf_counter() - start
        write_json(tmp / "provenance.json", prov)
    write_text(out / "LATEST", f"{digest}\n")
    return BaselineResult(folder=folder, table=result_table, fits={e["name"]: e["fit"] for e in entries
                                                                   if e["masks"] == default},
                          features=feats[("main", default)], seconds_per_case=float(tables[0].seconds.mean()),
                          provenance=prov, entries=entries, paired_tests=paired)


@dataclasses.dataclass
class Inputs:
    """The case tables (``sets``: main, and external when given), the split of the main one, and
    what identifies each (:func:`d2tl.io.provenance.dataset_info`)."""

    sets: dict
    parts: pd.Series
    split_info: dict
    data: dict
    ext_data: dict | None = None

    @property
    def table(self) -> pd.DataFrame:
        return self.sets["main"]


def load_inputs(cases, external=None, split=None, seed: int = 0) -> Inputs:
    """Load the case table (and the external one), check their masks, split the main one.

    Refuses an external table that is the case table itself."""
    from ..data.cases import load_cases

    table = load_cases(cases)
    check_masks(table, str(cases))
    parts, split_info = get_split(table, split, seed)
    inputs = Inputs({"main": table}, parts, split_info, dataset_info(cases, table))
    if external is not None:
        inputs.sets["external"] = load_cases(external)
        check_masks(inputs.sets["external"], str(external))
        inputs.ext_data = dataset_info(external, inputs.sets["external"])
        if inputs.ext_data["cases_sha256"] == inputs.data["cases_sha256"]:
            raise D2TLError(f"the external case table {external} is the case table itself ({cases})")
    return inputs


def hashed_config(config: BaselineConfig, inputs: Inputs) -> dict:
    """What names the output folder: the configuration, the data, the split and the external set."""
    ext = inputs.ext_data
    return {**config.to_dict(), "dataset": {"cases_sha256": inputs.data["cases_sha256"], "n_cases": len(inputs.table)},
            "split_sha256": inputs.split_info["sha256"],
            "external": None if ext is None else {"cases_sha256": ext["cases_sha256"], "n_cases": ext["n_cases"]}}


def extract_all(sets: dict, variants: dict, config: BaselineConfig, cache, jobs: int, progress=None):
    """Texture and shape features of every case table under every mask variant:
    ``({(set, masks): features}, [FeatureTable, ...])``; ``progress(done, total)`` counts cases."""
    total, done = sum(len(t) for t in sets.values()) * len(variants), 0
    feats, tables = {}, []
    for masks, perturbation in variants.items():
        for which, cases_table in sets.items():
            def tick(k, n, offset=done):
                if progress is not None:
                    progress(offset + k, total)
            ft = extract_features(cases_table, config.features, cache_dir=cache, jobs=jobs,
                                  perturbation=perturbation, recombine_weight=config.recombine_weight,
                                  progress=tick)
            done += len(cases_table)
            feats[(which, masks)] = ft.features
            tables.append(ft)
    return feats, tables


def extract_intensity_all(sets: dict, variants: dict, config: BaselineConfig) -> tuple[dict, float]:
    """The intensity-only control's features per (set, masks), and the seconds they took ({} without it)."""
    intensity, seconds = {}, 0.0
    if config.intensity_control:
        for which, cases_table in sets.items():
            by_masks, took = extract_intensity(cases_table, variants, config.recombine_weight)
            intensity.update({(which, m): f for m, f in by_masks.items()})
            seconds += took
    return intensity, seconds


def fit_all(config: BaselineConfig, inputs: Inputs, feats: dict, intensity: dict) -> tuple[list, dict]:
    """Every method selected on validation and fitted, per mask variant, and scored on the test cases
    (and the external set): ``(entries, {(method, masks): (external scores, calls)})``."""
    y = encode_labels(inputs.table["label"])
    part_values = inputs.parts.to_numpy()
    test = part_values == "test"
    external = "external" in inputs.sets
    y_ext = encode_labels(inputs.sets["external"]["label"]) if external else None
    grids = config.grids()
    entries, ext_scores = [], {}
    for masks in config.mask_variants():
        def features(which, masks=masks):
            full = feats[(which, masks)]
            return {"full": full, "mateos": mateos_features(full), CONTROL: intensity.get((which, masks))}
        main, ext = features("main"), (features("external") if external else None)
        for name in config.methods():
            key = name if name in ("mateos", CONTROL) else "full"
            X = main[key]
            fit = select_and_fit(name, X, y, part_values, grids[name], seed=config.seed, refit=config.refit)
            entry = {"name": name, "masks": masks, "fit": fit,
                     "test": interval_columns(fit.test, y[test], fit.test_scores.to_numpy())}
            if ext is not None:
                entry["ext"], scores, calls = score_external(fit, ext[key].reindex(columns=X.columns), y_ext)
                ext_scores[(name, masks)] = (scores, calls)
            entries.append(entry)
    return entries, ext_scores


def d2tl_metrics_for(d2tl_metrics, results, inputs: Inputs, cases, preset: str) -> dict | None:
    """The D2TL result to compare with, on the same data and split: found under ``results``
    (``"auto"``) or read from the file given; None when there is none."""
    if d2tl_metrics == "auto":
        d2tl = find_d2tl_metrics(results, inputs.split_info["sha256"], inputs.data["cases_sha256"], cases, preset)
    else:
        d2tl = load_d2tl_metrics(d2tl_metrics, inputs.split_info["sha256"], inputs.data["cases_sha256"])
    if d2tl is not None:
        d2tl["intervals"] = d2tl_result.interval_columns(d2tl)
    return d2tl


def _paired_tests(d2tl: dict | None, predictions: pd.DataFrame, entries: list, default: str) -> pd.DataFrame:
    """D2TL against each classifier with the default masks (the control left out), paired on the test cases."""
    return d2tl_result.paired_tests(d2tl, predictions, {row_name(e["name"], e["masks"], default): e["name"]
                                                        for e in entries if e["masks"] == default
                                                        and e["name"] != CONTROL})


def _n_features(full: pd.DataFrame, intensity: pd.DataFrame | None) -> dict:
    return {"full": int(full.shape[1]), "mateos": int(mateos_features(full).shape[1]),
            "intensity": int(intensity.shape[1]) if intensity is not None else 0}


def _timing(tables: list, intensity_seconds: float, jobs: int, entries: list) -> dict:
    """Seconds spent on features (per case, cached or computed) and on each classifier; the total is set last."""
    computed = pd.concat([ft.seconds[~ft.cached] for ft in tables])
    return {"feature_seconds_per_case_mean": float(pd.concat([ft.seconds for ft in tables]).mean()),
            "feature_seconds_per_case_max": float(max(ft.seconds.max() for ft in tables)),
            "feature_wall_seconds_this_run": float(sum(ft.wall_seconds for ft in tables)),
            "feature_tables": len(tables),
            "cases_from_cache": int(sum(ft.cached.sum() for ft in tables)),
            "cases_computed": int(sum((~ft.cached).sum() for ft in tables)),
            "computed_seconds_per_case_mean": float(computed.mean()) if len(computed) else None,
            "intensity_seconds": intensity_seconds, "jobs": jobs,
            "classifier_seconds": {f"{e['name']}/{e['masks']}": e["fit"].seconds for e in entries},
            "total_seconds": None}


def _check_folder(folder: Path, digest: str) -> None:
    refuse_other(folder / "provenance.json", "config_hash", digest, lambda recorded: (
        f"{folder} holds a result made with another configuration "
        f"(config_hash {recorded}); refusing to overwrite it -- move it away or "
        "choose another --out"))
