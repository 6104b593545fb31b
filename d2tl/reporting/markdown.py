"""A section's Markdown: the side-by-side table (quantity | paper | ours), per-configuration lines,
the configurations table and the section file ``<section>.md``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .text import cell, pct
from .text import with_interval_auc as _with_interval

INTERVAL_SHOWN = ("accuracy", "sensitivity", "specificity", "auc")
MAIN_COLUMNS = ["label", "box", "input_px", "shift", "shift_seed", "architecture", "tuning", "weights_source",
                "runs", "epochs", "accuracy", "sensitivity", "specificity", "auc", "tn", "fp", "fn", "tp",
                "test_prediction_sd", "ext_auc", "ext_auc_low", "ext_auc_high", "ext_accuracy", "ext_sensitivity",
                "ext_specificity", "ext_prediction_sd", "bn_stats", "frozen_bn",
                "val_accuracy", "selected_epoch", "steady_train_seconds", "train_seconds", "hash", "status"]


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
        from ..stats.section_tests import markdown as paired_markdown

        lines += ["Paired tests on the same test cases (A vs B; Holm-adjusted p in brackets):", "",
                  *paired_markdown(pd.DataFrame(paired))]
    return "\n".join(lines)


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
                cells.append("" if v is None or pd.isna(v) else pct(v))
            elif c.endswith("seconds"):
                cells.append("" if v is None or pd.isna(v) else f"{float(v):.1f}")
            else:
                cells.append(cell(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
                     + " / ".join(pct(r.get(f"ext_{m}")) for m in ("accuracy", "sensitivity", "specificity"))
                     + f" | {f('ext_prediction_sd')} |")
    return lines + [""]


def overrides_markdown(preset: str, overrides: dict | None) -> list:
    """The bold line that marks a report made with values other than its preset's (none without)."""
    if not overrides:
        return []
    from ..protocol.presets import deviation_text

    protocol = " These numbers do not follow the paper's protocol." if preset == "paper" else ""
    return [f"**Deviates from preset {preset}: {deviation_text(overrides)} (set on the command line).{protocol}**", ""]


def section_markdown(result) -> str:
    """``<section>.md`` of a :class:`d2tl.sections.result.SectionResult`."""
    summary = result.summary()
    prov = result.provenance
    data = prov.get("dataset") or {}
    lines = [f"# Sec. {summary['paper_section']} {summary['title']} ({summary['figure']})", "",
             f"Preset **{prov['preset']}**" + ("" if prov.get("paper_run") else
                                                " (reduced: these are not the paper's numbers)")
             + f"; data {data.get('name')} ({data.get('n_cases')} cases, case table sha256 "
             f"{data.get('cases_sha256')}); weights source: {prov.get('weights_source')}.", "",
             *overrides_markdown(prov.get("preset"), prov.get("overrides")),
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
