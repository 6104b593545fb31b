"""Running one section: train (or reuse) its configurations, analyse, write ``OUT/<section>/``;
the report fingerprint and the guard against overwriting another configuration's report."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..io.failures import Failures
from ..io.provenance import config_hash
from ..reporting.guard import refuse_other
from ..reporting.section_folder import section_provenance, write_section
from .analysis import analyse
from .context import Context
from .planned import Planned
from .registry import get
from .result import SectionResult
from .rows import config_row, read_history


def section_folder(ctx: Context, section: str) -> Path:
    return ctx.out / section


def fingerprint(ctx: Context, section: str, plans: list[Planned]) -> str:
    """Identifies a section report: section, data set, every configuration it shows (weights by
    identity) and the split seeds."""
    from ..training.run_folder import hashed_config

    key = {"section": section, "cases_sha256": ctx.dataset["cases_sha256"],
           "configs": [hashed_config(p.config, ctx.weights(p.config.model.weights, locate=False)) for p in plans]}
    if ctx.split_seeds > 1:
        key["split_seeds"] = ctx.split_seeds
    return config_hash(key)


def check_folder(ctx: Context, section: str, plans: list[Planned]) -> str:
    """The report fingerprint; refuse to overwrite a report made from other configurations."""
    digest = fingerprint(ctx, section, plans)
    prov = section_folder(ctx, section) / "provenance.json"
    if not ctx.replace:
        refuse_other(prov, "report_fingerprint", digest, lambda recorded: (
            f"{prov.parent} holds a report made from other configurations or data "
            f"(fingerprint {recorded}, this one {digest}); refusing to overwrite it. "
            f"Choose another --out, or pass --replace (trained results in "
            f"{ctx.store} are never replaced either way)"))
    return digest


def train_plans(section: str, ctx: Context, plans: list[Planned]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train (or reuse) each configuration: the section's rows and histories. A failed one is
    logged and the others still trained (a rerun then trains it alone); then
    :class:`d2tl.io.failures.StepsFailed` names it, and no report is written."""
    failures = Failures(ctx.log)
    rows, histories = [], []
    for p in plans:
        label = f"{section}: {p.label}"
        with failures.step(label):
            metrics = ctx.train(p.trained_config, label=label)
            directory = ctx.directory(p.trained_config)
            external = ctx.score_external(p.trained_config)
            rows.append(config_row(p, metrics, directory, ctx.records.get(str(directory)), label, external))
            histories.append(read_history(directory).assign(label=p.label))
    failures.wrote(f"{len(rows)} of {len(plans)} configurations of {section} finished in {ctx.store}; "
                   f"no report in {section_folder(ctx, section)}")
    failures.check()
    return pd.DataFrame(rows), pd.concat(histories, ignore_index=True)


def split_repeats(section: str, ctx: Context, plans: list[Planned], rows: pd.DataFrame, tables, extra, notes):
    """``--split-seeds K``: every configuration on split seeds 1..K-1, as a table and a note."""
    from .split_variance import note, repeat_row, split_plans, split_variance_table

    failures = Failures(ctx.log)
    repeats = []
    for p, seed, copy in split_plans(plans, ctx.split_seeds):
        with failures.step(f"{section}: {copy.label}"):
            repeats.append(repeat_row(p.label, seed, ctx.train(copy.config, label=f"{section}: {copy.label}")))
    failures.wrote(f"{len(repeats)} split-seed repeats of {section} finished in {ctx.store}; "
                   f"no report in {section_folder(ctx, section)}")
    failures.check()
    tables["split_variance"] = split_variance_table(rows, repeats)
    extra["split_seeds"] = ctx.split_seeds
    extra["split_variance"] = tables["split_variance"].to_dict(orient="records")
    notes.append(note(tables["split_variance"], ctx.split_seeds))


def run_section(section: str, ctx: Context) -> SectionResult:
    """Train (or reuse) every configuration of ``section``, analyse, write ``OUT/<section>/``;
    failed configurations: :func:`train_plans`."""
    start = time.perf_counter()
    spec = get(section)
    number, figure, title = spec.info
    plans = spec.plan(ctx)
    digest = check_folder(ctx, section, plans)
    ctx.log(f"== Sec. {number} {title} ({figure}): {len(plans)} configurations, preset {ctx.preset}")
    ctx.prefetch_rois([p.trained_config for p in plans])
    rows, histories = train_plans(section, ctx, plans)
    comparison, notes, extra, tables = analyse(spec, ctx, plans, rows, histories)
    if ctx.split_seeds > 1:
        split_repeats(section, ctx, plans, rows, tables, extra, notes)
    prov = section_provenance(ctx, section, spec.heading, plans, rows, digest)
    result = SectionResult(section, section_folder(ctx, section), rows, comparison, notes, extra, histories,
                           prov, 0.0, tables=tables, info=spec.info)
    result.seconds = time.perf_counter() - start
    write_section(result, spec.figure_file, spec.draw)
    ctx.log(f"== Sec. {number} done in {result.seconds:.0f} s -> {result.folder}")
    return result
