"""The generator's parameters (:class:`SynthConfig`), its constants, and each case's label and size."""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np

from ....io.errors import D2TLError
from ....protocol.views import LABELS


COMMAND_HELP = "write the synthetic CEDM data set (DICOM, masks, case table)"

FULL_ROWS, FULL_COLS = 3328, 2560  # Hologic Selenia Dimensions detector
FULL_SPACING_MM = 0.07
GENERATOR = "d2tl.data.synthetic"
GENERATOR_VERSION = 2  # bump when the same seed would give different images

FEATURES = ("shape", "margin", "enhancement_strength", "enhancement_pattern")
VIEW_CODES = {"cc": "CC", "mlo": "MLO"}

# --- configuration ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Every parameter of the synthetic data set (all lengths in full-resolution px or mm)."""

    n_cases: int = 96
    malignant_fraction: float = 0.5
    seed: int = 0
    scale: float = 0.25  # image px per full-resolution (0.07 mm) px
    difficulty: float = 0.25  # 0 easy ... 1 class features independent of the label
    placement_jitter: float = 20.0  # SD per axis of the box-centre error, full-resolution px
    size_range: tuple[float, float] = (35.0, 1175.0)  # lesion long side, full-resolution px
    write_he: bool = False  # also write the high-energy images
    photons_le: float = 12000.0  # quanta per full-resolution px behind the median path, LE
    photons_he: float = 6000.0  # same for HE
    cancellation_error: float = 0.03  # SD of the relative error of the recombination weight
    density_range: tuple[float, float] = (0.05, 0.50)  # volumetric glandular fraction
    bpe_range: tuple[float, float] = (0.02, 0.25)  # mg/ml iodine in glandular tissue
    bits_stored: int = 12  # DICOM BitsStored
    # None: a lesion's iodine per area is its concentration x its path length (physical: contrast
    # follows size); a depth in cm: concentration x that depth (contrast follows concentration)
    enhancement_depth_cm: float | None = None

    def __post_init__(self):
        def bad(msg):
            raise D2TLError(f"synthetic data: {msg}")

        if int(self.n_cases) != self.n_cases or self.n_cases < 1:
            bad(f"n_cases must be a positive integer, got {self.n_cases}")
        if not 0 <= self.malignant_fraction <= 1:
            bad(f"malignant_fraction must be in [0, 1], got {self.malignant_fraction}")
        if not 0 < self.scale <= 1:
            bad(f"scale must be in (0, 1], got {self.scale}")
        if not 0 <= self.difficulty <= 1:
            bad(f"difficulty must be in [0, 1], got {self.difficulty}")
        if self.placement_jitter < 0:
            bad(f"placement_jitter must be >= 0, got {self.placement_jitter}")
        lo, hi = self.size_range
        if not 10 <= lo <= hi <= 1400:
            bad(f"size_range must satisfy 10 <= min <= max <= 1400 full-resolution px, got {self.size_range}")
        if self.photons_le <= 0 or self.photons_he <= 0:
            bad("photon counts must be positive")
        if self.cancellation_error < 0:
            bad(f"cancellation_error must be >= 0, got {self.cancellation_error}")
        d0, d1 = self.density_range
        if not 0 < d0 <= d1 < 0.9:
            bad(f"density_range must satisfy 0 < min <= max < 0.9, got {self.density_range}")
        b0, b1 = self.bpe_range
        if not 0 <= b0 <= b1:
            bad(f"bpe_range must satisfy 0 <= min <= max, got {self.bpe_range}")
        if not 8 <= self.bits_stored <= 16:
            bad(f"bits_stored must be 8..16, got {self.bits_stored}")
        if self.enhancement_depth_cm is not None and not 0 < self.enhancement_depth_cm <= 10:
            bad(f"enhancement_depth_cm must be None or in (0, 10] cm, got {self.enhancement_depth_cm}")
        object.__setattr__(self, "size_range", (float(lo), float(hi)))
        object.__setattr__(self, "density_range", (float(d0), float(d1)))
        object.__setattr__(self, "bpe_range", (float(b0), float(b1)))

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(round(FULL_ROWS * self.scale)), int(round(FULL_COLS * self.scale))

    @property
    def pixel_mm(self) -> float:
        return FULL_SPACING_MM / self.scale

    def to_dict(self) -> dict:
        """The parameters as recorded in ``dataset.json`` and hashed by recipes. A parameter added
        after generator version 2 is recorded only when set, so a set made without it keeps its
        recorded configuration and every hash made from it."""
        values = dataclasses.asdict(self)
        return {k: v for k, v in values.items() if not (k in _ADDED_LATER and v is None)}


_ADDED_LATER = ("enhancement_depth_cm",)


def case_id(index: int, n_cases: int = 96) -> str:
    return f"P{index + 1:0{max(3, len(str(n_cases)))}d}"


@lru_cache(maxsize=32)
def _plan(config: SynthConfig) -> tuple[tuple[str, float], ...]:
    """(label, size) per case: labels shuffled, sizes log-spaced per class and shuffled."""
    rng = np.random.default_rng([config.seed, 0])
    n = config.n_cases
    n_mal = int(round(n * config.malignant_fraction))
    labels = np.array(["malignant"] * n_mal + ["benign"] * (n - n_mal))
    labels = labels[rng.permutation(n)]
    lo, hi = config.size_range
    sizes = np.empty(n)
    for label in LABELS:
        where = np.flatnonzero(labels == label)
        k = len(where)
        if k == 0:
            continue
        quantiles = np.geomspace(lo, hi, k) if k > 1 else np.array([math.sqrt(lo * hi)])
        sizes[where] = quantiles[rng.permutation(k)]
    return tuple((str(lab), float(s)) for lab, s in zip(labels, sizes))


def case_labels(config: SynthConfig) -> list[str]:
    """The label of every case (no images needed)."""
    return [label for label, _ in _plan(config)]


def lesion_sizes(config: SynthConfig) -> np.ndarray:
    """Each case's lesion size: long side of the CC body's enclosing rectangle, full-res px."""
    return np.array([size for _, size in _plan(config)])
