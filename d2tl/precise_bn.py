# SHIM (issue 16): moved to d2tl.model.precise_bn (its per-model cache: d2tl.training.engine.Engine.precise_bn); removed by the coordinator at merge
"""Old import path of :mod:`d2tl.model.precise_bn`."""

from .model.precise_bn import PreciseBN, trained_bn_layers  # noqa: F401


def precise_bn(model) -> PreciseBN:
    """The :class:`PreciseBN` of ``model`` (a new one; engines keep theirs)."""
    return PreciseBN(model)
