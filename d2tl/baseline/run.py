"""``python -m d2tl baseline``: the conventional baseline of Sec. 4.6 (Fig. 14), end to end.

Reads a case table with lesion masks, extracts (or reads cached) texture and shape features,
splits the cases as D2TL does (``--split CSV``, or :func:`d2tl.data.split.split_cases` with
``--seed``), chooses each classifier's hyper-parameters on the validation cases, and writes, to
``OUT/<configuration hash>/``:

=====================  ======================================================================
``metrics.csv``,       one row per method: ours (GLM-LASSO, SVM, random forest, and the two
``metrics.md``         "in the style of" related-work rows), D2TL on the same split when its
                       metrics file is found, and the numbers the paper reports
``metrics.json``       the same, machine-readable
``fig14_baseline.png`` bars of test accuracy, sensitivity, specificity; the paper's and the
                       cited works' reported values as black ticks
``predictions.csv``    every test case's malignancy score and call per method
``selection.csv``      every hyper-parameter setting tried, with its validation accuracy/AUC
``features.csv``       the feature table (one row per case)
``split.csv``          the split used
``provenance.json``    configuration, seed, data set, split fingerprint, timing, versions
=====================  ======================================================================

The folder name is the hash of everything that determines the result (data set fingerprint,
split, feature settings, mask perturbation, classifiers and grids, seed), so a run with another
configuration never overwrites a finished one; the same configuration is recomputed and
replaced atomically. ``OUT/LATEST`` names the last finished folder. Features are cached per case
in ``OUT/feature-cache`` (``--cache``), so re-running the classifiers costs seconds.

Masks: synthetic case tables carry the true lesion outlines; the paper's were hand-drawn by a
radiologist. ``--perturb-masks A`` imitates a hand drawing (seeded smooth radial warp of up to
``A`` times the lesion radius, then a dilation or erosion of up to ``--perturb-dilate`` px;
:class:`d2tl.baseline.shape.MaskPerturbation`).

D2TL's result: ``--d2tl-metrics PATH``, or by default the best one found under OUT's parent
folder (``results/``) by :func:`find_d2tl_metrics`: a ``metrics.json`` as ``d2tl.train`` writes
it (``{"selected": {"test": {...}}, "provenance": {...}}`` with ``split.csv`` beside it) made on
the same case table and the same split, preferring the paper's default configuration.
Also accepted from ``--d2tl-metrics``: a JSON object with ``accuracy``, ``sensitivity``,
``specificity`` (fractions; optional ``auc``) at the top level or under ``"test"``. A file
recording another split (``split.csv`` beside it, or ``"split_sha256"``, see
:func:`split_fingerprint`) or another data set is skipped; one with no split record is shown as
"D2TL (split not verified)". Absent or unreadable: no D2TL row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path, write_text
from ..errors import D2TLError, DataError
from ..paper import REPORTED
from ..provenance import canonical_json, config_hash, dataset_info, provenance, write_json
from ..views import VIEWS
from .classify import GRIDS, MODELS, SHORT_TITLES, TITLES, encode_labels, select_and_fit
from .features import FEATURES_VERSION, FeatureConfig, extract_features, mateos_features
from .shape import MaskPerturbation

DEFAULT_OUT = Path("results/baseline")
PRESETS = ("quick", "paper")
METRICS = ("accuracy", "sensitivity", "specificity")


@dataclasses.dataclass(frozen=True)
class BaselineConfig:
    """What determines a baseline result (besides the data); hashed into the output folder name."""

    preset: str = "paper"
    seed: int = 0
    models: tuple[str, ...] = MODELS
    refit: str = "train"
    features: FeatureConfig = FeatureConfig()
    perturbation: MaskPerturbation | None = None
    recombine_weight: float | None = None

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")

    def grids(self) -> dict:
        return {m: GRIDS[self.preset][m] for m in self.models}

    def to_dict(self) -> dict:
        return {"preset": self.preset, "seed": self.seed, "models": list(self.models), "refit": self.refit,
                "grids": self.grids(), "features": self.features.to_dict(),
                "features_version": FEATURES_VERSION,
                "perturbation": None if self.perturbation is None else self.perturbation.to_dict(),
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


def split_fingerprint(table: pd.DataFrame, parts: pd.Series) -> str:
    """sha256 (16 hex) of the sorted ``id -> part`` mapping: equal iff two splits are equal."""
    return _fingerprint(table["id"], parts.reindex(table.index))


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


def _fingerprint(ids, parts) -> str:
    mapping = dict(sorted(zip(map(str, ids), map(str, parts))))
    return hashlib.sha256(canonical_json(mapping).encode()).hexdigest()[:16]


def load_d2tl_metrics(path, split_sha: str | None = None, dataset_sha: str | None = None,
                      quiet: bool = False) -> dict | None:
    """D2TL's test metrics from a JSON file (module docstring), or None when absent or unusable."""
    def note(text):
        if not quiet:
            print(f"note: {text}; D2TL row skipped", file=sys.stderr)

    if path is None or not Path(path).is_file():
        return None
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return note(f"D2TL metrics file {path} is not readable JSON")
    if not isinstance(data, dict):
        return note(f"{path} is not a JSON object")
    selected = data.get("selected") if isinstance(data.get("selected"), dict) else {}
    block = selected.get("test") if isinstance(selected.get("test"), dict) else data.get("test", data)
    if not isinstance(block, dict) or not all(isinstance(block.get(m), (int, float)) for m in METRICS):
        return note(f"{path} has no test accuracy/sensitivity/specificity")
    prov = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    recorded_data = (prov.get("dataset") or {}).get("cases_sha256") if isinstance(prov.get("dataset"), dict) else None
    if dataset_sha is not None and recorded_data is not None and recorded_data != dataset_sha:
        return note(f"{path} was computed on another data set")
    recorded = data.get("split_sha256")
    if recorded is None and isinstance(data.get("split"), dict):
        recorded = data["split"].get("sha256")
    beside = path.parent / "split.csv"
    if recorded is None and beside.is_file():
        try:
            written = pd.read_csv(beside, dtype=str, keep_default_na=False)
            recorded = _fingerprint(written["id"], written["part"])
        except (OSError, KeyError, pd.errors.ParserError, pd.errors.EmptyDataError):
            recorded = None
    verified = None if recorded is None or split_sha is None else recorded == split_sha
    if verified is False:
        return note(f"{path} was computed on another split")
    config = prov.get("config") if isinstance(prov.get("config"), dict) else {}
    model, roi = config.get("model") or {}, config.get("roi") or {}
    described = ", ".join(str(v) for v in (model.get("architecture"), model.get("tuning") and f"{model['tuning']}-tune",
                                            roi.get("box") and f"box {roi['box']}", prov.get("preset")) if v)
    auc = block.get("auc")
    return {"path": str(path), "split_verified": bool(verified), "configuration": described,
            "preset": prov.get("preset"), **{m: float(block[m]) for m in METRICS},
            "auc": float(auc) if isinstance(auc, (int, float)) else np.nan,
            "_default": model.get("architecture") == "dual_mode" and model.get("tuning") == "full"
            and model.get("weights") != "random" and roi.get("box") == 256 and not roi.get("shift")}


def find_d2tl_metrics(root, split_sha: str, dataset_sha: str, exclude=None) -> dict | None:
    """The best D2TL result under ``root`` (``*/metrics.json`` up to three folders deep) made on
    the same data set and split: the paper's default configuration (dual-mode, full-tune,
    ImageNet, box 256, no shift) first, then the paper preset, then the newest."""
    root = Path(root)
    exclude = Path(exclude).resolve() if exclude is not None else None
    found = []
    for pattern in ("*/metrics.json", "*/*/metrics.json", "*/*/*/metrics.json"):
        for path in root.glob(pattern):
            if exclude is not None and exclude in path.resolve().parents:
                continue
            d2tl = load_d2tl_metrics(path, split_sha, dataset_sha, quiet=True)
            if d2tl is not None and d2tl["split_verified"]:
                found.append((d2tl["_default"], d2tl["preset"] == "paper", path.stat().st_mtime, d2tl))
    if not found:
        return None
    return max(found, key=lambda item: item[:3])[3]


# --- experiment ---------------------------------------------------------------------------------

@dataclasses.dataclass
class BaselineResult:
    folder: Path
    table: pd.DataFrame
    fits: dict
    features: pd.DataFrame
    seconds_per_case: float
    provenance: dict


def run_baseline(cases, config: BaselineConfig = BaselineConfig(), *, split=None, out=DEFAULT_OUT,
                 cache_dir=None, jobs: int = 1, d2tl_metrics="auto", progress=None) -> BaselineResult:
    """The whole experiment; returns what it wrote (see the module docstring)."""
    from ..data.cases import load_cases

    start = time.perf_counter()
    out = Path(out)
    table = load_cases(cases)
    check_masks(table, str(cases))
    parts, split_info = get_split(table, split, config.seed)
    data = dataset_info(cases, table)
    hashed = {**config.to_dict(), "dataset": {"cases_sha256": data["cases_sha256"], "n_cases": len(table)},
              "split_sha256": split_info["sha256"]}
    digest = config_hash(hashed)
    folder = out / digest
    _check_folder(folder, digest)

    ft = extract_features(table, config.features, cache_dir=cache_dir if cache_dir is not None else out / "feature-cache",
                          jobs=jobs, perturbation=config.perturbation,
                          recombine_weight=config.recombine_weight, progress=progress)
    features = ft.features
    y = encode_labels(table["label"])
    part_values = parts.to_numpy()
    inputs = {"full": features, "mateos": mateos_features(features)}
    fits = {}
    for name in config.models:
        X = inputs["mateos" if name == "mateos" else "full"]
        fits[name] = select_and_fit(name, X, y, part_values, config.grids()[name], seed=config.seed,
                                    refit=config.refit)

    if d2tl_metrics == "auto":
        d2tl = find_d2tl_metrics(out.parent, split_info["sha256"], data["cases_sha256"], exclude=out)
    else:
        d2tl = load_d2tl_metrics(d2tl_metrics, split_info["sha256"], data["cases_sha256"])
    result_table = metrics_table(fits, d2tl)
    seconds_computed = ft.seconds[~ft.cached]
    timing = {"feature_seconds_per_case_mean": float(ft.seconds.mean()),
              "feature_seconds_per_case_max": float(ft.seconds.max()),
              "feature_wall_seconds_this_run": ft.wall_seconds,
              "cases_from_cache": int(ft.cached.sum()), "cases_computed": int((~ft.cached).sum()),
              "computed_seconds_per_case_mean": float(seconds_computed.mean()) if len(seconds_computed) else None,
              "jobs": jobs,
              "classifier_seconds": {n: f.seconds for n, f in fits.items()},
              "total_seconds": None}
    prov = provenance(config=hashed, seed=config.seed, preset=config.preset, dataset=data,
                      experiment="baseline (Sec. 4.6, Fig. 14)", split=split_info,
                      n_features={"full": int(features.shape[1]), "mateos": int(inputs["mateos"].shape[1])},
                      d2tl_metrics=None if d2tl is None else {k: d2tl[k] for k in
                                                              ("path", "split_verified", "configuration")},
                      timing=timing)

    predictions = table[["id", "label"]].assign(part=parts.to_numpy())
    for name, fit in fits.items():
        predictions[f"{name}_score"] = np.nan
        predictions[f"{name}_malignant"] = pd.NA
        predictions.loc[fit.test_scores.index, f"{name}_score"] = fit.test_scores.to_numpy()
        predictions.loc[fit.test_pred.index, f"{name}_malignant"] = fit.test_pred.to_numpy()
    selection = pd.concat([f.selection.assign(method=n) for n, f in fits.items()], ignore_index=True)
    selection = selection[["method", "order", "params", "val_accuracy", "val_auc", "chosen"]]

    with atomic_path(folder) as tmp:
        tmp.mkdir()
        result_table.to_csv(tmp / "metrics.csv", index=False)
        (tmp / "metrics.md").write_text(markdown_table(result_table, prov))
        write_json(tmp / "metrics.json", {"config_hash": digest, "split_sha256": split_info["sha256"],
                                          "rows": result_table.to_dict(orient="records")})
        predictions.to_csv(tmp / "predictions.csv", index=False)
        selection.to_csv(tmp / "selection.csv", index=False)
        features.to_csv(tmp / "features.csv")
        pd.DataFrame({"id": table["id"], "part": parts.to_numpy()}).to_csv(tmp / "split.csv", index=False)
        plot_figure(result_table, tmp / "fig14_baseline.png", title=_figure_title(data, config))
        prov["timing"]["total_seconds"] = time.perf_counter() - start
        write_json(tmp / "provenance.json", prov)
    write_text(out / "LATEST", f"{digest}\n")
    return BaselineResult(folder=folder, table=result_table, fits=fits, features=features,
                          seconds_per_case=float(ft.seconds.mean()), provenance=prov)


def _check_folder(folder: Path, digest: str) -> None:
    prov = folder / "provenance.json"
    if folder.exists() and prov.is_file():
        try:
            recorded = json.loads(prov.read_text()).get("config_hash")
        except (OSError, json.JSONDecodeError):
            recorded = None
        if recorded != digest:
            raise D2TLError(f"{folder} holds a result made with another configuration "
                            f"(config_hash {recorded}); refusing to overwrite it -- move it away or "
                            "choose another --out")


def _figure_title(data: dict, config: BaselineConfig) -> str:
    masks = "true masks" if config.perturbation is None else f"perturbed masks (A={config.perturbation.amplitude:g})"
    return f"Conventional baseline vs D2TL, test set -- {data.get('name', '')}, {masks}, preset {config.preset}"


# --- table and figure ---------------------------------------------------------------------------

def metrics_table(fits: dict, d2tl: dict | None) -> pd.DataFrame:
    """Rows: our methods, D2TL on the same split (if given), and the reported numbers."""
    rows = []
    reported_baseline = REPORTED["baseline"]
    related = REPORTED["related"]
    reported_for = {"lasso": reported_baseline, "svm": reported_baseline, "rf": reported_baseline,
                    "mateos": related["Mateos 2016"], "danala": related["Danala 2018"]}
    for name, fit in fits.items():
        rep = reported_for.get(name, {})
        rows.append({"method": SHORT_TITLES[name], "description": TITLES[name], "source": "ours",
                     "n_features": fit.n_features, "chosen": ", ".join(f"{k}={v}" for k, v in fit.params.items()),
                     "val_accuracy": fit.val["accuracy"],
                     **{m: fit.test[m] for m in (*METRICS, "auc")},
                     **{k: fit.test[k] for k in ("tn", "fp", "fn", "tp", "n")},
                     **{f"reported_{m}": rep.get(m, np.nan) for m in METRICS}})
    d2tl_reported = REPORTED["box_size"][256]
    if d2tl is not None:
        label = "D2TL" if d2tl["split_verified"] else "D2TL (split not verified)"
        rows.append({"method": label, "description": f"D2TL, our run ({d2tl['configuration']}; {d2tl['path']})",
                     "source": "ours",
                     **{m: d2tl[m] for m in METRICS}, "auc": d2tl["auc"],
                     **{f"reported_{m}": d2tl_reported[m] for m in METRICS}})
    rows.append({"method": "D2TL (paper)", "description": "D2TL as reported (box 256, Fig. 7)", "source": "paper",
                 **{f"reported_{m}": d2tl_reported[m] for m in METRICS}})
    rows.append({"method": "Baseline (paper)", "description": "GLM-LASSO / SVM / RF as reported (Fig. 14: "
                 "accuracy below D2TL, specificity 60%)", "source": "paper",
                 **{f"reported_{m}": reported_baseline.get(m, np.nan) for m in METRICS}})
    for who, rep in related.items():
        rows.append({"method": f"{who.replace(' ', ' et al. ')} (cited)", "description": f"{who} as cited by the paper",
                     "source": "cited", **{f"reported_{m}": rep.get(m, np.nan) for m in METRICS}})
    columns = ["method", "description", "source", "n_features", "chosen", "val_accuracy", *METRICS, "auc",
               "tn", "fp", "fn", "tp", "n", *(f"reported_{m}" for m in METRICS)]
    return pd.DataFrame(rows).reindex(columns=columns)


def _pct(value) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.0f}%"


def markdown_table(table: pd.DataFrame, prov: dict) -> str:
    lines = ["# Conventional baseline (Sec. 4.6, Fig. 14)", "",
             f"Data: {prov['dataset'].get('name')} ({prov['dataset'].get('n_cases')} cases), split "
             f"{prov['split']['source']} (sha256 {prov['split']['sha256']}), preset {prov['preset']}"
             + ("" if prov["paper_run"] else " -- reduced preset, not comparable with the paper") + ".",
             f"Features: {prov['n_features']['full']} (texture of the four images + shape of the two masks); "
             f"mask perturbation: {prov['config']['perturbation'] or 'none (true outlines)'}.", "",
             "| method | source | features | chosen on validation | val acc | test acc | sens | spec | AUC | "
             "TN FP FN TP | reported acc / sens / spec |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        counts = "" if pd.isna(r["tn"]) else f"{int(r['tn'])} {int(r['fp'])} {int(r['fn'])} {int(r['tp'])}"
        auc = "" if pd.isna(r["auc"]) else f"{float(r['auc']):.2f}"
        reported = " / ".join(_pct(r[f"reported_{m}"]) or "-" for m in METRICS)
        nf = "" if pd.isna(r["n_features"]) else str(int(r["n_features"]))
        chosen = "" if pd.isna(r["chosen"]) else str(r["chosen"])
        lines.append(f"| {r['method']} | {r['source']} | {nf} | {chosen} | {_pct(r['val_accuracy'])} | "
                     f"{_pct(r['accuracy'])} | {_pct(r['sensitivity'])} | {_pct(r['specificity'])} | {auc} | "
                     f"{counts} | {reported} |")
    lines += ["", "Reported: for GLM-LASSO / SVM / RF the paper gives only a specificity of 60% and "
              "accuracy below D2TL's; the Mateos- and Danala-style rows are our re-creations of the cited "
              "works' approach on this data (\"in the style of\"), shown beside the numbers those works report "
              "on their own data. Sensitivity = malignant called malignant; specificity = benign called benign.", ""]
    return "\n".join(lines)


def plot_figure(table: pd.DataFrame, path, title: str = "") -> None:
    """Grouped bars (accuracy, sensitivity, specificity) per method, like the paper's Fig. 14."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = table[table["source"] == "ours"].reset_index(drop=True)
    groups = list(ours["method"]) + ["D2TL (paper)"]
    colours = {"accuracy": "#4C72B0", "sensitivity": "#DD8452", "specificity": "#55A868"}
    width = 0.26
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2, 4.6))
    x = np.arange(len(groups))
    reported_seen = False
    for k, metric in enumerate(METRICS):
        pos = x + (k - 1) * width
        values = list(ours[metric].astype(float)) + [np.nan]
        ax.bar(pos[:-1], np.nan_to_num(values[:-1]), width, color=colours[metric], label=metric)
        paper_d2tl = float(table.loc[table["method"] == "D2TL (paper)", f"reported_{metric}"].iloc[0])
        ax.bar(pos[-1], paper_d2tl, width, color=colours[metric], alpha=0.35, hatch="//", edgecolor="grey",
               label="D2TL as reported (hatched)" if k == 0 else None)
        ax.text(pos[-1], paper_d2tl + 0.01, f"{100 * paper_d2tl:.0f}", ha="center", va="bottom", fontsize=7)
        for i, value in enumerate(values[:-1]):
            if not np.isnan(value):
                ax.text(pos[i], value + 0.01, f"{100 * value:.0f}", ha="center", va="bottom", fontsize=7)
        reported = list(ours[f"reported_{metric}"].astype(float))
        for i, value in enumerate(reported):
            if not np.isnan(value) and not ours.loc[i, "method"].startswith("D2TL"):
                ax.plot([pos[i] - width / 2, pos[i] + width / 2], [value, value], color="black", lw=2.2,
                        label=None if reported_seen else "reported (paper / cited work)")
                reported_seen = True
    ax.set_xticks(x)
    ax.set_xticklabels([g.replace(" (", "\n(") for g in groups], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test set")
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.legend(loc="upper center", ncol=5, fontsize=8, bbox_to_anchor=(0.5, -0.18))
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


# --- command line -------------------------------------------------------------------------------

def add_arguments(parser, default_cases=None) -> None:
    parser.add_argument("--cases", required=default_cases is None, default=default_cases,
                        help="case table CSV with a lesion mask per view" +
                        (f" (default {default_cases})" if default_cases else ""))
    parser.add_argument("--split", default=None, help="split CSV (id, part) to use, e.g. the one D2TL "
                        "was trained with; default: split_cases(table, --seed)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (without --split) and model seeds")
    parser.add_argument("--preset", choices=PRESETS, default="paper",
                        help="paper: full hyper-parameter grids; quick: small grids, fewer trees")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="results folder (default results/baseline); "
                        "each configuration gets its own sub-folder named by its hash")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--refit", choices=("train", "train+val"), default="train",
                        help="refit the chosen setting on the training cases (default) or on train+val")
    parser.add_argument("--perturb-masks", type=float, default=None, metavar="A",
                        help="imitate hand-drawn outlines: smooth random radial warp of up to A x the "
                        "lesion radius (e.g. 0.1), seeded per case and view")
    parser.add_argument("--perturb-dilate", type=int, default=1, metavar="PX",
                        help="with --perturb-masks: dilate or erode by up to PX image pixels (default 1)")
    parser.add_argument("--perturb-seed", type=int, default=None, help="seed of the perturbation (default --seed)")
    parser.add_argument("--glcm-levels", type=int, default=FeatureConfig.glcm_levels,
                        help=f"grey levels of the lesion's co-occurrence matrices (default {FeatureConfig.glcm_levels})")
    parser.add_argument("--d2tl-metrics", default="auto",
                        help="D2TL metrics JSON to show beside the baseline; 'auto' (default): the best "
                        "D2TL result on the same data and split found under OUT's parent folder; 'none': skip")
    parser.add_argument("--cache", default=None, help="feature cache folder (default OUT/feature-cache)")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                        help="processes for feature extraction")


def config_from_args(args) -> BaselineConfig:
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    perturbation = None
    if args.perturb_masks is not None:
        perturbation = MaskPerturbation(amplitude=args.perturb_masks, dilate=args.perturb_dilate,
                                        seed=args.seed if args.perturb_seed is None else args.perturb_seed)
    try:
        return BaselineConfig(preset=args.preset, seed=args.seed, models=models, refit=args.refit,
                              features=FeatureConfig(glcm_levels=args.glcm_levels), perturbation=perturbation)
    except ValueError as exc:
        raise D2TLError(str(exc)) from None


def run(args) -> int:
    config = config_from_args(args)
    d2tl = None if str(args.d2tl_metrics).lower() == "none" else args.d2tl_metrics

    def progress(done, total):
        if sys.stderr.isatty():
            print(f"\rfeatures: {done}/{total} cases", end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done == total or done % 10 == 0:
            print(f"features: {done}/{total} cases", file=sys.stderr, flush=True)

    result = run_baseline(args.cases, config, split=args.split, out=args.out, cache_dir=args.cache,
                          jobs=args.jobs, d2tl_metrics=d2tl, progress=progress)
    timing = result.provenance["timing"]
    print(f"features: {result.features.shape[1]} per case, {result.seconds_per_case:.2f} s per case "
          f"({timing['cases_from_cache']} of {len(result.features)} cases from cache)")
    shown = result.table[result.table["source"] == "ours"]
    for _, r in shown.iterrows():
        auc = "" if pd.isna(r["auc"]) else f", AUC {r['auc']:.2f}"
        print(f"  {r['method']:<28} test accuracy {_pct(r['accuracy']):>4}, sensitivity {_pct(r['sensitivity']):>4}, "
              f"specificity {_pct(r['specificity']):>4}{auc}")
    print(f"-> {result.folder}")
    return 0
