"""A section folder ``OUT/<section>/``, written atomically:

=========================  ==================================================================
``<section>.csv``          one row per training configuration: settings, the selected model's
                           test accuracy, sensitivity, specificity, AUC with 95% intervals
                           (``<metric>_low``/``_high``) and confusion counts, per-run spread,
                           timing, weights source, result hash, how obtained
``paired_tests.csv``       the paper's comparisons on the same test cases: exact McNemar p
                           (raw and Holm-adjusted), AUC difference with a paired bootstrap
                           interval (:mod:`d2tl.stats.section_tests`)
``<section>.md``           the paper's numbers beside ours, notes, and the table above
``history.csv``            every epoch of every run of every configuration (learning curves)
``<name>.csv``             section extras: shift summary and p-values, parameter counts,
                           learning-curve statistics
``fig*.png``               the figure like the paper's
``summary.json``           the side-by-side rows and extras, machine-readable
``provenance.json``        preset and the command line's deviations from it (``overrides``), data
                           set, weights sources actually used, every configuration with its
                           hash, package and code versions, report fingerprint
=========================  ==================================================================

Trained models stay in ``OUT/runs/<hash>/`` (large; not for version control); section folders
are small and self-contained.
"""

from __future__ import annotations

import pandas as pd

from ..io.atomic import atomic_path, write_text
from ..io.provenance import portable, portable_table, provenance, write_json
from .figures import save_figure
from .markdown import section_markdown


def section_provenance(ctx, section: str, experiment: str, plans, rows: pd.DataFrame, digest: str) -> dict:
    """``provenance.json`` of a section report; ``experiment``: e.g. ``"Sec. 4.1 Box size (Fig. 7)"``."""
    sources = sorted({str(s) for s in rows["weights_source"].dropna()})
    configs = [{"label": p.label, "hash": ctx.directory(p.trained_config).name,
                "trained_as": None if p.substitute is None else "substitute (identical in effect)",
                "config": p.config.to_dict()} for p in plans]
    return provenance(config={"section": section, "settings": ctx.settings, "configurations": configs},
                      seed=ctx.base().train.seed, preset=ctx.preset, dataset=ctx.dataset,
                      weights_source="; ".join(sources), weights_sources=sources,
                      experiment=experiment, report_fingerprint=digest,
                      results_store=str(ctx.store), auto_weights=ctx.auto_weights_source(),
                      overrides=getattr(ctx, "overrides", {}))


def write_section(result, figure_file: str, draw) -> None:
    """Write ``result.folder`` (see the module docstring), replacing it atomically; the figure is
    ``draw(result, plt)``, saved as ``figure_file``."""
    name = result.name
    with atomic_path(result.folder) as tmp:
        tmp.mkdir(parents=True)
        portable_table(result.table).to_csv(tmp / f"{name}.csv", index=False)
        result.histories.to_csv(tmp / "history.csv", index=False)
        for extra_name, table in result.tables.items():
            portable_table(table).to_csv(tmp / f"{extra_name}.csv", index=False)
        save_figure(result, tmp / figure_file, draw)
        result.figures = [result.folder / figure_file]
        write_text(tmp / f"{name}.md", portable(section_markdown(result)))
        write_json(tmp / "summary.json", result.summary())
        write_json(tmp / "provenance.json", portable(result.provenance))
