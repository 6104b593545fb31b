"""Sec. 3.4 / 4.5, Figs. 11-13: the interpretation (:func:`d2tl.interpret.experiment.run_interpretation`) of the
default configuration's model; its summary for ``SUMMARY.md``."""

from __future__ import annotations

from pathlib import Path

from ..io.errors import D2TLError

NAME, PAPER_SECTION, FIGURE, TITLE = "interpretation", "4.5", "Figs. 11-13", "Interpretation"


def run(ctx) -> dict:
    """Sec. 4.5 on the default configuration's model, written to ``OUT/interpretation/<preset>/``."""
    from ..interpret.experiment import run_interpretation

    model = ctx.directory(ctx.base()) / "model.keras"
    out = ctx.out / "interpretation" / ctx.preset
    try:
        from ..interpret.experiment import PRESET_SETTINGS

        preset = ctx.preset if ctx.preset in PRESET_SETTINGS else "quick"
    except ImportError:
        preset = "quick"
    try:
        summary = run_interpretation(str(model), str(ctx.cases), str(out), preset)
    except D2TLError as exc:
        ctx.log(f"interpretation not run: {exc}")
        return {"error": str(exc)}
    return {**summary, "out": Path(out).as_posix()}
