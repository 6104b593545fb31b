"""The pre-trained weights sources, registered in the weights registry
(:data:`d2tl.model.weights.SOURCES`): ``fractal`` / ``fractal:SCALE`` (formula images) and
``synthetic`` (synthetic CEDM ROIs), each resolved to its store file by recipe hash, and a file
given by path recognised by its sidecar (:mod:`d2tl.pretrain.store`). Imported by
:mod:`d2tl.training.run_folder`, through which every command resolves its weights.
"""

from __future__ import annotations

from ..model.weights import Weights, file_digest, register
from . import store


def _fractal(spec: str, expected_md5: str, warn: bool) -> Weights:
    return Weights("fractal", *store.resolve_fractal(spec, file_digest))


def _synthetic(spec: str, expected_md5: str, warn: bool) -> Weights:
    return Weights("synthetic", *store.resolve_synthetic(spec, file_digest))


register("fractal", _fractal, argument=True, recognise=store.recognise)
register("synthetic", _synthetic, argument=True)
