"""The printed plan of --dry-run: every configuration (shared ones once), what is finished, the
graphs to compile and an estimated time."""

from __future__ import annotations

import os
import time

from ..training.config import ExperimentConfig
from ..training.memory_fit import gigabytes, memory_text
from .context import Context
from .estimate import estimate_seconds, graph_name, measure_forward, split_counts
from .registry import INFO, plan
from .run import section_folder


def describe(c: ExperimentConfig) -> str:
    return (f"{c.model.architecture}, {c.model.tuning}-tune, weights {c.model.weights}, box {c.roi.box} px "
            f"-> {c.roi.input_size} px, shift {c.roi.shift:g} px (seed {c.shift_seed}), "
            f"{c.train.runs} run(s) x {c.train.epochs} epoch(s), {c.augment.copies} augmented copies")


def print_plan(ctx: Context, sections, measure: bool = True, extra_seconds: dict | None = None,
               out=print) -> float:
    """Print every training configuration of ``sections`` (shared ones once), what is already
    finished, the model graphs to compile, and an estimated time; returns the estimate (s)."""
    s = ctx.settings
    out(f"Plan: preset {ctx.preset} (runs {s['runs']}, epochs {s['epochs']}, input scale {s['input_scale']:.4g}, "
        f"shift repeats {s['shift_repeats']}, random-init epochs {s['random_init_epochs']}, batch {s['batch_size']} "
        f"cases, {s['alternatives']} augmented alternative(s) per image"
        + (f"; every configuration on {ctx.split_seeds} split seeds" if ctx.split_seeds > 1 else "") + ")")
    if getattr(ctx, "overrides", None):
        from ..protocol.presets import deviation_text

        out(f"Deviating from preset {ctx.preset}: {deviation_text(ctx.overrides)}")
    out(f"Data: {ctx.cases} ({ctx.dataset.get('name')}, {len(ctx.table)} cases); trained results in {ctx.store}; "
        f"default weights ({ctx.base().model.weights}) give: {ctx.auto_weights_source()}")
    out(f"Memory: each configuration's predicted peak per training step (d2tl/training/memory.py) against "
        f"--gpu-memory {gigabytes(ctx.gpu_memory)}; one over it trains its batch as micro-batches (docs/gpu.md)")
    seen: dict[str, str] = {}
    to_train: list[ExperimentConfig] = []
    for section in sections:
        number, figure, title = INFO[section]
        out(f"\nSec. {number} {title} ({figure}) -> {section_folder(ctx, section)}")
        plans = plan(section, ctx)
        if ctx.split_seeds > 1:
            from .split_variance import split_plans

            plans = plans + [copy for _, _, copy in split_plans(plans, ctx.split_seeds)]
        for p in plans:
            c = p.trained_config
            key = str(ctx.directory(c))
            if p.substitute is not None:
                state = f"uses {ctx.directory(c).name} instead ({p.note})"
            elif key in seen:
                state = f"shared: trained once, for {seen[key]}"
            elif ctx.finished(c):
                state = "finished earlier: reused"
            else:
                state = "to train"
                to_train.append(c)
            seen.setdefault(key, f"{section}: {p.label}")
            out(f"  {p.label:<28} {describe(p.config)}  [{ctx.directory(c).name}: {state}; "
                f"{memory_text(ctx.memory_row(c))}]")
    graphs = sorted({graph_name(c) for c in to_train})
    out(f"\n{len(to_train)} configuration(s) to train; model graphs to compile (once each): "
        f"{', '.join(graphs) if graphs else 'none'}")
    if not measure:
        return float("nan")
    start = time.perf_counter()
    forward = measure_forward({c.model.input_size for c in to_train} or {75}, log=out)
    total, parts = estimate_seconds(to_train, split_counts(ctx.table), forward)
    for name, seconds in (extra_seconds or {}).items():
        total += seconds
        out(f"plus {name}: about {seconds / 60:.1f} min")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    hours = f" ({total / 3600:.1f} h)" if total > 5400 else ""
    out(f"Estimated time on this machine: about {total / 60:.0f} min{hours}, of which "
        f"{sum(parts['graphs'].values()) / 60:.1f} min compiling {len(parts['graphs'])} graph(s) (our 2-core CPU "
        f"figure); measured here in {time.perf_counter() - start:.0f} s (load average {load:.2f}) from InceptionV3 "
        "forward passes; a training step counted as 3 forward passes of its images; semi-tune through cached features")
    return total
