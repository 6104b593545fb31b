"""The synthetic-source pre-training recipe: which source set, which ROIs, which training.

Its hash names its folder in the pre-training store (:mod:`d2tl.pretrain.store`), beside the
formula-driven recipes, so ``--weights synthetic`` resolves the same way ``--weights fractal``
does, and a finished recipe is reused, never trained again.

The source set is a synthetic data set written by the project's own generator
(``python -m d2tl synth``) under ``source_seed``; it must not share a seed with any set a model
is tuned or scored on (the data set, its external and tuning sets: seeds 0-4 in docs/). The
transfer study checks that against the sets' ``dataset.json``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..io.errors import D2TLError
from ..protocol.paper import DEFAULT_BOX
from ..io.provenance import config_hash

WEIGHTS_FILE = "inception_v3_synthetic_notop.weights.h5"
SOURCE_DATA_ENV = "D2TL_SOURCE_DATA"
DEFAULT_SOURCE_DATA = "data/pretrain-source"
RESERVED_SEEDS = range(0, 100)  # seeds of the data sets the project documents (0-4) and room for more


@dataclasses.dataclass(frozen=True)
class SyntheticRecipe:
    """Pre-train on the ROIs of ``cases`` synthetic cases of generator seed ``source_seed``
    (``box`` px boxes at ``side`` px, as D2TL's default configuration cuts them) for ``epochs``
    with Adam at ``learning_rate`` (cosine decay), batches of ``batch_size``; ``seed`` seeds the
    background boxes, the batch order and the initialisation."""

    cases: int = 1000
    source_seed: int = 1000
    side: int = 75
    box: int = DEFAULT_BOX
    epochs: int = 8
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 1e-3

    def __post_init__(self):
        for name in ("cases", "epochs", "batch_size", "box"):
            if getattr(self, name) < 1:
                raise D2TLError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be at least 1")
        if self.cases < 10:
            raise D2TLError(f"--source-cases {self.cases}: a source set needs at least 10 cases")
        if self.source_seed in RESERVED_SEEDS:
            raise D2TLError(f"--source-seed {self.source_seed}: seeds {RESERVED_SEEDS.start}-{RESERVED_SEEDS.stop - 1} "
                            "are kept for the data sets models are tuned and scored on; choose 100 or above")
        if self.side < 75:
            raise D2TLError(f"--side {self.side}: InceptionV3 needs at least 75 px")
        if not self.learning_rate > 0:
            raise D2TLError(f"--lr {self.learning_rate}: must be positive")

    @property
    def weights_file(self) -> str:
        return WEIGHTS_FILE

    def roi(self):
        """The ROI settings: D2TL's (d2tl.data.roi.RoiConfig) at this box and input side."""
        from ..data.roi import RoiConfig

        return RoiConfig(box=self.box, input_scale=self.side / self.box)

    def synth_config(self):
        from ..data.sources.synthetic.config import SynthConfig

        return SynthConfig(n_cases=self.cases, seed=self.source_seed)

    def to_dict(self) -> dict:
        """The recipe as hashed: its fields, the generator's version and settings, the labels' bins."""
        from ..data.sources.synthetic.config import GENERATOR_VERSION
        from . import synthetic_source as source

        return {**dataclasses.asdict(self), "source": "synthetic",
                "model": "InceptionV3(include_top=False, pooling=avg) + one dense softmax per task",
                "input": "grey, repeated to 3 channels, [0, 1] -> [-1, 1] (as d2tl.model)",
                "optimizer": "adam, cosine decay", "generator_version": GENERATOR_VERSION,
                "generator": self.synth_config().to_dict(), "roi": self.roi().to_dict(),
                "tasks": source.TASKS, "edges": {"density": source.DENSITY_EDGES, "bpe": source.BPE_EDGES,
                                                 "size": source.SIZE_EDGES}}

    @property
    def hash(self) -> str:
        return config_hash(self.to_dict())

    def describe(self) -> str:
        return (f"synthetic-CEDM recipe {self.hash}: ROIs of {self.cases} cases of generator seed "
                f"{self.source_seed}, box {self.box} px at {self.side} px, {self.epochs} epochs, seed {self.seed}")

    def command(self) -> str:
        """The exact command that makes this recipe's weights."""
        flags = {"cases": "--source-cases", "source_seed": "--source-seed", "learning_rate": "--lr"}
        parts = ["python -m d2tl pretrain --source synthetic"]
        default = SyntheticRecipe()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value != getattr(default, field.name):
                flag = flags.get(field.name, f"--{field.name.replace('_', '-')}")
                parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
        return " ".join(parts)

    def source_folder(self, root=None) -> Path:
        """Where the source set is (written there when missing)."""
        base = Path(root or os.environ.get(SOURCE_DATA_ENV) or DEFAULT_SOURCE_DATA)
        return base / f"seed{self.source_seed}-n{self.cases}"
