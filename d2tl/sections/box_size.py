"""Sec. 4.1 / Fig. 7: box size -- boxes of 64, 128, 256 and 512 px around the tumour."""

from __future__ import annotations

from ..protocol.paper import BOX_SIZES, REPORTED
from ..reporting.figures import metric_bars, time_bars
from ..reporting.text import seconds, triple
from .planned import Planned
from .spec import Section


def plan(ctx) -> list[Planned]:
    base = ctx.base()
    return [Planned(f"box {b}", base.replace(roi={"box": b}), {"box": b}) for b in BOX_SIZES]


def analyse(ctx, plans, rows, histories):
    comparison, notes, extra = [], [], {}
    preset_note = ("all boxes are resized to the same input side here, so training time does not "
                   "follow the box size" if rows["input_px"].nunique() == 1 else "")
    paper256 = REPORTED["box_size"][256]
    for _, r in rows.iterrows():
        paper = {64: "below box 256 on every metric", 128: "below box 256 on every metric",
                 256: triple(paper256), 512: "accuracy lower, sensitivity above 80%, specificity much lower"}
        comparison.append({"quantity": f"box {r['box']} px: test acc / sens / spec",
                           "paper": paper.get(int(r["box"]), "n/a"), "ours": triple(r)})
    times = ", ".join(f"{int(r['box'])}: {seconds(r['steady_train_seconds'])}" for _, r in rows.iterrows())
    comparison.append({"quantity": "training time per box", "paper": "grows with box size",
                       "ours": times + (" (same input side for every box: see note)" if preset_note else "")})
    best = rows.loc[rows["accuracy"].idxmax()]
    extra["best_box_by_test_accuracy"] = int(best["box"])
    if preset_note:
        notes.append(f"Inputs: {preset_note}.")
    return comparison, notes, extra, {}


def draw(result, plt):
    rows = result.table
    labels = [f"{int(b)}" for b in rows["box"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    time_bars(axes[0], labels, rows["steady_train_seconds"], "training time per box (s, steady state)")
    axes[0].set_xlabel("box size (px)")
    metric_bars(axes[1], labels, rows, REPORTED["box_size"][256], "256")
    axes[1].set_xlabel("box size (px)")
    return fig


SECTION = Section("box_size", "4.1", "Fig. 7", "Box size", "fig7_box_size.png", plan, analyse, draw,
                  reported=REPORTED["box_size"])
