"""Sec. 4.6 / Fig. 14: the conventional baseline (:mod:`d2tl.baseline`) on the same split as D2TL,
with D2TL's default result beside it; its summary for ``SUMMARY.md``."""

from __future__ import annotations

import os
from pathlib import Path

from ..io.errors import D2TLError

NAME, PAPER_SECTION, FIGURE, TITLE = "baseline", "4.6", "Fig. 14", "Conventional baseline"


def run(ctx, jobs: int | None = None) -> dict:
    """Sec. 4.6 with the existing baseline code, D2TL's default result on the same split beside it."""
    from ..stats import section_tests
    from ..baseline.run import PRESETS as BASELINE_PRESETS
    from ..baseline.run import BaselineConfig, run_baseline as baseline

    preset = ctx.preset if ctx.preset in BASELINE_PRESETS else "quick"
    d2tl_metrics = ctx.directory(ctx.base()) / "metrics.json"
    try:
        result = baseline(ctx.cases, BaselineConfig(preset=preset), out=ctx.out / "baseline",
                          jobs=jobs or min(4, os.cpu_count() or 1),
                          d2tl_metrics=str(d2tl_metrics) if d2tl_metrics.is_file() else "auto",
                          external=str(ctx.external) if ctx.external else None)
    except D2TLError as exc:
        ctx.log(f"baseline not run: {exc}")
        return {"error": str(exc)}
    from ..baseline.run import best_external_baseline

    rows = result.table.to_dict(orient="records")
    return {"preset": preset, "folder": Path(result.folder).as_posix(), "rows": rows,
            "d2tl_metrics": result.provenance.get("d2tl_metrics"),
            "paired_tests": section_tests.records(result.paired_tests) if result.paired_tests is not None else None,
            "best_external": best_external_baseline(result.folder) if ctx.external else None}
