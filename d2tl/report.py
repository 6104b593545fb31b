"""Reports of the paper's sections: CSV and Markdown tables, figures like the paper's, provenance
JSON, and ``SUMMARY.md`` (every section's numbers beside the paper's).

A section folder ``OUT/<section>/`` holds:

=========================  ==================================================================
``<section>.csv``          one row per training configuration: settings, the selected model's
                           test accuracy, sensitivity, specificity, AUC with 95% intervals
                           (``<metric>_low``/``_high``) and confusion counts, per-run spread,
                           timing, weights source, result hash, how obtained
``paired_tests.csv``       the paper's comparisons on the same test cases: exact McNemar p
                           (raw and Holm-adjusted), AUC difference with a paired bootstrap
                           interval (:mod:`d2tl.section_tests`)
``<section>.md``           the paper's numbers beside ours, notes, and the table above
``history.csv``            every epoch of every run of every configuration (learning curves)
``<name>.csv``             section extras: shift summary and p-values, parameter counts,
                           learning-curve statistics
``fig*.png``               the figure like the paper's
``summary.json``           the side-by-side rows and extras, machine-readable
``provenance.json``        preset, data set, weights sources actually used, every configuration
                           with its hash, package and code versions, report fingerprint
=========================  ==================================================================

Trained models stay in ``OUT/runs/<hash>/`` (large; not for version control); section folders
are small and self-contained.
"""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_text
from .paper import REPORTED
from .provenance import provenance, write_json

COLOURS = {"accuracy": "#4C72B0", "sensitivity": "#DD8452", "specificity": "#55A868"}


def _pct(value, digits: int = 0) -> str:
    from .sections import pct

    return pct(value, digits)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------------- provenance

def section_provenance(ctx, section: str, plans, rows: pd.DataFrame, digest: str) -> dict:
    from .sections import INFO

    number, figure, title = INFO[section]
    sources = sorted({str(s) for s in rows["weights_source"].dropna()})
    configs = [{"label": p.label, "hash": ctx.directory(p.trained_config).name,
                "trained_as": None if p.substitute is None else "substitute (identical in effect)",
                "config": p.config.to_dict()} for p in plans]
    return provenance(config={"section": section, "settings": ctx.settings, "configurations": configs},
                      seed=ctx.base().train.seed, preset=ctx.preset, dataset=ctx.dataset,
                      weights_source="; ".join(sources), weights_sources=sources,
                      experiment=f"Sec. {number} {title} ({figure})", report_fingerprint=digest,
                      results_store=str(ctx.store), auto_weights=ctx.auto_weights_source())


# --------------------------------------------------------------------------------- markdown

def comparison_markdown(summary: dict, heading: str = "##") -> str:
    """The side-by-side table (quantity | paper | ours) and notes of one section summary."""
    lines = [f"{heading} Sec. {summary['paper_section']} {summary['title']} ({summary['figure']})", "",
             "| quantity | paper | ours |", "|---|---|---|"]
    for row in summary["comparison"]:
        lines.append(f"| {row['quantity']} | {row['paper']} | {row['ours']} |")
    lines.append("")
    for note in summary.get("notes", []):
        lines.append(f"- {note}")
    if summary.get("notes"):
        lines.append("")
    lines += learning_markdown(summary.get("configurations", []))
    paired = (summary.get("extra") or {}).get("paired_tests")
    if paired:
        from .section_tests import markdown as paired_markdown

        lines += ["Paired tests on the same test cases (A vs B; Holm-adjusted p in brackets):", "",
                  *paired_markdown(pd.DataFrame(paired))]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


INTERVAL_SHOWN = ("accuracy", "sensitivity", "specificity", "auc")


def _with_interval(row, metric: str) -> str:
    """A metric with its 95% interval in brackets: percentages, the AUC to 3 decimals."""
    if metric != "auc":
        from .sections import with_interval

        return with_interval(row, metric)
    value, low, high = row.get("auc"), row.get("auc_low"), row.get("auc_high")
    if value is None or pd.isna(value):
        return "n/a"
    return f"{value:.3f}" + ("" if low is None or pd.isna(low) else f" ({low:.3f}-{high:.3f})")


def table_markdown(rows: pd.DataFrame, columns) -> str:
    columns = [c for c in columns if c in rows.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, r in rows.iterrows():
        cells = []
        for c in columns:
            v = r[c]
            if c in INTERVAL_SHOWN and f"{c}_low" in rows.columns:
                cells.append(_with_interval(r, c))
            elif c in ("accuracy", "sensitivity", "specificity", "val_accuracy") or c.endswith("_mean") \
                    and not c.startswith("epoch"):
                cells.append("" if v is None or pd.isna(v) else _pct(v))
            elif c.endswith("seconds"):
                cells.append("" if v is None or pd.isna(v) else f"{float(v):.1f}")
            else:
                cells.append(_cell(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


MAIN_COLUMNS = ["label", "box", "input_px", "shift", "shift_seed", "architecture", "tuning", "weights_source",
                "runs", "epochs", "accuracy", "sensitivity", "specificity", "auc", "tn", "fp", "fn", "tp",
                "test_prediction_sd", "ext_auc", "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity",
                "ext_specificity", "ext_prediction_sd", "bn_stats", "frozen_bn",
                "val_accuracy", "selected_epoch", "steady_train_seconds", "train_seconds", "hash", "status"]
def learning_markdown(rows: list) -> list:
    """Every configuration's test (20 cases) and external-set numbers, one line each."""
    if not rows:
        return []
    lines = ["| configuration | test acc / sens / spec (95% CI) | test AUC (95% CI) | test p SD | "
             "external AUC (95% CI) | external acc / sens / spec | external p SD |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        f = lambda k: "n/a" if r.get(k) is None else f"{r[k]:.3f}"  # noqa: E731
        ci = "" if r.get("ext_auc_low") is None else f" ({r['ext_auc_low']:.3f}-{r['ext_auc_high']:.3f})"
        lines.append(f"| {r['label']} | " + " / ".join(_with_interval(r, m) for m in ("accuracy", "sensitivity",
                                                                                    "specificity"))
                     + f" | {_with_interval(r, 'auc')} | {f('test_prediction_sd')} | {f('ext_auc')}{ci} | "
                     + " / ".join(_pct(r.get(f"ext_{m}")) for m in ("accuracy", "sensitivity", "specificity"))
                     + f" | {f('ext_prediction_sd')} |")
    return lines + [""]


def section_markdown(result) -> str:
    summary = result.summary()
    prov = result.provenance
    data = prov.get("dataset") or {}
    lines = [f"# Sec. {summary['paper_section']} {summary['title']} ({summary['figure']})", "",
             f"Preset **{prov['preset']}**" + ("" if prov.get("paper_run") else
                                                " (reduced: these are not the paper's numbers)")
             + f"; data {data.get('name')} ({data.get('n_cases')} cases, case table sha256 "
             f"{data.get('cases_sha256')}); weights source: {prov.get('weights_source')}.", "",
             comparison_markdown(summary, "##").split("\n", 2)[2], "",
             "## Configurations", "",
             "Test metrics of each configuration's selected model (best validation accuracy over all runs "
             "and epochs); times in seconds (steady: epoch time without graph compilation x epochs x runs; "
             "measured: as run, including compilation when the configuration was the first of its graph).", "",
             table_markdown(result.table, MAIN_COLUMNS), ""]
    for name, table in result.tables.items():
        if name == "paired_tests":  # shown with the side-by-side above; its CSV has every column
            continue
        lines += [f"## {name.replace('_', ' ')}", "", table_markdown(table, list(table.columns)), ""]
    lines += ["Sensitivity: malignant called malignant; specificity: benign called benign; threshold 0.5.",
              f"Figure: {', '.join(Path(f).name for f in result.figures)}.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------- figures

def metric_bars(ax, labels, rows: pd.DataFrame, paper: dict | None = None, paper_at: str | None = None,
                title: str = "test accuracy (sensitivity / specificity on top)") -> None:
    """Accuracy bars with 'sens/spec' written on top, as in the paper's Figs. 7, 9, 10; the
    paper's accuracy for ``paper_at`` as a black tick."""
    x = np.arange(len(labels))
    acc = rows["accuracy"].astype(float).to_numpy()
    ax.bar(x, acc, 0.6, color=COLOURS["accuracy"], label="ours")
    for i, (_, r) in enumerate(rows.iterrows()):
        sens, spec = r.get("sensitivity"), r.get("specificity")
        text = f"{_pct(r['accuracy'])}\n{_pct(sens)}/{_pct(spec)}"
        ax.text(i, acc[i] + 0.02, text, ha="center", va="bottom", fontsize=7)
    if paper and paper_at in labels:
        i = labels.index(paper_at)
        ax.plot([i - 0.3, i + 0.3], [paper["accuracy"]] * 2, color="black", lw=2.2,
                label=f"paper {_pct(paper['accuracy'])} ({_pct(paper['sensitivity'])}/{_pct(paper['specificity'])})")
    if "ext_auc" in rows and rows["ext_auc"].notna().any():
        auc = rows["ext_auc"].astype(float).to_numpy()
        low = rows["ext_auc_low"].astype(float).to_numpy()
        high = rows["ext_auc_high"].astype(float).to_numpy()
        ax.errorbar(x + 0.22, auc, yerr=[auc - low, high - auc], fmt="D", ms=4, color="#C44E52", capsize=2,
                    lw=1, label=f"external-set AUC, 95% CI ({int(rows['ext_n'].max())} cases)")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax.set_ylabel("test set")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def time_bars(ax, labels, seconds, title="training time (s)") -> None:
    x = np.arange(len(labels))
    values = np.array([np.nan if s is None else float(s) for s in seconds])
    ax.bar(x, np.nan_to_num(values), 0.6, color="#8172B3")
    for i, v in enumerate(values):
        if not np.isnan(v):
            ax.text(i, v, f"{v:.0f}" if v >= 10 else f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("seconds")
    ax.set_title(title, fontsize=9)
    top = np.nanmax(values) if np.isfinite(values).any() else 1.0
    ax.set_ylim(0, top * 1.2 or 1.0)


def _subtitle(result) -> str:
    prov = result.provenance
    data = prov.get("dataset") or {}
    preset = prov["preset"] + ("" if prov.get("paper_run") else " (reduced, not paper numbers)")
    return f"{data.get('name')}, preset {preset}, weights: {prov.get('weights_source')}"


def figure(result, path: Path) -> None:
    plt = _plt()
    name, rows = result.name, result.table
    paper256 = REPORTED["box_size"][256]
    if name == "box_size":
        labels = [f"{int(b)}" for b in rows["box"]]
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
        time_bars(axes[0], labels, rows["steady_train_seconds"], "training time per box (s, steady state)")
        axes[0].set_xlabel("box size (px)")
        metric_bars(axes[1], labels, rows, paper256, "256")
        axes[1].set_xlabel("box size (px)")
    elif name == "box_shift":
        fig, ax = plt.subplots(figsize=(7.5, 4.4))
        shifts = [0, *sorted(int(s) for s in rows["shift"].unique() if s)]
        summary = rows.groupby("shift")[["accuracy", "sensitivity", "specificity"]].mean()
        x = np.arange(len(shifts))
        for k, metric in enumerate(("accuracy", "sensitivity", "specificity")):
            pos = x + (k - 1) * 0.26
            ax.bar(pos, [summary.loc[s, metric] for s in shifts], 0.26, color=COLOURS[metric], label=f"{metric} (mean)")
            for i, s in enumerate(shifts):
                values = rows.loc[rows["shift"] == s, metric].astype(float)
                ax.scatter(np.full(len(values), pos[i]), values, s=9, color="black", zorder=3,
                           label="repeats" if (k == 0 and i == 0) else None)
        paper20 = REPORTED["box_shift"][20]
        i20 = shifts.index(20) if 20 in shifts else None
        if i20 is not None:
            for k, metric in enumerate(("accuracy", "sensitivity", "specificity")):
                p = i20 + (k - 1) * 0.26
                ax.plot([p - 0.13, p + 0.13], [paper20[metric]] * 2, color="red", lw=2,
                        label="paper, 20 px" if k == 0 else None)
        tests = result.extra.get("p_values", [])
        from .sections import pvalue

        text = "; ".join(f"{t['comparison']}: p = {pvalue(t['welch_p'])} (Welch), {pvalue(t['mannwhitney_p'])} (MW)"
                         for t in tests)
        ax.set_xticks(x)
        ax.set_xticklabels(["original" if s == 0 else f"{s} px" for s in shifts])
        ax.set_ylim(0, 1.15)
        ax.set_ylabel("test set")
        ax.set_xlabel("box centre shift")
        ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.14))
        ax.set_title(f"test accuracy over repeats; {text}\npaper: p(10 vs 20) = 0.487, p(40 vs 20) < 0.001",
                     fontsize=8)
    elif name == "pooling":
        labels = ["dual-mode\n(D2TL)", "simple\npooling"]
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.2))
        time_bars(axes[0], labels, rows["steady_train_seconds"], "training time (s, steady state)")
        ratio = result.extra.get("time_ratio_dual_over_simple")
        axes[0].set_xlabel(f"dual / simple = {'n/a' if ratio is None else f'{ratio:.2f}'}x (paper: about 2x)",
                           fontsize=8)
        metric_bars(axes[1], labels, rows, paper256, labels[0])
    elif name == "tuning":
        labels = ["full-tune\n(D2TL)", "semi-tune", "semi-tune,\nKeras 2 BN"][:len(rows)]
        counts = result.extra["parameters"]
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.2))
        values = [counts["full"]["trainable"], counts["semi"]["trainable"]]
        axes[0].bar([0, 1], values, 0.6, color="#8172B3")
        for i, v in enumerate(values):
            axes[0].text(i, v, f"{v:,}", ha="center", va="bottom", fontsize=7)
        axes[0].set_xticks([0, 1])
        axes[0].set_xticklabels(["full-tune\n(D2TL)", "semi-tune"], fontsize=8)
        axes[0].set_ylim(0, max(values) * 1.2)
        axes[0].set_title("trainable parameters", fontsize=9)
        axes[0].set_xlabel(f"full / semi = {result.extra['trainable_ratio']:.1f}x (paper: about "
                           f"{REPORTED['tuning']['param_ratio_stated']}x)", fontsize=8)
        metric_bars(axes[1], labels, rows, paper256, labels[0])
    elif name == "random_init":
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
        h = result.histories
        for ax, (label, colour) in zip(axes, (("train", "accuracy"), ("validation", "val_accuracy"))):
            for k, arm in enumerate(rows["label"]):
                curve = h.loc[h["label"] == arm]
                mean = curve.groupby("epoch")[colour].mean()
                ax.plot(mean.index, mean.to_numpy(), marker="o" if len(mean) < 30 else None, ms=3,
                        ls=("-", "--", "-.", ":")[k % 4], label=arm)
            ax.axhline(0.9, color="grey", lw=0.7, ls=":")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            ax.set_title(f"{label} accuracy (mean over runs)", fontsize=9)
            ax.set_ylim(0, 1.05)
        axes[0].set_ylabel("accuracy")
        learning = result.extra.get("learning", [])
        reached = "; ".join(f"{s['initialisation']}: 90% train acc at {s['epoch_90_median_text']} (median, "
                            f"{s['runs_reaching_90']}/{s['runs']} runs)" for s in learning)
        axes[0].legend(fontsize=7, title=reached, title_fontsize=7)
        absent = [line.split(":")[0] for line in result.extra.get("absent_arms", []) if " arm: " in line]
        if absent:  # arms that could not be trained here (d2tl.init_arms.absent): named, not drawn
            axes[0].text(0.02, 0.02, "not available here: " + ", ".join(absent), transform=axes[0].transAxes,
                         fontsize=7)
        axes[1].text(0.02, 0.02, "paper: 90% training accuracy at epoch ~30 (ImageNet) vs ~130 (random);\n"
                     "last 10 of 200 epochs train/val 99.25%/74.76% vs 96.62%/50%", transform=axes[1].transAxes,
                     fontsize=7)
    else:
        raise ValueError(name)
    fig.suptitle(f"Sec. {result.summary()['paper_section']} {result.summary()['title']} -- {_subtitle(result)}",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------------- writing

def write_section(result) -> None:
    """Write ``result.folder`` (see the module docstring), replacing it atomically."""
    from .sections import FIGURES

    name = result.name
    with atomic_path(result.folder) as tmp:
        tmp.mkdir(parents=True)
        result.table.to_csv(tmp / f"{name}.csv", index=False)
        result.histories.to_csv(tmp / "history.csv", index=False)
        for extra_name, table in result.tables.items():
            table.to_csv(tmp / f"{extra_name}.csv", index=False)
        figure(result, tmp / FIGURES[name])
        result.figures = [result.folder / FIGURES[name]]
        write_text(tmp / f"{name}.md", section_markdown(result))
        write_json(tmp / "summary.json", result.summary())
        write_json(tmp / "provenance.json", result.provenance)


def load_average() -> list | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def write_summary(path, *, preset: str, settings: dict, dataset: dict, sections: list, baseline: dict | None,
                  interpretation: dict | None, wall_seconds: float, load: dict, notes: list | None = None) -> str:
    """``SUMMARY.md``: every section's numbers beside the paper's, with the preset, the data set,
    the weights source used, and how long it took. Returns the text."""
    weights = sorted({w for s in sections for w in (s.get("weights_sources") or [])})
    paper_run = preset == "paper"
    lines = ["# D2TL reproduction: summary", "",
             f"Made by `python experiments/run_all.py --preset {preset}` on "
             f"{datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')}.", ""]
    if not paper_run:
        lines += [f"**Preset {preset}: reduced runs, epochs, repeats and input size. These numbers test the code "
                  "path; they are not the paper's numbers and must not be compared with them as results.**", ""]
    lines += ["| | |", "|---|---|",
              f"| preset | {preset}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                   for k, v in settings.items()) + " |",
              f"| data set | {dataset.get('name')}: {dataset.get('cases')} ({dataset.get('n_cases')} cases, "
              f"labels {dataset.get('labels')}, sha256 {dataset.get('cases_sha256')}) |",
              f"| weights source | {'; '.join(weights) or 'n/a'} |",
              f"| wall time | {wall_seconds / 60:.1f} min on {platform.machine()}, {os.cpu_count()} CPU(s); "
              f"load average at start {load.get('start')}, at end {load.get('end')} |", ""]
    for note in notes or []:
        lines += [f"- {note}"]
    if notes:
        lines.append("")
    lines += reading_guide_markdown(dataset, sections, baseline)
    for s in sections:
        lines.append(comparison_markdown(s, "##"))
        lines.append(f"Details: `{Path(s['folder']).as_posix()}/` ({', '.join(Path(f).name for f in s['figures'])}).")
        lines.append("")
    if baseline is not None:
        lines += baseline_markdown(baseline)
    if interpretation is not None:
        lines += interpretation_markdown(interpretation)
    text = "\n".join(lines).rstrip() + "\n"
    write_text(path, text)
    return text


def _num(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.3f}"


def reading_guide_markdown(dataset: dict, sections: list, baseline: dict | None) -> list:
    """What every number can be read against: the data set's oracle (the best possible), the
    intensity-only control (what brightness alone explains) and the best conventional baseline,
    all beside D2TL's default configuration on the external set."""
    lines = ["## Reading the numbers", ""]
    cases = dataset.get("cases")
    if cases:
        try:
            from .data.oracle import oracle_summary, oracle_text

            lines.append(f"- Synthetic data set, {oracle_text(oracle_summary(Path(cases).parent))}.")
        except Exception as exc:  # not a synthetic set (or no truth recorded): no oracle to give
            lines.append(f"- No oracle figure for this data set ({type(exc).__name__}: {exc}).")
    default = next((c for s in sections if s.get("section") == "box_size"
                    for c in s.get("configurations", []) if c.get("label") == "box 256"), None)
    best = (baseline or {}).get("best_external")
    if default and default.get("ext_auc") is not None:
        text = (f"- D2TL, default configuration (dual-mode, full-tune, box 256): external-set AUC "
                f"{default['ext_auc']:.3f} ({default['ext_auc_low']:.3f}-{default['ext_auc_high']:.3f}), "
                f"test-set AUC {_num(default.get('auc'))}")
        lines.append(text + ".")
    if best:
        ci = best.get("auc_interval") or (float("nan"), float("nan"))
        lines.append(f"- Best conventional baseline on the external set ({best['method']}, {best.get('masks')} masks; "
                     f"{best['selected_by']}): AUC {best['auc']:.3f} ({ci[0]:.3f}-{ci[1]:.3f}).")
        control = best.get("control")
        if control:
            cc = control.get("auc_interval") or (float("nan"), float("nan"))
            lines.append(f"- Intensity-only control (ROI brightness statistics alone) on the external set: AUC "
                         f"{control['auc']:.3f} ({cc[0]:.3f}-{cc[1]:.3f}), accuracy {_pct(control.get('accuracy'))}: "
                         "what enhancement strength alone explains.")
    return lines + [""]


def baseline_markdown(baseline: dict) -> list:
    lines = ["## Sec. 4.6 Conventional baseline (Fig. 14)", ""]
    if baseline.get("error"):
        return lines + [f"Not run: {baseline['error']}", ""]
    lines += ["| method | paper (acc / sens / spec) | ours (acc / sens / spec) |", "|---|---|---|"]
    for r in baseline["rows"]:
        reported = " / ".join(_pct(r.get(f"reported_{m}")) if r.get(f"reported_{m}") is not None
                              and not pd.isna(r.get(f"reported_{m}")) else "-" for m in
                              ("accuracy", "sensitivity", "specificity"))
        ours = " / ".join(_with_interval(r, m) if r.get(m) is not None and not pd.isna(r.get(m)) else "-"
                          for m in ("accuracy", "sensitivity", "specificity"))
        lines.append(f"| {r['method']} | {reported} | {ours} |")
    lines += ["", "- Paper: GLM-LASSO, SVM and random forest all below D2TL, specificity 60%; the cited works' "
              "numbers are on their own data.",
              f"- Baseline preset {baseline.get('preset')}; details: `{baseline.get('folder')}/`.", ""]
    paired = baseline.get("paired_tests")
    if paired:
        from . import section_tests

        table = pd.DataFrame(paired)
        lines += ["Paired tests, D2TL vs each classifier on the same test cases (Holm-adjusted p in brackets):", "",
                  *section_tests.markdown(table), *[f"- {n}" for n in section_tests.notes(table)], ""]
    return lines


def interpretation_markdown(interp: dict) -> list:
    lines = ["## Sec. 4.5 Interpretation (Figs. 11-13)", ""]
    if interp.get("error"):
        return lines + [f"Not run: {interp['error']}", ""]
    lines += ["| quantity | paper | ours |", "|---|---|---|",
              "| class representations (eq. 1) | Fig. 11, one image set per class | "
              f"`{interp.get('out')}/class_representations.png` |",
              "| pixel influence (eq. 2), one benign and one malignant case | Figs. 12, 13 | "
              f"patients {interp.get('patients')} |"]
    shares = interp.get("shares") or {}
    if shares.get("n_cases"):
        keys = [k for k in shares if k.endswith("_share_mean")]
        text = ", ".join(f"{k.removesuffix('_share_mean')} {shares[k]:.3f}" for k in keys if shares[k] is not None)
        lines.append(f"| share of each map inside the lesion ({shares['n_cases']} cases; lesion area "
                     f"{shares.get('area_share_mean', float('nan')):.3f}) | not reported (qualitative) | {text} |")
    lines += ["", f"- Details: `{interp.get('out')}/`.", ""]
    return lines
