"""The transfer study's report: one table row per arm, the paired tests, one figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _num(value, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def markdown(rows: pd.DataFrame, paired: pd.DataFrame, provenance: dict) -> str:
    d, e = provenance["dataset"], provenance["external"]
    lines = [
        "# Transfer: the default configuration from each weights source (beyond the paper)",
        "",
        f"Preset **quick** (reduced: not the paper's numbers), {provenance['study']['runs']} runs x "
        f"{provenance['study']['epochs']} epochs per arm; data {d['name']} ({d['n_cases']} cases, case table sha256 "
        f"{d['cases_sha256']}); external set {e['name']} ({e['n_cases']} cases).",
        "",
        f"Command: `{provenance.get('command', '')}`",
        "",
        "| arm | selected run / epoch | val acc | test acc / AUC (20 cases) | external acc / sens / spec | "
        "external AUC (95% CI) | called malignant | per-run external AUC | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.itertuples():
        lines.append(
            f"| {r.arm} | {r.selected_run} / {r.selected_epoch} | {r.val_accuracy:.2f} | "
            f"{r.test_accuracy:.0%} / {_num(r.test_auc)} | {r.ext_accuracy:.0%} / {r.ext_sensitivity:.0%} / "
            f"{r.ext_specificity:.0%} | {_num(r.ext_auc)} ({_num(r.ext_auc_low)}-{_num(r.ext_auc_high)}) | "
            f"{r.ext_called_malignant:.0%} | {r.run_ext_aucs} (mean {_num(r.run_ext_auc_mean)}) | "
            f"{r.train_seconds:.0f} |")
    lines += ["", "Paired tests of the arms' selected models on the external set (AUC difference A - B with its "
              "paired, class-stratified bootstrap 95% interval; McNemar's exact test on the calls at 0.5, "
              "Holm-adjusted over the pairs):", "",
              "| A | B | AUC A | AUC B | difference (95% CI) | A right only / B right only | McNemar p (Holm) |",
              "|---|---|---|---|---|---|---|"]
    for t in paired.itertuples():
        lines.append(f"| {t.arm_a} | {t.arm_b} | {_num(t.auc_a)} | {_num(t.auc_b)} | {_num(t.auc_difference)} "
                     f"({_num(t.auc_difference_low)} to {_num(t.auc_difference_high)}) | {t.a_only} / {t.b_only} | "
                     f"{_num(t.mcnemar_p)} ({_num(t.mcnemar_p_holm)}) |")
    lines += ["", "Weights:", ""] + [f"- {r.arm}: {r.weights_source}" for r in rows.itertuples()] + [""]
    return "\n".join(lines)


def figure(rows: pd.DataFrame, external: pd.DataFrame, path: Path) -> None:
    """External AUC per arm: the selected model with its interval, every run as a dot."""
    from ..io.atomic import atomic_path
    from ..stats.evaluate import metrics_with_intervals
    from ..reporting.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for i, r in enumerate(rows.itertuples()):
        ax.errorbar([i], [r.ext_auc], yerr=[[r.ext_auc - r.ext_auc_low], [r.ext_auc_high - r.ext_auc]],
                    marker="o", capsize=4, color="C0", label="selected run (95% CI)" if i == 0 else None)
        runs = external[external["arm"] == r.arm]
        aucs = [metrics_with_intervals(g["label"].to_numpy(), g["p_malignant"].to_numpy())["auc"]
                for _, g in runs.groupby("run")]
        ax.scatter(np.full(len(aucs), i + 0.15), aucs, marker="x", color="C1", label="each run" if i == 0 else None)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(len(rows)), list(rows["arm"]))
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylabel("external ROC AUC")
    ax.set_title("default configuration, quick preset, by initial weights", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
