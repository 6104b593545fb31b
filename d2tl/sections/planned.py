"""One training configuration of a section (:class:`Planned`)."""

from __future__ import annotations

import dataclasses

from ..training.config import ExperimentConfig


@dataclasses.dataclass
class Planned:
    """One training configuration of a section."""

    label: str
    config: ExperimentConfig
    columns: dict  # what distinguishes it in the section's table, e.g. {"box": 64}
    substitute: ExperimentConfig | None = None  # train this one instead (identical in effect)
    note: str = ""

    @property
    def trained_config(self) -> ExperimentConfig:
        return self.substitute or self.config
