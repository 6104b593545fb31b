"""Sec. 4.4 (learning curves): ImageNet vs formula-pre-trained vs random initialisation, full-tune,
``random_init_epochs``; the arms that can be trained here come from :mod:`d2tl.sections.init_arms`."""

from __future__ import annotations

import pandas as pd

from ..protocol.paper import REPORTED
from ..reporting.text import pct, triple
from .analysis import row_of
from .spec import Section
from .stats import last_epochs_mean

TRAIN_ACCURACY_LEVEL = 0.9  # Sec. 4.4: the epoch at which training accuracy reaches 90%


def plan(ctx) -> list:
    """ImageNet, formula-pre-trained and random arms: :func:`d2tl.sections.init_arms.plan`."""
    from .init_arms import plan as init_plan

    return init_plan(ctx)


def analyse(ctx, plans, rows, histories):
    from ..stats.censored import censored_note, level_summary
    from .init_arms import absent

    comparison, notes, extra, tables = [], [], {}, {}
    stats_rows = []
    for p in plans:
        r = row_of(rows, p.label)
        h = histories.loc[histories["label"] == p.label]
        per_run = pd.DataFrame([{"run": int(run), "last10_train": last_epochs_mean(hr, "accuracy"),
                                 "last10_val": last_epochs_mean(hr, "val_accuracy")}
                                for run, hr in h.groupby("run")])
        level = level_summary(h, TRAIN_ACCURACY_LEVEL)  # censored runs kept (d2tl.stats.censored)
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
                           "paper": "n/a", "ours": triple(row_of(rows, p.label))})
        if p.note:
            notes.append(f"{p.label}: {p.note}.")
    notes.append("Training accuracy is Keras's running accuracy over each epoch's augmented training set "
                 "(dropout active); validation accuracy is on the augmented validation set.")
    notes.append(censored_note(TRAIN_ACCURACY_LEVEL))
    return comparison, notes, extra, tables


def draw(result, plt):
    from matplotlib.ticker import MaxNLocator

    rows = result.table
    fig, grid = plt.subplots(2, 2, figsize=(10, 7.4), sharex=True, sharey="row")
    h = result.histories
    for r, quantity in enumerate(("accuracy", "loss")):
        for c, (label, prefix) in enumerate((("train", ""), ("validation", "val_"))):
            ax = grid[r, c]
            for k, arm in enumerate(rows["label"]):
                mean = h.loc[h["label"] == arm].groupby("epoch")[prefix + quantity].mean()
                ax.plot(mean.index, mean.to_numpy(), marker="o" if len(mean) < 30 else None, ms=3,
                        ls=("-", "--", "-.", ":")[k % 4], label=arm)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(f"{label} {quantity} (mean over runs)", fontsize=9)
    for ax in grid[0]:
        ax.axhline(0.9, color="grey", lw=0.7, ls=":")
        ax.set_ylim(0, 1.05)
    for ax in grid[1]:
        ax.set_yscale("log")  # a random start's first validation losses are 10x the later ones
        ax.set_xlabel("epoch")
    grid[0, 0].set_ylabel("accuracy")
    grid[1, 0].set_ylabel("cross-entropy loss")
    axes = grid[0]
    learning = result.extra.get("learning", [])
    reached = "\n".join(f"{s['initialisation']}: 90% train acc at {s['epoch_90_median_text']} (median, "
                        f"{s['runs_reaching_90']}/{s['runs']} runs)" for s in learning)
    axes[0].legend(fontsize=7, title=reached, title_fontsize=7)
    absent = [line.split(":")[0] for line in result.extra.get("absent_arms", []) if " arm: " in line]
    if absent:  # arms that could not be trained here (d2tl.sections.init_arms.absent): named, not drawn
        axes[0].text(0.02, 0.02, "not available here: " + ", ".join(absent), transform=axes[0].transAxes,
                     fontsize=7)
    axes[1].text(0.02, 0.02, "paper: 90% training accuracy at epoch ~30 (ImageNet) vs ~130 (random);\n"
                 "last 10 of 200 epochs train/val 99.25%/74.76% vs 96.62%/50%", transform=axes[1].transAxes,
                 fontsize=7)
    return fig


SECTION = Section("random_init", "4.4", "learning curves", "ImageNet vs formula-pre-trained vs random initialisation",
                  "random_init_learning_curves.png", plan, analyse, draw, reported=REPORTED["random_init"])
