"""The baseline's table, Markdown report and figure (Fig. 14), written by :mod:`d2tl.baseline.run`.

Every computed row has a ``role``: ``baseline`` (GLM-LASSO, SVM, random forest and the two
"in the style of" rows), ``control`` (the intensity-only control), ``d2tl`` (our D2TL run on the
same split); the paper's and the cited works' numbers have ``paper`` and ``cited``. ``masks``
says which outlines a row's features came from: ``perturbed`` (the default, like a hand
drawing) or ``exact`` (the masks as given: the true outlines of synthetic data). Rows of the
non-default masks are named ``"<method> (exact masks)"``. Test columns carry 95 % intervals
(``<metric>_low``, ``<metric>_high``); ``ext_*`` columns hold the external set's results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.evaluate import auc_method
from ..protocol.paper import REPORTED
from .classify import CONTROL, SHORT_TITLES, TITLES
from .external import SCORED, best_baseline, control_row

METRICS = ("accuracy", "sensitivity", "specificity")
_INTERVAL_COLUMNS = [c for m in SCORED for c in (m, f"{m}_low", f"{m}_high")]
COLUMNS = ["method", "description", "source", "role", "masks", "n_features", "chosen", "val_accuracy", "val_auc",
           *_INTERVAL_COLUMNS, "tn", "fp", "fn", "tp", "n", "prediction_sd"]
EXTERNAL_COLUMNS = [f"ext_{c}" for c in (*_INTERVAL_COLUMNS, "tn", "fp", "fn", "tp", "n", "prediction_sd")]
REPORTED_COLUMNS = [f"reported_{m}" for m in METRICS]


def row_name(name: str, masks: str, default_masks: str) -> str:
    return SHORT_TITLES[name] + ("" if masks == default_masks else f" ({masks} masks)")


def metrics_table(entries: list[dict], d2tl: dict | None, default_masks: str,
                  external: bool = False) -> pd.DataFrame:
    """Rows: our methods with the default masks, D2TL on the same split (if given), the same
    methods with the other masks, then the reported numbers.

    ``entries``: one dict per fitted method and mask variant, with ``name``, ``masks``, ``fit``
    (a :class:`~d2tl.baseline.classify.FitResult`), ``test`` (test columns with intervals) and,
    with an external set, ``ext`` (its ``ext_*`` columns).
    """
    reported_baseline, related = REPORTED["baseline"], REPORTED["related"]
    reported_for = {"lasso": reported_baseline, "svm": reported_baseline, "rf": reported_baseline,
                    "mateos": related["Mateos 2016"], "danala": related["Danala 2018"]}

    def ours(entry):
        fit, name = entry["fit"], entry["name"]
        rep = reported_for.get(name, {}) if entry["masks"] == default_masks else {}
        return {"method": row_name(name, entry["masks"], default_masks), "description": TITLES[name],
                "source": "ours", "role": "control" if name == CONTROL else "baseline",
                "masks": entry["masks"], "n_features": fit.n_features,
                "chosen": ", ".join(f"{k}={v}" for k, v in fit.params.items()),
                "val_accuracy": fit.val["accuracy"], "val_auc": fit.held_out_val["auc"],
                **entry["test"], **entry.get("ext", {}),
                **{f"reported_{m}": rep.get(m, np.nan) for m in METRICS}}

    rows = [ours(e) for e in entries if e["masks"] == default_masks]
    d2tl_reported = REPORTED["box_size"][256]
    if d2tl is not None:
        label = "D2TL" if d2tl["split_verified"] else "D2TL (split not verified)"
        rows.append({"method": label, "description": f"D2TL, our run ({d2tl['configuration']}; {d2tl['path']})",
                     "source": "ours", "role": "d2tl", **{m: d2tl[m] for m in METRICS}, "auc": d2tl["auc"],
                     **d2tl.get("intervals", {}),
                     **{f"reported_{m}": d2tl_reported[m] for m in METRICS}})
    rows += [ours(e) for e in entries if e["masks"] != default_masks]
    rows.append({"method": "D2TL (paper)", "description": "D2TL as reported (box 256, Fig. 7)", "source": "paper",
                 "role": "paper", **{f"reported_{m}": d2tl_reported[m] for m in METRICS}})
    rows.append({"method": "Baseline (paper)", "description": "GLM-LASSO / SVM / RF as reported (Fig. 14: "
                 "accuracy below D2TL, specificity 60%)", "source": "paper", "role": "paper",
                 **{f"reported_{m}": reported_baseline.get(m, np.nan) for m in METRICS}})
    for who, rep in related.items():
        rows.append({"method": f"{who.replace(' ', ' et al. ')} (cited)", "description": f"{who} as cited by the paper",
                     "source": "cited", "role": "cited", **{f"reported_{m}": rep.get(m, np.nan) for m in METRICS}})
    columns = COLUMNS + (EXTERNAL_COLUMNS if external else []) + REPORTED_COLUMNS
    return pd.DataFrame(rows).reindex(columns=columns)


# --- Markdown -----------------------------------------------------------------------------------

def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value)


def _pct(value) -> str:
    return "" if _missing(value) else f"{100 * float(value):.0f}%"


def _with_interval(r, name: str, prefix: str = "") -> str:
    value, low, high = r.get(f"{prefix}{name}"), r.get(f"{prefix}{name}_low"), r.get(f"{prefix}{name}_high")
    if _missing(value):
        return ""
    text = f"{float(value):.2f}" if name == "auc" else _pct(value)
    if not _missing(low):
        text += (f" [{float(low):.2f}-{float(high):.2f}]" if name == "auc"
                 else f" [{100 * float(low):.0f}-{100 * float(high):.0f}]")
    return text


def _counts(r, prefix: str = "") -> str:
    if _missing(r.get(f"{prefix}tn")):
        return ""
    return " ".join(str(int(r[f"{prefix}{k}"])) for k in ("tn", "fp", "fn", "tp"))


def comparison_sentence(rows: list[dict], default_masks: str, prefix: str = "") -> str | None:
    """How much intensity alone explains: the control beside the best conventional baseline."""
    best, control = best_baseline(rows, default_masks), control_row(rows, default_masks)
    if control is None or _missing(control.get(f"{prefix}auc")):
        return None
    where = "external set" if prefix else "test set"
    text = (f"**Intensity alone ({where}):** the intensity-only control reaches accuracy "
            f"{_with_interval(control, 'accuracy', prefix)}, AUC {_with_interval(control, 'auc', prefix)}")
    if best is not None and not _missing(best.get(f"{prefix}auc")):
        text += (f"; the best conventional baseline ({best['method']}, chosen by validation AUC before any "
                 "test or external score, control excluded) "
                 f"reaches {_with_interval(best, 'accuracy', prefix)}, AUC {_with_interval(best, 'auc', prefix)}")
        gap = float(best[f"{prefix}auc"]) - float(control[f"{prefix}auc"])
        text += f" ({gap:+.2f} AUC over brightness alone)"
    return text + "."


def markdown_table(table: pd.DataFrame, prov: dict, oracle_lines: list[str] | None = None) -> str:
    """``metrics.md``: the data and features, the test table with the default masks, the other
    masks, the external set and the oracle's bounds."""
    rows = table.to_dict(orient="records")
    default = prov["default_masks"]
    lines = _header_lines(rows, prov) + _test_lines(rows, default) + _other_masks_lines(rows, default)
    if prov.get("external"):
        lines += _external_lines(rows, prov["external"], default)
    if oracle_lines:
        lines += ["## The best possible on these data (d2tl.data.oracle)", "", *[f"- {t}" for t in oracle_lines], ""]
    return "\n".join(lines)


def _ours(r: dict) -> bool:
    return r["role"] in ("baseline", "control")


def _header_lines(rows: list[dict], prov: dict) -> list[str]:
    perturbation = prov["config"]["perturbation"]
    masks = ("perturbed like a hand drawing (" + ", ".join(f"{k} {v}" for k, v in perturbation.items()) + ")"
             if perturbation else "as given (true outlines on synthetic data)")
    test_n = next((int(r["n"]) for r in rows if _ours(r) and not _missing(r["n"])), 0)
    return ["# Conventional baseline (Sec. 4.6, Fig. 14)", "",
            f"Data: {prov['dataset'].get('name')} ({prov['dataset'].get('n_cases')} cases), split "
            f"{prov['split']['source']} (sha256 {prov['split']['sha256']}), preset {prov['preset']}"
            + ("" if prov["paper_run"] else " -- reduced preset, not comparable with the paper") + ".",
            f"Features: {prov['n_features']['full']} (texture of the four images + shape of the two masks); "
            f"masks: {masks}. Intervals: 95% (exact Clopper-Pearson; AUC: "
            f"{auc_method()}).", "",
            f"## Test set ({test_n} cases), {prov['default_masks']} masks", ""]


def _test_lines(rows: list[dict], default: str) -> list[str]:
    """The test table (our rows with the default masks, D2TL, the reported numbers), its notes and
    the control's comparison."""
    lines = ["| method | source | features | chosen on validation | val acc | val AUC | test acc | sens | spec | AUC | "
             "TN FP FN TP | reported acc / sens / spec |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if _ours(r) and r["masks"] != default:
            continue
        reported = " / ".join(_pct(r[f"reported_{m}"]) or "-" for m in METRICS)
        nf = "" if _missing(r["n_features"]) else str(int(r["n_features"]))
        chosen = "" if _missing(r["chosen"]) else str(r["chosen"])
        val_auc = "" if _missing(r.get("val_auc")) else f"{float(r['val_auc']):.2f}"
        lines.append(f"| {r['method']} | {r['source']} | {nf} | {chosen} | {_pct(r['val_accuracy'])} | {val_auc} | "
                     f"{_with_interval(r, 'accuracy')} | {_with_interval(r, 'sensitivity')} | "
                     f"{_with_interval(r, 'specificity')} | {_with_interval(r, 'auc')} | {_counts(r)} | {reported} |")
    sentence = comparison_sentence(rows, default)
    lines += ["", "Reported: for GLM-LASSO / SVM / RF the paper gives only a specificity of 60% and "
              "accuracy below D2TL's; the Mateos- and Danala-style rows are our re-creations of the cited "
              "works' approach on this data (\"in the style of\"), shown beside the numbers those works report "
              "on their own data. Sensitivity = malignant called malignant; specificity = benign called benign. "
              "The intensity-only control is not a baseline: it shows what brightness alone gives.", ""]
    return lines + ([sentence, ""] if sentence else [])


def _other_masks_lines(rows: list[dict], default: str) -> list[str]:
    """Our rows with the other masks, each beside its AUC with the default masks (none without them)."""
    other = [r for r in rows if _ours(r) and r["masks"] != default]
    if not other:
        return []
    by_name = {(r["description"], r["masks"]): r for r in rows if _ours(r)}
    lines = [f"## {other[0]['masks'].capitalize()} masks (same split; chosen on validation likewise)", "",
             f"| method | test acc | sens | spec | AUC | AUC with {default} masks |", "|---|---|---|---|---|---|"]
    for r in other:
        twin = by_name.get((r["description"], default), {})
        lines.append(f"| {r['method']} | {_with_interval(r, 'accuracy')} | {_with_interval(r, 'sensitivity')} | "
                     f"{_with_interval(r, 'specificity')} | {_with_interval(r, 'auc')} | "
                     f"{_with_interval(twin, 'auc') if twin else ''} |")
    return lines + [""]


def _external_lines(rows: list[dict], ext: dict, default: str) -> list[str]:
    """The external set's table and the control's comparison on it."""
    lines = [f"## External set: {ext.get('n_cases')} cases, {ext.get('name')} "
             f"(cases.csv sha256 {ext.get('cases_sha256')})", "",
             "Each classifier as selected and fitted above (training cases only), scored on an independent "
             "case table.", "",
             "| method | masks | acc | sens | spec | AUC | score SD | TN FP FN TP |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if _ours(r) and not _missing(r.get("ext_n")):
            sd = "" if _missing(r.get("ext_prediction_sd")) else f"{float(r['ext_prediction_sd']):.3g}"
            lines.append(f"| {r['method']} | {r['masks']} | {_with_interval(r, 'accuracy', 'ext_')} | "
                         f"{_with_interval(r, 'sensitivity', 'ext_')} | {_with_interval(r, 'specificity', 'ext_')} | "
                         f"{_with_interval(r, 'auc', 'ext_')} | {sd} | {_counts(r, 'ext_')} |")
    return lines + ["", comparison_sentence(rows, default, "ext_") or "", ""]


# --- figure -------------------------------------------------------------------------------------

def figure_title(data: dict, perturbation) -> str:
    masks = "true masks" if perturbation is None else f"perturbed masks (A={perturbation.amplitude:g})"
    return f"Conventional baseline vs D2TL, test set -- {data.get('name', '')}, {masks}"


COLOURS = {"accuracy": "#4C72B0", "sensitivity": "#DD8452", "specificity": "#55A868"}
BAR_WIDTH = 0.26


def plot_figure(table: pd.DataFrame, path, default_masks: str, title: str = "") -> None:
    """Grouped bars (accuracy, sensitivity, specificity) per method, like the paper's Fig. 14;
    the control hatched; white diamonds: the same method with the other masks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = table[(table["source"] == "ours") & ((table["role"] == "d2tl") | (table["masks"] == default_masks))]
    ours = ours.reset_index(drop=True)
    others = table[(table["source"] == "ours") & table["role"].isin(["baseline", "control"])
                   & (table["masks"] != default_masks)]
    twins = {r["description"]: r for _, r in others.iterrows()}
    groups = [*ours["method"], "D2TL (paper)"]
    fig, ax = plt.subplots(figsize=(1.6 * len(groups) + 2, 4.8))
    x = np.arange(len(groups))
    seen = set()  # legend entries already labelled
    for k, metric in enumerate(METRICS):
        pos = x + (k - 1) * BAR_WIDTH
        _our_bars(ax, metric, pos, ours, twins, seen)
        paper_d2tl = float(table.loc[table["method"] == "D2TL (paper)", f"reported_{metric}"].iloc[0])
        ax.bar(pos[-1], paper_d2tl, BAR_WIDTH, color=COLOURS[metric], alpha=0.35, hatch="//", edgecolor="grey",
               label="D2TL as reported (hatched)" if k == 0 else None)
        ax.text(pos[-1], paper_d2tl + 0.01, f"{100 * paper_d2tl:.0f}", ha="center", va="bottom", fontsize=7)
        _reported_marks(ax, metric, pos, ours, seen)
    ax.set_xticks(x)
    ax.set_xticklabels([g.replace(" (", "\n(") for g in groups], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test set")
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.legend(loc="upper center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.2))
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _our_bars(ax, metric: str, pos, ours: pd.DataFrame, twins: dict, seen: set) -> None:
    """One metric's bar per row of ours (the control hatched), its value, and a diamond for the
    same method with the other masks."""
    for i, value in enumerate(ours[metric].astype(float)):
        control = ours.loc[i, "role"] == "control"
        ax.bar(pos[i], np.nan_to_num(value), BAR_WIDTH, color=COLOURS[metric], alpha=0.45 if control else 1.0,
               hatch="xx" if control else None, edgecolor="white" if control else None,
               label=metric if metric not in seen else None)
        seen.add(metric)
        if not np.isnan(value):
            ax.text(pos[i], value + 0.01, f"{100 * value:.0f}", ha="center", va="bottom", fontsize=7)
        twin = twins.get(ours.loc[i, "description"])
        if twin is not None and not pd.isna(twin[metric]):
            ax.plot(pos[i], float(twin[metric]), marker="D", ms=5, mfc="white", mec="black", ls="none",
                    label=None if "twin" in seen else f"same method, {twin['masks']} masks")
            seen.add("twin")


def _reported_marks(ax, metric: str, pos, ours: pd.DataFrame, seen: set) -> None:
    """A black line at the reported value of each baseline row that has one."""
    for i, value in enumerate(ours[f"reported_{metric}"].astype(float)):
        if not np.isnan(value) and ours.loc[i, "role"] == "baseline":
            ax.plot([pos[i] - BAR_WIDTH / 2, pos[i] + BAR_WIDTH / 2], [value, value], color="black", lw=2.2,
                    label=None if "reported" in seen else "reported (paper / cited work)")
            seen.add("reported")
