"""Sec. 4.4 / Fig. 10: full-tune (D2TL) vs semi-tune (only the three dense layers trained), the
latter under two readings of frozen batch normalisation (Keras 3's and the paper's Keras 2)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd

from ..training.config import ExperimentConfig
from ..protocol.paper import REPORTED
from ..reporting.figures import metric_bars
from ..reporting.text import triple
from .analysis import row_of
from .planned import Planned
from .spec import Section


def plan(ctx) -> list[Planned]:
    base = ctx.base()
    return [Planned("full-tune (D2TL)", base, {"tuning": "full", "frozen_bn": None}),
            Planned("semi-tune", base.replace(model={"tuning": "semi"}), {"tuning": "semi", "frozen_bn": "inference"},
                    note="frozen BN in inference mode (Keras 3), trained on cached backbone features"),
            Planned("semi-tune, Keras 2 BN", base.replace(model={"tuning": "semi", "frozen_bn": "keras2"}),
                    {"tuning": "semi", "frozen_bn": "keras2"},
                    note="frozen BN normalises with batch statistics in fit (the paper's Keras 2); "
                         "trained end to end, since its features depend on the batch")]


def parameter_counts_by_tuning(base: ExperimentConfig, cache: dict | None = None) -> dict:
    """Total / trainable / non-trainable parameters of the model under full- and semi-tune
    (built with random weights: the counts do not depend on the weights or the input side).
    ``cache``: counts already computed, by model configuration (the Context's)."""
    from ..model import build_model, parameter_counts
    from ..model.weights import Weights

    model_config = dataclasses.replace(base.model, weights="random")
    key = json.dumps(dataclasses.asdict(model_config), sort_keys=True)
    cache = {} if cache is None else cache
    if key not in cache:
        counts = {}
        for tuning in ("full", "semi"):
            model, _ = build_model(dataclasses.replace(model_config, tuning=tuning), Weights("random"))
            counts[tuning] = {k: int(v) for k, v in parameter_counts(model).items()}
            del model
        cache[key] = counts
    return {k: dict(v) for k, v in cache[key].items()}


def analyse(ctx, plans, rows, histories):
    comparison, notes, extra, tables = [], [], {}, {}
    full, semi = row_of(rows, "full-tune (D2TL)"), row_of(rows, "semi-tune")
    keras2 = row_of(rows, "semi-tune, Keras 2 BN") if (rows["label"] == "semi-tune, Keras 2 BN").any() else None
    counts = parameter_counts_by_tuning(ctx.base(), ctx.parameter_counts)
    ratio = counts["full"]["trainable"] / counts["semi"]["trainable"]
    extra["parameters"] = counts
    extra["trainable_ratio"] = ratio
    stated = REPORTED["tuning"]["param_ratio_stated"]
    tables["parameters"] = pd.DataFrame([{"tuning": k, **v} for k, v in counts.items()])
    comparison += [
        {"quantity": "full-tune (D2TL): test acc / sens / spec", "paper": triple(REPORTED["box_size"][256]),
         "ours": triple(full)},
        {"quantity": "semi-tune, frozen BN in inference mode (Keras 3): test acc / sens / spec",
         "paper": "accuracy much lower, specificity 0%", "ours": triple(semi)}]
    if keras2 is not None:
        comparison.append({"quantity": "semi-tune, frozen BN with batch statistics in fit (Keras 2): "
                                       "test acc / sens / spec",
                           "paper": "accuracy much lower, specificity 0%", "ours": triple(keras2)})
    comparison.append({"quantity": "trainable parameters, full / semi",
                       "paper": f"about {stated}x", "ours": f"{ratio:.1f}x ({counts['full']['trainable']:,} / "
                                                             f"{counts['semi']['trainable']:,})"})
    if abs(ratio - stated) > 1:
        notes.append(f"Inconsistency with the paper: it says full-tune tunes about {stated} times as many "
                     f"parameters as semi-tune; the model it describes (two InceptionV3s without their top, "
                     f"2048-D per view, two 512-D dense layers, a 2-way output) gives {ratio:.1f}x "
                     f"({counts['full']['trainable']:,} vs {counts['semi']['trainable']:,}). We report what the "
                     "described model has.")
    notes.append("Semi-tune freezes both InceptionV3s and trains only abstraction_le, abstraction_rec and the "
                 "output layer, under two readings of 'frozen' batch normalisation: Keras 3's (moving "
                 "statistics in training too; trained on cached backbone features) and Keras 2's, the paper's "
                 "runtime (batch statistics in fit, moving statistics at inference; trained end to end).")
    pattern = {}
    for label, r in (("inference", semi), ("keras2", keras2)):
        if r is not None:
            pattern[label] = bool(r["tn"] + r["fp"] > 0 and r["tn"] == 0 and r["tp"] + r["fn"] > 0 and r["fn"] == 0)
    extra["semi_all_malignant"] = pattern
    pretrained = not str(semi["weights_source"]).startswith("random")
    extra["semi_comparison_void"] = not pretrained
    if not pretrained:
        notes.append("Which frozen-BN reading reproduces the paper's semi-tune pattern (every test case called "
                     "malignant, 0% specificity) is not decided here: the backbones are randomly initialised "
                     "(no ImageNet or other pretrained weights on this machine), so semi-tune trains a head on "
                     "random features and the comparison is void. "
                     f"Observed all-malignant pattern: {pattern}.")
    else:
        which = [k for k, v in pattern.items() if v]
        notes.append("Paper's semi-tune pattern (every test case malignant, 0% specificity) reproduced by: "
                     + (", ".join(which) if which else "neither reading") + ".")
    return comparison, notes, extra, tables


def draw(result, plt):
    rows = result.table
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
    metric_bars(axes[1], labels, rows, REPORTED["box_size"][256], labels[0])
    return fig


SECTION = Section("tuning", "4.4", "Fig. 10", "Full-tune vs semi-tune", "fig10_tuning.png", plan, analyse, draw,
                  reported=REPORTED["tuning"])
