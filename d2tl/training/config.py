"""An experiment's whole configuration, as frozen dataclasses serialisable to JSON.

The paper leaves the optimiser, learning rate, batch size and dropout rates open; our defaults
and why:

- Adam, learning rate 1e-4, constant: the common choice for fine-tuning ImageNet InceptionV3
  on small medical data sets (a larger rate destroys the pretrained features in a few steps).
- Batch size 16 cases (64 images): fits two InceptionV3s at 256 px on an 8 GB GPU like the
  paper's GTX 1080.
- float32 without XLA, as the paper's Keras 2 would have run; ``precision`` and ``jit_compile``
  (see :mod:`d2tl.training.execution` and docs/gpu.md) change the numbers, so they are hashed too.
"""

from __future__ import annotations

import dataclasses

from ..data.augment import AugmentConfig
from ..data.roi import RoiConfig
from ..io.errors import D2TLError
from .execution import PRECISIONS
from ..model import ModelConfig
from ..protocol.paper import EPOCHS, RUNS

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")
BN_STATS = ("moving", "precise")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    runs: int = RUNS
    epochs: int = EPOCHS
    batch_size: int = 16  # cases per step; each case is four images
    optimizer: str = "adam"
    learning_rate: float = 1e-4
    schedule: str = "constant"
    seed: int = 0  # run r is seeded with seed * 1000 + r
    deterministic: bool = True  # deterministic kernels (same seed, same history on CPU)
    precision: str = "float32"  # float32 | mixed (float16 compute) | bfloat16 (bfloat16 compute)
    jit_compile: bool = False  # XLA-compiled steps (always on under the JAX backend)
    # BatchNormalization statistics used for validation, test and the saved model (d2tl.model.precise_bn):
    # moving = Keras's running averages (the paper's Keras); precise = re-estimated after every
    # epoch from bn_samples augmented training samples (0 = all of them) with the current weights.
    bn_stats: str = "moving"
    bn_samples: int = 0
    # Micro-batches per step (gradient accumulation, d2tl.training.memory_fit): 1 = none. Set only
    # where the step does not fit the target memory; in to_dict (so the hash) only when > 1.
    accumulation: int = 1

    def __post_init__(self):
        if isinstance(self.accumulation, bool) or not isinstance(self.accumulation, int) or \
                self.accumulation < 1 or self.batch_size % self.accumulation:
            raise D2TLError(f"accumulation must be a whole number >= 1 dividing batch_size {self.batch_size}, "
                            f"got {self.accumulation!r}")
        if self.bn_stats not in BN_STATS:
            raise D2TLError(f"bn_stats {self.bn_stats!r} is not one of {', '.join(BN_STATS)}")
        if not isinstance(self.bn_samples, int) or self.bn_samples < 0:
            raise D2TLError(f"bn_samples must be a whole number >= 0 (0 = all), got {self.bn_samples!r}")
        for name in ("runs", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise D2TLError(f"{name} (--{name.replace('_', '-')}) must be a whole number >= 1, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise D2TLError(f"optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise D2TLError(f"schedule {self.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if not self.learning_rate > 0:
            raise D2TLError(f"learning_rate (--lr) must be positive, got {self.learning_rate!r}")
        if self.precision not in PRECISIONS:
            raise D2TLError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        for name in ("deterministic", "jit_compile"):
            if not isinstance(getattr(self, name), bool):
                raise D2TLError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        """The fields, ``accumulation`` only when used: a configuration that fits keeps its hash."""
        values = dataclasses.asdict(self)
        if values["accumulation"] == 1:
            del values["accumulation"]
        return values

    @property
    def micro_batch(self) -> int:
        """Cases per micro-batch: the batch over the accumulation steps."""
        return self.batch_size // self.accumulation


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines a trained result (with the data set's fingerprint)."""

    model: ModelConfig = ModelConfig()
    roi: RoiConfig = RoiConfig()
    augment: AugmentConfig = AugmentConfig()
    train: TrainConfig = TrainConfig()
    split_seed: int = 0
    shift_seed: int = 0  # directions of the box shift (Sec. 4.2 repeats use 0..9)
    augment_seed: int = 0
    preset: str = "paper"

    def __post_init__(self):
        from ..model.weights import check_allowed

        check_allowed(self.model.weights, self.preset)
        if self.model.input_size != self.roi.input_size:
            raise D2TLError(f"model input {self.model.input_size} px != ROI input {self.roi.input_size} px; "
                            "build configurations with experiment_config()")

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "roi": self.roi.to_dict(), "augment": self.augment.to_dict(),
                "train": self.train.to_dict(), "split_seed": self.split_seed,
                "shift_seed": self.shift_seed, "augment_seed": self.augment_seed, "preset": self.preset}

    def replace(self, **changes) -> "ExperimentConfig":
        """A copy with top-level or nested changes, e.g. ``replace(model={"tuning": "semi"})``."""
        fields = {}
        for name, value in changes.items():
            if isinstance(value, dict):
                value = dataclasses.replace(getattr(self, name), **value)
            fields[name] = value
        if "roi" in fields or "model" in fields:
            roi = fields.get("roi", self.roi)
            fields["model"] = dataclasses.replace(fields.get("model", self.model), input_size=roi.input_size)
        return dataclasses.replace(self, **fields)


def experiment_config(*, model: dict | None = None, roi: dict | None = None, augment: dict | None = None,
                      train: dict | None = None, **top) -> ExperimentConfig:
    """Build a consistent configuration (the model's input side follows the ROI's)."""
    try:
        roi_config = RoiConfig(**(roi or {}))
        augment_config = AugmentConfig(**(augment or {}))
    except (TypeError, ValueError) as exc:
        raise D2TLError(str(exc)) from None
    model_config = ModelConfig(**{**(model or {}), "input_size": roi_config.input_size})
    return ExperimentConfig(model=model_config, roi=roi_config, augment=augment_config,
                            train=TrainConfig(**(train or {})), **top)


def preset_base(settings: dict, preset: str, execution: dict | None = None) -> ExperimentConfig:
    """The paper's default configuration under a preset's ``settings`` (:mod:`d2tl.protocol.presets`):
    dual-mode, full-tune, the preset's weights (``auto`` when absent), box 256 px, no shift.
    ``python -m d2tl train`` and every section start from it, so the same preset gives the same
    configuration hash from either."""
    from ..model.weights import check_allowed
    from ..protocol.paper import DEFAULT_BOX
    from ..protocol.presets import TRAIN_SETTINGS

    s = settings
    weights = s.get("weights", "auto")
    check_allowed(weights, preset)
    return experiment_config(
        model={"architecture": "dual_mode", "tuning": "full", "weights": weights},
        roi={"box": DEFAULT_BOX, "shift": 0.0, "input_scale": s["input_scale"]},
        augment={"alternatives": s["alternatives"]},
        train={"runs": s["runs"], "epochs": s["epochs"], "batch_size": s["batch_size"],
               **{k: s[k] for k in TRAIN_SETTINGS if k in s}, **(execution or {})},
        preset=preset)
