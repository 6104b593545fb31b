"""Sec. 4.3 / Fig. 9: dual-mode pooling (D2TL, one InceptionV3 per mode) vs simple pooling (one
InceptionV3 for all four images)."""

from __future__ import annotations

from ..protocol.paper import REPORTED
from ..reporting.figures import metric_bars, time_bars
from ..reporting.text import seconds, triple
from .analysis import row_of
from .planned import Planned
from .spec import Section


def plan(ctx) -> list[Planned]:
    base = ctx.base()
    return [Planned("dual-mode (D2TL)", base, {"architecture": "dual_mode"}),
            Planned("simple pooling", base.replace(model={"architecture": "simple_pooling"}),
                    {"architecture": "simple_pooling"})]


def analyse(ctx, plans, rows, histories):
    comparison, notes, extra = [], [], {}
    dual, simple = row_of(rows, "dual-mode (D2TL)"), row_of(rows, "simple pooling")
    ratio = (dual["steady_train_seconds"] / simple["steady_train_seconds"]
             if dual["steady_train_seconds"] and simple["steady_train_seconds"] else None)
    extra["time_ratio_dual_over_simple"] = ratio
    comparison += [
        {"quantity": "D2TL (dual-mode): test acc / sens / spec", "paper": triple(REPORTED["box_size"][256]),
         "ours": triple(dual)},
        {"quantity": "simple pooling: test acc / sens / spec", "paper": "accuracy and sensitivity below D2TL",
         "ours": triple(simple)},
        {"quantity": "training time, dual-mode / simple pooling", "paper": "about 2x",
         "ours": "n/a" if ratio is None else f"{ratio:.2f}x ({seconds(dual['steady_train_seconds'])} vs "
                                             f"{seconds(simple['steady_train_seconds'])})"}]
    notes.append("Both models push all four images through InceptionV3 (simple pooling shares one network, "
                 "dual-mode has one per mode), so their arithmetic per step is the same; only the parameter "
                 "count differs. Times are steady-state epoch times x epochs x runs (the epoch that compiled "
                 "the graph is left out).")
    return comparison, notes, extra, {}


def draw(result, plt):
    rows = result.table
    labels = ["dual-mode\n(D2TL)", "simple\npooling"]
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.2))
    time_bars(axes[0], labels, rows["steady_train_seconds"], "training time (s, steady state)")
    ratio = result.extra.get("time_ratio_dual_over_simple")
    axes[0].set_xlabel(f"dual / simple = {'n/a' if ratio is None else f'{ratio:.2f}'}x (paper: about 2x)",
                       fontsize=8)
    metric_bars(axes[1], labels, rows, REPORTED["box_size"][256], labels[0])
    return fig


SECTION = Section("pooling", "4.3", "Fig. 9", "Dual-mode vs simple pooling", "fig9_pooling.png", plan, analyse,
                  draw, reported=REPORTED["box_size"])
