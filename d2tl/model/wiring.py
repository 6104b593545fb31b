"""Which backbone sees which image, per architecture: the one table every caller derives from.

``dual_mode``: one backbone per mode (both views through it); ``simple_pooling``: one backbone
for all four images; ``separate``: one backbone per image. Used by the model build
(:func:`d2tl.model.build_model`), the cached-feature path (:mod:`d2tl.training.features`) and
the time estimates (:func:`backbone_count`).
"""

from __future__ import annotations

from ..protocol.views import IMAGES

ARCHITECTURES = ("dual_mode", "simple_pooling", "separate")


def backbone_of(architecture: str) -> dict:
    """Image key -> name of the backbone layer that sees it."""
    if architecture == "dual_mode":
        return {key: f"backbone_{key.split('_')[0]}" for key in IMAGES}
    if architecture == "simple_pooling":
        return {key: "backbone" for key in IMAGES}
    if architecture == "separate":
        return {key: f"backbone_{key}" for key in IMAGES}
    raise ValueError(f"architecture {architecture!r} is not one of {', '.join(ARCHITECTURES)}")


def backbone_names(architecture: str) -> list:
    """The architecture's distinct backbones, in the order they are built."""
    return list(dict.fromkeys(backbone_of(architecture).values()))


def backbone_count(architecture: str) -> int:
    """How many backbones (InceptionV3s) the architecture has: 2, 1 or 4."""
    return len(backbone_names(architecture))
