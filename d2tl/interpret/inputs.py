"""A trained model's inputs for interpretation: the four ROIs of a case, cut exactly as for
training, and its lesion masks put through the very same cut and resize.

A model saved by ``d2tl train`` has the inputs ``le_cc``, ``le_mlo``, ``rec_cc``, ``rec_mlo``,
each (s, s, 1) in [0, 1], and the output ``output``, a 2-class softmax whose index 1 is
malignant. Each mask pixel becomes the lesion fraction m in [0, 1] of its ROI pixel, which the
inside-lesion check (:mod:`d2tl.interpret.lesion_check`) weighs the maps with.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..data.images import load_view
from ..data.roi import RoiConfig, box_side_px, cut_box, extract_case, resize_square
from ..io.errors import D2TLError, DataError
from ..protocol.views import IMAGES, LABELS, MODES, VIEWS

MALIGNANT = LABELS.index("malignant")


def as_batch(images: dict) -> dict[str, np.ndarray]:
    """Four images as model input: each (n, s, s, 1) float32; accepts (s, s), (s, s, 1), (n, s, s)
    or (n, s, s, 1) arrays."""
    missing = [k for k in IMAGES if k not in images]
    if missing:
        raise D2TLError(f"images lack {', '.join(missing)} (need {', '.join(IMAGES)})")
    out = {}
    for key in IMAGES:
        a = np.asarray(images[key], dtype=np.float32)
        if a.ndim == 2:  # (s, s)
            a = a[None, :, :, None]
        elif a.ndim == 3:  # (s, s, 1) or (n, s, s)
            a = a[None] if a.shape[-1] == 1 and a.shape[0] == a.shape[1] else a[..., None]
        if a.ndim != 4 or a.shape[-1] != 1:
            raise D2TLError(f"image {key}: expected (n, s, s, 1), got {np.shape(images[key])}")
        out[key] = a
    return out


def input_shapes(model) -> dict[str, tuple]:
    """{input name: shape without the batch axis} of a model with d2tl's four named inputs."""
    shapes = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    missing = [k for k in IMAGES if k not in shapes]
    if missing:
        raise D2TLError(f"the model has no input {', '.join(missing)} (inputs: {', '.join(shapes)})")
    return shapes


@dataclasses.dataclass
class CaseInputs:
    """One case's four ROIs (s, s) and, where the table has masks, each ROI's lesion fraction."""

    case_id: str
    label: str
    images: dict[str, np.ndarray]
    masks: dict[str, np.ndarray] | None


def roi_mask(mask: np.ndarray, centre_xy, side: int, input_size: int) -> np.ndarray:
    """A full-image lesion mask cut and resized exactly as the ROI is: each ROI pixel's lesion
    fraction in [0, 1] (bilinear, anti-aliased when shrinking, as :func:`d2tl.data.roi.resize_square`)."""
    box = cut_box(mask.astype(np.float32), centre_xy, side)
    return np.clip(resize_square(box, input_size), 0.0, 1.0)


def case_inputs(row, config: RoiConfig, with_masks: bool = True) -> CaseInputs:
    """The ROIs of one case-table row (by :func:`d2tl.data.roi.extract_case`, so identical to
    the model's inputs) and its lesion masks in ROI coordinates (same box, same resize)."""
    images = extract_case(row, config)
    masks = None
    if with_masks:
        masks = {}
        for view in VIEWS:
            v = load_view(row, view, recombine_weight=config.recombine_weight, with_mask=True)
            if v.mask is None:
                masks = None
                break
            m = roi_mask(v.mask, v.centre, box_side_px(config, v.scale), config.input_size)
            for mode in MODES:
                masks[f"{mode}_{view}"] = m
    return CaseInputs(case_id=str(row["id"]), label=str(row["label"]), images=images, masks=masks)


def stack_cases(cases: list[CaseInputs]) -> dict[str, np.ndarray]:
    """Model input (n, s, s, 1) of several cases."""
    return {key: np.stack([c.images[key] for c in cases])[..., None].astype(np.float32) for key in IMAGES}


def roi_config_for(info: dict):
    """The model's ROI settings from its sidecar (:func:`d2tl.training.predict.roi_config_from`), and for
    sidecars written before ``RoiConfig.normalise_on`` existed, the normalisation those models
    were trained with (whole image) rather than today's default."""
    from ..training.predict import roi_config_from

    config = roi_config_from(info)
    names = {f.name for f in dataclasses.fields(config)}
    if "normalise_on" in names and "normalise_on" not in info["config"]["roi"]:
        config = dataclasses.replace(config, normalise_on="image")
    return config


def rows_by_id(table: pd.DataFrame, ids) -> list:
    """The case-table rows of ``ids``, in that order; an unknown id is an error naming it."""
    known = list(table["id"].astype(str))
    rows = []
    for cid in ids:
        if str(cid) not in known:
            raise DataError(f"patient {cid} is not in the case table (ids: {', '.join(known[:8])}"
                            f"{', ...' if len(known) > 8 else ''})")
        rows.append(table.iloc[known.index(str(cid))])
    return rows
