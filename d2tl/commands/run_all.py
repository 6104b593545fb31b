"""``python -m d2tl run-all`` (``experiments/run_all.py``): every section of the paper in order, in one
process, and ``OUT/SUMMARY.md``.

    python experiments/run_all.py --preset quick      # 82.4 min on a 2-core CPU (synthetic data); smoke: 23.1 min (docs/performance.md)
    python experiments/run_all.py --dry-run           # the plan and an estimated time; trains nothing
    python experiments/run_all.py --preset paper      # the full protocol: a GPU, many hours
    python experiments/run_all.py --preset paper --plan plan.json     # every configuration, its cost, shard loads
    python experiments/run_all.py --preset paper --shard 3/8          # train shard 3 of 8 only (no reports)
    python experiments/run_all.py --preset paper --report-only        # reports from a finished store
    python experiments/run_shards.py --gpus 0,1,2,3 -- --preset paper # one process per GPU, then the report

Order: Sec. 4.1 box size, 4.2 box shift, 4.3 pooling, 4.4 tuning, 4.4 random initialisation
(``d2tl/sections/``), then the conventional baseline of Sec. 4.6 (``d2tl.baseline``, on the same
split, with our D2TL result beside it) and the interpretation of Sec. 4.5 on the default model.
One process, so each model graph is compiled once and each shared configuration trained once (``OUT/runs/<hash>/``).

``OUT/SUMMARY.md``: for each section, the paper's numbers and ours side by side, the preset, the
data set and the weights source actually used; ``OUT/run_all.json``: the same with timings.

Each section, the baseline and the interpretation is one step (:mod:`d2tl.io.failures`): one that
fails is logged with its traceback and the others still run; the summary then opens with the
failed steps and what was written anyway, and the command exits with status 1.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import sections
from ..io.errors import D2TLError
from ..io.failures import Failures
from ..io.provenance import write_json
from ..reporting.summary import load_average


EPILOG = __doc__


def run_baseline(ctx: sections.Context, jobs: int | None = None) -> dict:
    """Sec. 4.6 with the existing baseline code, D2TL's default result on the same split beside it."""
    from ..sections import baseline

    return baseline.run(ctx, jobs)


def run_interpretation(ctx: sections.Context) -> dict:
    """Sec. 4.5 on the default configuration's model."""
    from ..sections import interpretation

    return interpretation.run(ctx)


def add_arguments(parser) -> None:
    sections.add_arguments(parser)
    parser.add_argument("--sections", default=",".join(sections.ORDER),
                        help=f"comma-separated subset of {','.join(sections.ORDER)} (default: all)")
    parser.add_argument("--skip-baseline", action="store_true", help="leave out the conventional baseline (Sec. 4.6)")
    parser.add_argument("--skip-interpretation", action="store_true", help="leave out the interpretation (Sec. 4.5)")
    g = parser.add_argument_group("spreading the protocol over processes (d2tl/commands/shards.py, docs/cluster.md)")
    g.add_argument("--plan", metavar="PATH", help="with --shard: read the configurations' costs from this plan "
                   "file; alone: measure forward times, write every configuration (hash, sections, cost) and "
                   "the shard loads for 1, 8 and 32 shards to PATH, and train nothing")
    g.add_argument("--shard", metavar="I/N", help="train only shard I of N (0-based; balanced by cost, the same "
                   "assignment in every process) and write no reports")
    g.add_argument("--report-only", action="store_true", help="build every report and SUMMARY.md from a finished "
                   "store; refuses, listing them, if configurations are missing")


def run(args) -> int:
    if args.shard and (args.report_only or args.dry_run):
        raise D2TLError("--shard trains a share of the plan: it does not go with --report-only or --dry-run")
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in sections.ORDER]
    if unknown:
        raise D2TLError(f"--sections: unknown section(s) {', '.join(unknown)}; choose from {', '.join(sections.ORDER)}")
    if args.shard:
        from .shards import parse_shard

        parse_shard(args.shard)  # before the context, which may look for the weights
    from ..training.execution import distribution

    with distribution(args.strategy):
        return run_all(args, chosen)


def run_all(args, chosen, log=None, ctx: sections.Context | None = None) -> int:
    """Run ``chosen`` sections, the baseline and the interpretation (as ``args`` say) in one
    process and write the summary; ``ctx`` (default: from ``args``) for tests."""
    start = time.perf_counter()
    load = {"start": load_average()}
    ctx = ctx or sections.make_context(args, log=log)
    from . import shards

    if getattr(args, "shard", None):
        which = shards.parse_shard(args.shard)
        costs = shards.read_costs(args.plan) if getattr(args, "plan", None) else None
        shards.run_shard(ctx, chosen, which, costs)
        ctx.log(f"shard {args.shard} done in {(time.perf_counter() - start) / 60:.1f} min; reports: "
                "run_all.py --report-only once every shard is done")
        return 0
    if getattr(args, "plan", None):
        forward = sections.measure_forward({e["config"].model.input_size for e in shards.plan_entries(ctx, chosen)},
                                           log=ctx.log)
        entries = shards.plan_entries(ctx, chosen, forward)
        plan = shards.write_plan(args.plan, ctx, chosen, entries, measured=True)
        ctx.log(f"plan: {len(entries)} configurations, {plan['total_cost'] / 3600:.1f} h in one process here; "
                + ", ".join(f"{n} shards: {v['wall'] / 3600:.1f} h" for n, v in plan["shards"].items())
                + f" -> {args.plan}")
        from ..training.memory_fit import memory_text

        for entry in plan["configurations"]:
            ctx.log(f"  {entry['hash']}: {memory_text(entry['memory'])}")
        return 0
    if getattr(args, "report_only", False):
        shards.refuse_missing(ctx, chosen)
    if args.dry_run:
        extra = {}
        if not args.skip_baseline:
            extra["the conventional baseline (features cached per case after the first run)"] = \
                0.8 * len(ctx.table) / min(2, os.cpu_count() or 1) + 10
        if not args.skip_interpretation:
            extra["the interpretation (Sec. 4.5)"] = 150.0
        sections.print_plan(ctx, chosen, extra_seconds=extra)
        return 0
    for name in chosen:  # refuse a foreign report before any training, not after the sections before it
        sections.check_folder(ctx, name, sections.plan(name, ctx))
    ctx.check_memory(chosen)  # likewise a step that fits --gpu-memory at no micro-batch
    if ctx.progress is None:
        ctx.progress = shards.Progress(shards.plan_entries(ctx, chosen), ctx.log)
    failures = Failures(ctx.log)
    results, baseline, interpretation, timings = run_steps(args, ctx, chosen, failures)
    wall = time.perf_counter() - start
    load["end"] = load_average()
    text = write_reports(ctx, results, baseline, interpretation, wall, load, timings, failures)
    print(text)
    print(f"run_all: {wall / 60:.1f} min; " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
          + f"; load average {load}")
    failures.check()  # exit status 1, naming what failed and what was written
    return 0


def run_steps(args, ctx: sections.Context, chosen, failures: Failures) -> tuple:
    """Each section, the baseline and the interpretation as one step of ``failures``: one that
    fails is recorded, and the rest still run. Returns (section summaries, baseline,
    interpretation, seconds per step); a failed baseline or interpretation is ``{"error": ...}``."""
    results, timings = [], {}
    for name in chosen:
        t = time.perf_counter()
        with failures.step(f"section {name}"):
            results.append(sections.run_section(name, ctx).summary())
            failures.wrote(ctx.out / name)
        timings[name] = time.perf_counter() - t
    baseline = None if args.skip_baseline else _side_step(
        ctx, failures, timings, "baseline", "== Sec. 4.6 conventional baseline", run_baseline, "folder")
    interpretation = None if args.skip_interpretation else _side_step(
        ctx, failures, timings, "interpretation", "== Sec. 4.5 interpretation", run_interpretation, "out")
    return results, baseline, interpretation, timings


def _side_step(ctx, failures: Failures, timings: dict, name: str, heading: str, run, folder_key: str) -> dict:
    """The baseline or the interpretation as one step: its result, or ``{"error": ...}``."""
    t = time.perf_counter()
    ctx.log(heading)
    result = None
    with failures.step(name):
        result = run(ctx)
        failures.wrote(result.get(folder_key) or f"the {name}")
    timings[name] = time.perf_counter() - t
    return result or {"error": failures.error(name)}


def write_reports(ctx, results, baseline, interpretation, wall, load, timings, failures: Failures) -> str:
    """``OUT/SUMMARY.md`` (failed steps first) and ``OUT/run_all.json``; the summary's text."""
    notes = [f"One results store, `{Path(ctx.store).as_posix()}/` (not committed: model files), shared by all "
             "sections: a configuration used by several sections is trained once.",
             f"Default weights (`{ctx.base().model.weights}`) gave: {ctx.auto_weights_source()}."]
    if ctx.auto_is_random():
        notes.append("ImageNet weights were not available on this machine, so every model here, D2TL included, "
                     "started from random weights: the paper's transfer learning is not reproduced by this run.")
    failures.wrote(ctx.out / "SUMMARY.md")
    failures.wrote(ctx.out / "run_all.json")
    failed = [{"step": step, "error": error} for step, error in failures.failed]
    text = sections_summary(ctx, results, baseline, interpretation, wall, load, notes, failed, failures.written)
    write_json(ctx.out / "run_all.json", {"preset": ctx.preset, "settings": ctx.settings, "dataset": ctx.dataset,
                                          "wall_seconds": wall, "seconds": timings, "load_average": load,
                                          "cpus": os.cpu_count(), "sections": results,
                                          "overrides": ctx.overrides,
                                          "failed": failed, "written": failures.written,
                                          "records": {Path(k).name: {"status": r.status, "seconds": r.seconds,
                                                                     "compiled_graph": r.new_graph,
                                                                     "first_use": r.first_use}
                                                      for k, r in ctx.records.items()}})
    return text


def sections_summary(ctx, results, baseline, interpretation, wall, load, notes, failed=(), written=()) -> str:
    from ..reporting.summary import write_summary

    return write_summary(ctx.out / "SUMMARY.md", preset=ctx.preset, settings=ctx.settings, dataset=ctx.dataset,
                         sections=results, baseline=baseline, interpretation=interpretation, wall_seconds=wall,
                         load=load, notes=notes, failed=failed, written=written, overrides=ctx.overrides)
