"""Explanations of a batch of cases: eq. (2)'s pixel influence and Grad-CAM at chosen backbone
layers, computed together in batches, with the scores checked to agree between the two."""

from __future__ import annotations

import dataclasses

import numpy as np

from .gradcam import GRADCAM_LAYER, grad_cam, gradcam_model
from .influence import pixel_influence
from .inputs import CaseInputs, stack_cases
from ..io.errors import D2TLError
from ..protocol.views import IMAGES


@dataclasses.dataclass
class Explanation:
    """Maps of a batch of cases: influence |w| and Grad-CAM per layer, scores, feature sizes."""

    cases: list[CaseInputs]
    scores: np.ndarray
    influence: dict  # key -> (n, s, s) |w|
    signed: dict  # key -> (n, s, s) w
    gradcam: dict  # layer -> key -> (n, s, s)
    feature_shapes: dict  # layer -> key -> (h, w)

    def methods(self) -> dict:
        return {"influence": self.influence, **{f"gradcam_{layer}": m for layer, m in self.gradcam.items()}}

    def case(self, i: int) -> tuple[CaseInputs, dict]:
        return self.cases[i], {name: {k: m[k][i] for k in IMAGES} for name, m in self.methods().items()}


def explain(model, cases: list[CaseInputs], layers=(GRADCAM_LAYER,), batch_size: int = 16,
            cam_models: dict | None = None) -> Explanation:
    """Influence and Grad-CAM maps of ``cases``, in batches."""
    if not cases:
        raise D2TLError("no cases to explain")
    cam_models = {} if cam_models is None else cam_models
    for layer in layers:
        if layer not in cam_models:
            cam_models[layer] = gradcam_model(model, layer)
    signed = {k: [] for k in IMAGES}
    cams = {layer: {k: [] for k in IMAGES} for layer in layers}
    shapes, scores = {}, []
    for start in range(0, len(cases), batch_size):
        x = stack_cases(cases[start:start + batch_size])
        w, s = pixel_influence(model, x)
        scores.append(s)
        for k in IMAGES:
            signed[k].append(w[k])
        for layer in layers:
            maps, s_cam, shapes[layer] = grad_cam(cam_models[layer], x)
            if not np.allclose(s_cam, s, atol=1e-4):
                raise D2TLError(f"Grad-CAM model ({layer}) scores differ from the model's")
            for k in IMAGES:
                cams[layer][k].append(maps[k])
    signed = {k: np.concatenate(v) for k, v in signed.items()}
    return Explanation(cases=cases, scores=np.concatenate(scores), signed=signed,
                       influence={k: np.abs(v) for k, v in signed.items()},
                       gradcam={layer: {k: np.concatenate(v) for k, v in m.items()} for layer, m in cams.items()},
                       feature_shapes=shapes)


def merge(a: Explanation, b: Explanation) -> Explanation:
    """The explanations of ``a``'s cases followed by ``b``'s (same layers)."""
    cat = lambda x, y: {k: np.concatenate([x[k], y[k]]) for k in x}  # noqa: E731
    return Explanation(cases=a.cases + b.cases, scores=np.concatenate([a.scores, b.scores]),
                       influence=cat(a.influence, b.influence), signed=cat(a.signed, b.signed),
                       gradcam={layer: cat(a.gradcam[layer], b.gradcam[layer]) for layer in a.gradcam},
                       feature_shapes=a.feature_shapes)
