"""The protocol spread over processes: a cost-balanced plan, shards, progress, reports from the store.

The results store (``OUT/runs/<hash>/``) is keyed by configuration hash and resumable, so any
number of processes can fill it, each with its own share of the configurations, on one host (one
process per GPU, ``experiments/run_shards.py``) or as the tasks of a cluster's job array
(``experiments/slurm_array.sh``, docs/cluster.md); no scheduler of our own.

- :func:`plan_entries`: every distinct training configuration of the chosen sections, the
  sections and labels that use it (a shared one is trained once), and its estimated cost.
- :func:`assign`: longest first, each to the least loaded shard (Graham's LPT rule; ties go to
  the lower shard index, so every process computes the same assignment). No shard then exceeds
  the mean load by more than the largest configuration's cost.
- Costs: from a plan file (``--plan``: seconds from the forward times the dry run measures), or,
  without one, from a deterministic model (InceptionV3's forward cost taken proportional to the
  input area), so shards that never measured anything still agree.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..io.errors import D2TLError
from ..io.failures import Failures

REFERENCE_SIDE = 299  # InceptionV3's native input: one cost unit per image forward pass there


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 <= I < N) -> (I, N); a clear error naming the value otherwise."""
    try:
        i, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise D2TLError(f"--shard {text!r} is not I/N (for example 0/4)") from None
    if n < 1 or not 0 <= i < n:
        raise D2TLError(f"--shard {text!r}: need 0 <= I < N and N >= 1")
    return i, n


def model_forward(sizes) -> dict:
    """Deterministic per-image forward costs: (side / 299)^2 units, a build of 0 units."""
    return {**{s: (s / REFERENCE_SIDE) ** 2 for s in sizes}, "build": 0.0}


def plan_entries(ctx, chosen, forward: dict | None = None) -> list[dict]:
    """One entry per distinct training configuration of ``chosen`` sections, in plan order:
    ``hash`` (its store folder), ``config`` (an ExperimentConfig), ``used_by``, ``cost`` (seconds
    when ``forward`` is measured, else model units) and ``finished``."""
    from ..sections.estimate import estimate_seconds, split_counts
    from ..sections.registry import plan

    entries: dict[str, dict] = {}
    for section in chosen:
        plans = plan(section, ctx)
        if ctx.split_seeds > 1:
            from ..sections.split_variance import split_plans

            plans = plans + [copy for _, _, copy in split_plans(plans, ctx.split_seeds)]
        for p in plans:
            c = p.trained_config
            name = ctx.directory(c).name
            entry = entries.setdefault(name, {"hash": name, "config": c, "used_by": []})
            entry["used_by"].append(f"{section}: {p.label}")
    forward = forward or model_forward({e["config"].model.input_size for e in entries.values()})
    counts = split_counts(ctx.table)
    for entry in entries.values():
        _, parts = estimate_seconds([entry["config"]], counts, forward)
        entry["cost"] = float(sum(parts["per_config"].values()))  # compiling, once per process, left out
        entry["finished"] = ctx.finished(entry["config"])
    return list(entries.values())


def assign(costs: dict[str, float], n: int) -> dict[str, int]:
    """Hash -> shard, longest first to the least loaded shard (deterministic)."""
    loads = [0.0] * n
    out = {}
    for name, cost in sorted(costs.items(), key=lambda kv: (-kv[1], kv[0])):
        k = min(range(n), key=lambda j: (loads[j], j))
        out[name] = k
        loads[k] += cost
    return out


def shard_loads(costs: dict[str, float], n: int) -> list[float]:
    where = assign(costs, n)
    loads = [0.0] * n
    for name, k in where.items():
        loads[k] += costs[name]
    return loads


def write_plan(path, ctx, chosen, entries: list[dict], measured: bool, shard_counts=(1, 8, 32)) -> dict:
    """``path``: every configuration (hash, sections using it, cost, finished), and the shard
    loads for a few shard counts."""
    from ..io.atomic import write_text

    costs = {e["hash"]: e["cost"] for e in entries}
    plan = {"preset": ctx.preset, "overrides": getattr(ctx, "overrides", {}), "sections": list(chosen),
            "dataset": ctx.dataset,
            "cost_unit": "seconds (measured forward times, this machine)" if measured else
            "model units (InceptionV3 forward cost proportional to input area)",
            "split_seeds": ctx.split_seeds,
            "configurations": [{"hash": e["hash"], "used_by": e["used_by"], "cost": e["cost"],
                                "finished": e["finished"], "describe": _describe(e["config"]),
                                "memory": ctx.memory_row(e["config"])} for e in entries],
            "gpu_memory": ctx.gpu_memory,
            "total_cost": float(sum(costs.values())),
            "largest_cost": float(max(costs.values(), default=0.0)),
            "shards": {str(n): {"loads": shard_loads(costs, n), "wall": max(shard_loads(costs, n), default=0.0)}
                       for n in shard_counts}}
    write_text(path, json.dumps(plan, indent=2, default=str) + "\n")
    return plan


def read_costs(path) -> dict[str, float]:
    """Hash -> cost from a plan file written by :func:`write_plan`."""
    try:
        plan = json.loads(Path(path).read_text())
        return {c["hash"]: float(c["cost"]) for c in plan["configurations"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise D2TLError(f"plan file {path} cannot be read as a d2tl plan ({type(exc).__name__}: {exc}); "
                        "write it with run_all.py --plan PATH") from None


def _describe(c) -> str:
    from ..sections.plan_print import describe

    return describe(c)


class Progress:
    """Prints, after each configuration: k of K done, elapsed time, and an ETA from the plan's
    estimates scaled by the ratio of measured to estimated time so far."""

    def __init__(self, entries: list[dict], log=print):
        self.todo = {e["hash"]: e["cost"] for e in entries if not e["finished"]}
        self.total = len(self.todo)
        self.done_cost = 0.0
        self.start = time.perf_counter()
        self.log = log
        self.count = 0

    def done(self, name: str) -> None:
        if name not in self.todo:
            return
        self.done_cost += self.todo.pop(name)
        self.count += 1
        elapsed = time.perf_counter() - self.start
        left = sum(self.todo.values())
        eta = elapsed / self.done_cost * left if self.done_cost > 0 else float("nan")
        self.log(f"progress: {self.count} of {self.total} configurations done, {elapsed / 60:.1f} min elapsed, "
                 f"about {eta / 60:.1f} min left (plan estimates x measured/estimated so far)")


def run_shard(ctx, chosen, shard: tuple[int, int], costs: dict[str, float] | None = None) -> list[dict]:
    """Train shard ``I/N``'s configurations (and score each on the external set, if any); no reports.
    A failed configuration is logged and the others still trained; then
    :class:`d2tl.io.failures.StepsFailed` names it (exit status 1)."""
    i, n = shard
    entries = plan_entries(ctx, chosen)
    if costs is not None:
        missing = [e["hash"] for e in entries if e["hash"] not in costs]
        if missing:
            raise D2TLError(f"the plan file lacks configuration(s) {', '.join(missing)}: it was made for other "
                            "sections, settings or data; write it again with --plan")
        for e in entries:
            e["cost"] = costs[e["hash"]]
    where = assign({e["hash"]: e["cost"] for e in entries}, n)
    mine = [e for e in entries if where[e["hash"]] == i]
    ctx.log(f"shard {i}/{n}: {len(mine)} of {len(entries)} configurations "
            f"({sum(e['cost'] for e in mine):.0f} of {sum(e['cost'] for e in entries):.0f} cost units; "
            f"{sum(e['finished'] for e in mine)} finished earlier)")
    ctx.progress = Progress(mine, ctx.log)
    failures = Failures(ctx.log)
    for e in mine:  # a failed configuration does not stop the shard's others
        with failures.step(f"{e['hash']} ({e['used_by'][0]})"):
            ctx.train(e["config"], label=e["used_by"][0])
            ctx.score_external(e["config"])
            failures.wrote(e["hash"])
    failures.written = [f"{len(failures.written)} of {len(mine)} configurations of shard {i}/{n} finished in "
                        f"{ctx.store}"]
    failures.check()
    return mine


def missing_configurations(ctx, chosen) -> list[dict]:
    """The configurations of ``chosen`` that the store does not hold finished."""
    return [e for e in plan_entries(ctx, chosen) if not e["finished"]]


def refuse_missing(ctx, chosen) -> None:
    """``--report-only``: refuse, listing what is missing, unless every configuration is finished."""
    missing = missing_configurations(ctx, chosen)
    if missing:
        listing = "; ".join(f"{e['hash']} ({', '.join(e['used_by'])})" for e in missing)
        raise D2TLError(f"--report-only: {len(missing)} configuration(s) are not finished in {ctx.store}: "
                        f"{listing}. Run the shards (or run_all without --report-only) first")
