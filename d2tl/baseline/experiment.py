"""The baseline experiment behind ``python -m d2tl baseline``: configuration, features of every
mask variant and case table, selection and fitting, and the files of ``OUT/<hash>/``.

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
from ..atomic import atomic_path, write_text
from ..errors import D2TLError, DataError
from ..provenance import config_hash, dataset_info, portable, portable_table, provenance, write_json
from ..reporting.guard import refuse_other
from ..views import VIEWS
from .classify import CONTROL, GRIDS, MODELS, encode_labels, select_and_fit
from . import d2tl_result
from .d2tl_result import find_d2tl_metrics, load_d2tl_metrics, split_fingerprint
from .external import comparison, interval_columns, score_external
from .features import FEATURES_VERSION, FeatureConfig, extract_features, mateos_features
from .intensity import INTENSITY_VERSION, extract_intensity
from .report import figure_title, markdown_table, metrics_table, plot_figure, row_name
from .shape import MaskPerturbation

DEFAULT_OUT = Path("results/baseline")
PRESETS = ("quick", "paper")
DEFAULT_PERTURBATION = MaskPerturbation(amplitude=0.2, harmonics=6, dilate=1, seed=0)


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """What determines a baseline result (besides the data); hashed into the output folder name."""

    preset: str = "paper"
    seed: int = 0
    models: tuple[str, ...] = MODELS
    refit: str = "train"
    features: FeatureConfig = FeatureConfig()
    perturbation: MaskPerturbation | None = DEFAULT_PERTURBATION  # None: the masks as given
    exact_masks: bool = True  # with a perturbation: also every method on the masks as given
    intensity_control: bool = True
    recombine_weight: float | None = None

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
                "recombine_weight": self.recombine_weight}


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
    from ..data.cases import load_cases

    start = time.perf_counter()
    out = Path(out)
    table = load_cases(cases)
    check_masks(table, str(cases))
    parts, split_info = get_split(table, split, config.seed)
    data = dataset_info(cases, table)
    sets = {"main": table}
    ext_data = None
    if external is not None:
        sets["external"] = load_cases(external)
        check_masks(sets["external"], str(external))
        ext_data = dataset_info(external, sets["external"])
        if ext_data["cases_sha256"] == data["cases_sha256"]:
            raise D2TLError(f"the external case table {external} is the case table itself ({cases})")
    hashed = {**config.to_dict(), "dataset": {"cases_sha256": data["cases_sha256"], "n_cases": len(table)},
              "split_sha256": split_info["sha256"],
              "external": None if ext_data is None else {"cases_sha256": ext_data["cases_sha256"],
                                                         "n_cases": ext_data["n_cases"]}}
    digest = config_hash(hashed)
    folder = out / digest
    _check_folder(folder, digest)

    variants = config.mask_variants()
    total, done = sum(len(t) for t in sets.values()) * len(variants), [0]
    cache = cache_dir if cache_dir is not None else out / "feature-cache"
    feats, tables = {}, []
    for masks, perturbation in variants.items():
        for which, cases_table in sets.items():
            def tick(k, n, offset=done[0]):
                if progress is not None:
                    progress(offset + k, total)
            ft = extract_features(cases_table, config.features, cache_dir=cache, jobs=jobs,
                                  perturbation=perturbation, recombine_weight=config.recombine_weight,
                                  progress=tick)
            done[0] += len(cases_table)
            feats[(which, masks)] = ft.features
            tables.append(ft)
    intensity, intensity_seconds = {}, 0.0
    if config.intensity_control:
        for which, cases_table in sets.items():
            by_masks, seconds = extract_intensity(cases_table, variants, config.recombine_weight)
            intensity.update({(which, m): f for m, f in by_masks.items()})
            intensity_seconds += seconds

    y = encode_labels(table["label"])
    part_values = parts.to_numpy()
    test = part_values == "test"
    y_ext = encode_labels(sets["external"]["label"]) if external is not None else None
    grids = config.grids()
    entries, ext_scores = [], {}
    for masks in variants:
        def inputs(which, masks=masks):
            full = feats[(which, masks)]
            return {"full": full, "mateos": mateos_features(full), CONTROL: intensity.get((which, masks))}
        main, ext = inputs("main"), (inputs("external") if external is not None else None)
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

    if d2tl_metrics == "auto":
        d2tl = find_d2tl_metrics(out.parent, split_info["sha256"], data["cases_sha256"], cases, config.preset)
    else:
        d2tl = load_d2tl_metrics(d2tl_metrics, split_info["sha256"], data["cases_sha256"])
    if d2tl is not None:
        d2tl["intervals"] = d2tl_result.interval_columns(d2tl)
    default = config.default_masks
    result_table = metrics_table(entries, d2tl, default, external=external is not None)
    rows = _json_rows(result_table)
    oracle = {"data": _oracle(cases), "external": _oracle(external) if external is not None else None}
    compared = comparison(rows, default, external is not None)
    computed = pd.concat([ft.seconds[~ft.cached] for ft in tables])
    timing = {"feature_seconds_per_case_mean": float(pd.concat([ft.seconds for ft in tables]).mean()),
              "feature_seconds_per_case_max": float(max(ft.seconds.max() for ft in tables)),
              "feature_wall_seconds_this_run": float(sum(ft.wall_seconds for ft in tables)),
              "feature_tables": len(tables),
              "cases_from_cache": int(sum(ft.cached.sum() for ft in tables)),
              "cases_computed": int(sum((~ft.cached).sum() for ft in tables)),
              "computed_seconds_per_case_mean": float(computed.mean()) if len(computed) else None,
              "intensity_seconds": intensity_seconds, "jobs": jobs,
              "classifier_seconds": {f"{e['name']}/{e['masks']}": e["fit"].seconds for e in entries},
              "total_seconds": None}
    main_full = feats[("main", default)]
    prov = provenance(config=hashed, seed=config.seed, preset=config.preset, dataset=data,
                      experiment="baseline (Sec. 4.6, Fig. 14)", split=split_info, external=ext_data,
                      default_masks=default, mask_variants=list(variants),
                      n_features={"full": int(main_full.shape[1]), "mateos": int(mateos_features(main_full).shape[1]),
                                  "intensity": int(intensity[("main", default)].shape[1]) if intensity else 0},
                      d2tl_metrics=None if d2tl is None else {k: d2tl[k] for k in
                                                              ("path", "split_verified", "configuration")},
                      oracle=oracle, timing=timing)

    def suffix(masks):
        return "" if masks == default else f"_{masks}"

    predictions = table[["id", "label"]].assign(part=part_values)
    for e in entries:
        column = f"{e['name']}{suffix(e['masks'])}"
        predictions[f"{column}_score"] = np.nan
        predictions[f"{column}_malignant"] = pd.NA
        predictions.loc[e["fit"].test_scores.index, f"{column}_score"] = e["fit"].test_scores.to_numpy()
        predictions.loc[e["fit"].test_pred.index, f"{column}_malignant"] = e["fit"].test_pred.to_numpy()
    paired = d2tl_result.paired_tests(d2tl, predictions, {row_name(e["name"], e["masks"], default): e["name"]
                                                          for e in entries if e["masks"] == default
                                                          and e["name"] != CONTROL})
    selection = pd.concat([e["fit"].selection.assign(method=e["name"], masks=e["masks"]) for e in entries],
                          ignore_index=True)
    selection = selection[["method", "masks", "order", "params", "val_accuracy", "val_auc", "chosen"]]
    oracle_text = oracle_lines(oracle, data, ext_data)

    with atomic_path(folder) as tmp:
        tmp.mkdir()
        portable_table(result_table).to_csv(tmp / "metrics.csv", index=False)
        report = markdown_table(result_table, prov, oracle_text) + paired_markdown(paired)
        (tmp / "metrics.md").write_text(portable(report))
        paired.to_csv(tmp / "paired_tests.csv", index=False)
        write_json(tmp / "metrics.json", portable({"config_hash": digest, "split_sha256": split_info["sha256"],
                                          "default_masks": default, "perturbation": hashed["perturbation"],
                                          "external": ext_data, "comparison": compared, "oracle": oracle,
                                          "rows": rows, "paired_tests": section_tests.records(paired)}))
        predictions.to_csv(tmp / "predictions.csv", index=False)
        if external is not None:
            ext_pred = sets["external"][["id", "label"]].copy()
            for (name, masks), (scores, calls) in ext_scores.items():
                ext_pred[f"{name}{suffix(masks)}_score"] = scores
                ext_pred[f"{name}{suffix(masks)}_malignant"] = calls
            ext_pred.to_csv(tmp / "external_predictions.csv", index=False)
        selection.to_csv(tmp / "selection.csv", index=False)
        for masks in variants:
            feats[("main", masks)].to_csv(tmp / f"features{suffix(masks)}.csv")
            if intensity:
                intensity[("main", masks)].to_csv(tmp / f"intensity{suffix(masks)}.csv")
        pd.DataFrame({"id": table["id"], "part": part_values}).to_csv(tmp / "split.csv", index=False)
        plot_figure(result_table, tmp / "fig14_baseline.png", default,
                    title=figure_title(data, config.perturbation) + f", preset {config.preset}")
        prov["timing"]["total_seconds"] = time.perf_counter() - start
        write_json(tmp / "provenance.json", prov)
    write_text(out / "LATEST", f"{digest}\n")
    fits = {e["name"]: e["fit"] for e in entries if e["masks"] == default}
    return BaselineResult(folder=folder, table=result_table, fits=fits, features=main_full,
                          seconds_per_case=float(tables[0].seconds.mean()), provenance=prov, entries=entries,
                          paired_tests=paired)


def paired_markdown(paired: pd.DataFrame) -> str:
    """The paired-tests section of ``metrics.md`` (empty without a D2TL result beside)."""
    if not len(paired):
        return ""
    lines = ["", "## D2TL vs each classifier, paired on the test cases", "", *section_tests.markdown(paired),
             *[f"- {n}" for n in section_tests.notes(paired)]]
    return "\n".join(lines) + "\n"


def oracle_lines(oracle: dict, data: dict, ext_data: dict | None) -> list[str]:
    """``metrics.md``'s oracle lines: ``"<data set>: <oracle text>"`` for the data and external sets."""
    named = ((data.get("name"), oracle.get("data")), ((ext_data or {}).get("name"), oracle.get("external")))
    return [f"{name}: {_oracle_text(block)}" for name, block in named if block]


def _oracle_text(block: dict) -> str:
    from ..data.oracle import oracle_text

    return oracle_text(block)


def _check_folder(folder: Path, digest: str) -> None:
    refuse_other(folder / "provenance.json", "config_hash", digest, lambda recorded: (
        f"{folder} holds a result made with another configuration "
        f"(config_hash {recorded}); refusing to overwrite it -- move it away or "
        "choose another --out"))
