"""Figure pieces shared by the sections (accuracy bars with sensitivity/specificity on top,
time bars) and saving a section's figure with its common title."""

from __future__ import annotations

import textwrap

from pathlib import Path

import numpy as np
import pandas as pd

from .text import pct as _pct

COLOURS = {"accuracy": "#4C72B0", "sensitivity": "#DD8452", "specificity": "#55A868"}


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def subtitle(result) -> str:
    prov = result.provenance
    data = prov.get("dataset") or {}
    preset = prov["preset"] + ("" if prov.get("paper_run") else " (reduced, not paper numbers)")
    return f"{data.get('name')}, preset {preset}, weights: {prov.get('weights_source')}"


def save_figure(result, path: Path, draw) -> None:
    """``draw(result, plt)`` (the section's figure, returning it) with the common title, to ``path``."""
    plt = pyplot()
    fig = draw(result, plt)
    title = f"Sec. {result.summary()['paper_section']} {result.summary()['title']} -- {subtitle(result)}"
    # about 0.48 em per character at 8 pt: long weight descriptions wrap instead of running off the page
    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 72 / (8 * 0.48))), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
