"""The D2TL model and its variants, with the Keras functional API and InceptionV3.

``dual_mode`` (the paper's D2TL, Fig. 4)::

    le_cc  ─┐                                   rec_cc  ─┐
            ├─ InceptionV3 "backbone_le" ─┐              ├─ InceptionV3 "backbone_rec" ─┐
    le_mlo ─┘  (one network, both views)  │     rec_mlo ─┘                              │
            concat 2x2048 -> dropout -> dense 512 (abstraction_le)    the same for rec  │
                          └──────────── concat 1024 -> dropout -> dense 2, softmax ─────┘

``simple_pooling`` shares one InceptionV3 across all four images (same head); ``separate`` gives
each image its own InceptionV3 (the paper's third design, described but not tested there).
Inputs are single-channel ROIs in [0, 1]; the model itself repeats grey to 3 channels and applies
InceptionV3's input scaling ([-1, 1]), so data code never needs to know the backbone.
"include_top=False" with global average pooling is our reading of "we trim several uppermost
layers of each InceptionV3" (2048-D per view, 4096-D per mode).

This module builds the model; the package also holds :mod:`~d2tl.model.wiring` (which backbone
sees which image), :mod:`~d2tl.model.graph` (what makes a compiled graph),
:mod:`~d2tl.model.stub` (the test backbone), :mod:`~d2tl.model.weights` (weights sources),
:mod:`~d2tl.model.precise_bn` and :mod:`~d2tl.model.flops`.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import layers

from ..io.errors import D2TLError
from ..protocol.views import IMAGES, MODES, VIEWS
from .stub import TEST_BACKBONE_ENV, stand_in_backbone, stub_backbone  # noqa: F401  (the test hook)
from .weights import Weights
from .wiring import ARCHITECTURES, backbone_count, backbone_names, backbone_of  # noqa: F401

TUNINGS = ("full", "semi")
FROZEN_BN = ("inference", "keras2")  # how a frozen backbone's BatchNormalization behaves in fit
HEAD_LAYERS = ("abstraction_le", "abstraction_rec", "output")  # trainable under semi-tune

@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture and its hyper-parameters.

    The paper gives neither dropout rates nor the activation of the 512-D abstraction layers;
    we use 0.5 (the usual rate before dense layers, as in InceptionV3's own auxiliary head)
    and ReLU.
    """

    architecture: str = "dual_mode"
    input_size: int = 256
    weights: str = "auto"  # imagenet | random | auto | path to a weights file of InceptionV3 (no top); d2tl.model.weights
    tuning: str = "full"
    feature_dropout: float = 0.5  # on each mode's 4096-D feature
    head_dropout: float = 0.5  # on the concatenated 1024-D abstraction
    dense_units: int = 512
    dense_activation: str = "relu"
    # Semi-tune only. inference (Keras 3): a frozen BN layer normalises with its moving statistics,
    # in fit too. keras2 (the paper's Keras 2): it normalises with batch statistics in fit, without
    # updating its moving statistics, and uses them at inference (see freeze_keras2).
    frozen_bn: str = "inference"

    def __post_init__(self):
        if self.frozen_bn not in FROZEN_BN:
            raise D2TLError(f"frozen_bn {self.frozen_bn!r} is not one of {', '.join(FROZEN_BN)}")
        if self.architecture not in ARCHITECTURES:
            raise D2TLError(f"architecture {self.architecture!r} is not one of {', '.join(ARCHITECTURES)}")
        if self.tuning not in TUNINGS:
            raise D2TLError(f"tuning {self.tuning!r} is not one of {', '.join(TUNINGS)}")
        if self.input_size < 75:
            raise D2TLError(f"input size {self.input_size} px is below InceptionV3's minimum of 75 px")
        for name in ("feature_dropout", "head_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise D2TLError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_backbone(input_size: int, weights: str | None, name: str) -> keras.Model:
    """InceptionV3 without its top, global-average pooled to 2048-D (or the test stand-in when
    ``D2TL_TEST_BACKBONE=stub``)."""
    if stand_in_backbone() == "stub":
        return stub_backbone(input_size, weights, name)
    try:
        return keras.applications.InceptionV3(include_top=False, weights=weights, pooling="avg",
                                              input_shape=(input_size, input_size, 3), name=name)
    except (ValueError, OSError) as exc:
        raise D2TLError(f"cannot load InceptionV3 weights from {weights}: {exc}") from None


def build_model(config: ModelConfig, weights: Weights) -> tuple[keras.Model, str]:
    """The model for ``config`` and the description of the weights source actually used (for
    provenance). ``weights``: ``config.weights`` resolved by the command
    (:func:`d2tl.training.run_folder.resolve_weights`)."""
    weights, source = weights.require().argument, weights.description
    s = config.input_size
    inputs = {key: keras.Input((s, s, 1), name=key) for key in IMAGES}
    to_rgb = layers.Concatenate(axis=-1, name="grey_to_rgb")
    to_inception_range = layers.Rescaling(2.0, offset=-1.0, name="inception_scaling")  # [0,1] -> [-1,1]

    wiring = backbone_of(config.architecture)
    backbones = {name: build_backbone(s, weights, name) for name in backbone_names(config.architecture)}
    frozen = config.tuning == "semi"
    keras2 = frozen and config.frozen_bn == "keras2"
    for backbone in backbones.values():
        if keras2:
            freeze_keras2(backbone)
        else:
            backbone.trainable = not frozen  # frozen BatchNormalization runs in inference mode in Keras 3

    features = {}
    for key in IMAGES:
        x = to_inception_range(to_rgb([inputs[key]] * 3))
        features[key] = backbones[wiring[key]](x, training=False if frozen and not keras2 else None)

    outputs = head(features, config)
    model = keras.Model(inputs=inputs, outputs=outputs, name=config.architecture)
    return model, source


def freeze_keras2(backbone: keras.Model) -> None:
    """Freeze ``backbone`` as Keras 2's ``trainable=False`` did: no weight is trained, but its
    BatchNormalization layers still normalise with batch statistics in ``fit``.

    Keras 3 runs a BN layer in batch-statistics mode when it is called with ``training=True`` and
    its ``trainable`` flag is set. So every layer is frozen, then each BN layer's flag is set again
    with its scale and offset variables kept out of training, and its momentum set to 1, so its
    moving statistics (m * 1 + batch * 0 = m, exactly) never change; inference uses them.
    """
    backbone.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = True
            for variable in layer.weights:
                variable.trainable = False
            layer.momentum = 1.0


def head(features: dict, config: ModelConfig):
    """The head on the four 2048-D backbone features: per mode concatenate, dropout, dense 512;
    then concatenate, dropout, dense 2 with softmax. The cached-feature semi-tune path
    (:mod:`d2tl.training.features`) builds the same layers on feature inputs."""
    abstractions = []
    for mode in MODES:
        x = layers.Concatenate(name=f"feature_{mode}")([features[f"{mode}_{view}"] for view in VIEWS])
        x = layers.Dropout(config.feature_dropout, name=f"dropout_{mode}")(x)
        abstractions.append(layers.Dense(config.dense_units, activation=config.dense_activation,
                                         name=f"abstraction_{mode}")(x))
    x = layers.Concatenate(name="abstraction")(abstractions)
    x = layers.Dropout(config.head_dropout, name="dropout_head")(x)
    # float32 even under a mixed dtype policy (d2tl.training.execution): a float16 softmax saturates.
    return layers.Dense(2, activation="softmax", name="output", dtype="float32")(x)


def parameter_counts(model: keras.Model) -> dict:
    """Total, trainable and non-trainable parameter counts."""
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    total = sum(math.prod(w.shape) for w in model.weights)
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}
