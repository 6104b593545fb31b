"""What one section's run gives (:class:`SectionResult`): its table, side-by-side rows, notes,
extras, histories and provenance."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ..io.provenance import portable
from .rows import learning_rows


@dataclasses.dataclass
class SectionResult:
    name: str
    folder: Path
    table: pd.DataFrame  # one row per planned configuration
    comparison: list  # rows {"quantity", "paper", "ours"} for the side-by-side
    notes: list
    extra: dict  # section-specific numbers (p-values, parameter counts, learning-curve stats)
    histories: pd.DataFrame
    provenance: dict
    seconds: float
    figures: list = dataclasses.field(default_factory=list)
    tables: dict = dataclasses.field(default_factory=dict)  # extra CSV tables: name -> DataFrame
    info: tuple = ("", "", "")  # (paper section, figure, title) of the section (Section.info)

    def summary(self) -> dict:
        """The section for ``summary.json`` and ``run_all.json`` (paths :func:`~d2tl.io.provenance.portable`)."""
        number, figure, title = self.info
        return portable({"section": self.name, "paper_section": number, "figure": figure, "title": title,
                "comparison": self.comparison, "notes": self.notes, "extra": self.extra,
                "folder": str(self.folder), "figures": [str(f) for f in self.figures],
                "seconds": self.seconds, "preset": self.provenance.get("preset"),
                "weights_sources": self.provenance.get("weights_sources"),
                "dataset": self.provenance.get("dataset"), "configurations": learning_rows(self.table)})
