"""What a paper section is to the rest of the code (:class:`Section`): its names and one
function each for its plan, its analysis and its figure. A section file builds one ``SECTION``."""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Section:
    """One paper section.

    - ``plan(ctx) -> list[Planned]``: its training configurations, in training order;
    - ``analyse(ctx, plans, rows, histories) -> (comparison, notes, extra, tables)``: its own
      side-by-side rows ``{"quantity", "paper", "ours"}``, notes, extra numbers and extra CSV
      tables (the notes every section shares are added by :mod:`d2tl.sections.analysis`);
    - ``draw(result, plt) -> Figure``: its figure like the paper's (title and saving are common);
    - ``reported``: the paper's numbers it is compared with (an entry of :data:`d2tl.protocol.paper.REPORTED`).
    """

    name: str  # e.g. "box_size": OUT/<name>/, experiments/<name>.py
    paper_section: str  # e.g. "4.1"
    figure: str  # the paper's figure, e.g. "Fig. 7"
    title: str
    figure_file: str  # the figure's file name in OUT/<name>/
    plan: Callable
    analyse: Callable
    draw: Callable
    reported: dict = dataclasses.field(default_factory=dict)

    @property
    def info(self) -> tuple:
        """(paper section, figure, title)."""
        return self.paper_section, self.figure, self.title

    @property
    def heading(self) -> str:
        return f"Sec. {self.paper_section} {self.title} ({self.figure})"
