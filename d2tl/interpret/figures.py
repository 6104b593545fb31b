"""The interpretation figures: Fig. 11 (class representations, eq. 1) and the layout of Figs.
12/13 (a patient's four ROIs above their pixel-influence or Grad-CAM maps, lesion outlined).

Fig. 11 shows all eight images on one grey window (the 0.5th to 99.5th percentile of their
pixels), so the two classes can be compared; each ROI of Figs. 12/13 has its own grey window,
and the four maps of a patient share one colour scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..io.atomic import atomic_path
from ..protocol.views import IMAGES, LABELS, image_title

if TYPE_CHECKING:  # annotations only
    from .explanation import Explanation
    from .inputs import CaseInputs
    from .representation import Representation


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    _plt().close(fig)
    return out


def _influence_cmap():
    """Black to blue to pale blue: "a brighter blue colour signifies higher influence" (Sec. 4.5)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("influence_blue", ["#000000", "#0b3aa8", "#2f7bff", "#dff0ff"])


def plot_representations(rep: Representation, out, title: str | None = None, dpi: int = 110) -> Path:
    """Fig. 11: one row per target (benign, malignant), the four images on [0, 1] grey."""
    plt = _plt()
    final = rep.final()
    pixels = np.concatenate([rep.images[k].ravel() for k in IMAGES])
    lo, hi = (float(v) for v in np.percentile(pixels, (0.5, 99.5)))
    lo, hi = (lo, hi) if hi - lo > 1e-6 else (0.0, 1.0)
    fig, axes = plt.subplots(len(rep.targets), len(IMAGES), figsize=(2.6 * len(IMAGES), 2.8 * len(rep.targets) + 0.4),
                             squeeze=False, layout="constrained", dpi=dpi)
    for r, target in enumerate(rep.targets):
        name = LABELS[int(round(target))] if target in (0.0, 1.0) else f"y={target:g}"
        for c, key in enumerate(IMAGES):
            ax = axes[r, c]
            ax.imshow(rep.images[key][r], cmap="gray", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(image_title(key), fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{name}\nf = {final['score'][r]:.3f}", fontsize=10)
    cfg = rep.config
    fig.suptitle(title or (f"Class representations, eq. (1): lambda {cfg.lam:g}, {cfg.steps} {cfg.optimizer} steps "
                           f"of {cfg.step_size:g}, start {cfg.start}, {cfg.parametrisation}; "
                           f"grey window {lo:.3f} to {hi:.3f} for all"), fontsize=10)
    return _save(fig, out)


def roi_window(image: np.ndarray, percentiles=(0.5, 99.5)) -> tuple[float, float]:
    """Display range of one ROI: its own percentiles. Recombined ROIs, normalised over the whole
    image (air to breast), often span only a few hundredths of [0, 1]; on a fixed [0, 1] scale
    they would look flat."""
    lo, hi = (float(v) for v in np.percentile(image, percentiles))
    return (lo, hi) if hi - lo > 1e-6 else (0.0, 1.0)


def plot_maps(case: CaseInputs, maps: dict, out, kind: str = "influence", score: float | None = None,
              detail: str = "", dpi: int = 110) -> Path:
    """Figs. 12/13 layout: the four ROIs (top) and their maps (bottom), the lesion outlined in red.

    ``kind="influence"``: |w| as a colour map on one scale for the four images; ``"gradcam"``:
    the map over the ROI, on one scale for the four images.
    """
    plt = _plt()
    fig, axes = plt.subplots(2, len(IMAGES), figsize=(2.6 * len(IMAGES), 5.8), squeeze=False,
                             layout="constrained", dpi=dpi)
    vmax = max(float(np.max(maps[k])) for k in IMAGES) or 1.0
    im = None
    for c, key in enumerate(IMAGES):
        image, heat = case.images[key], maps[key]
        top, bottom = axes[0, c], axes[1, c]
        lo, hi = roi_window(image)
        top.imshow(image, cmap="gray", vmin=lo, vmax=hi)
        top.set_title(image_title(key), fontsize=10)
        if kind == "gradcam":
            bottom.imshow(image, cmap="gray", vmin=lo, vmax=hi)
            im = bottom.imshow(heat, cmap="jet", vmin=0.0, vmax=vmax, alpha=0.45)
        else:
            im = bottom.imshow(heat, cmap=_influence_cmap(), vmin=0.0, vmax=vmax)
        for ax in (top, bottom):
            if case.masks is not None and case.masks[key].max() > 0.5:
                ax.contour(case.masks[key], levels=[0.5], colors="red", linewidths=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("ROI (own grey window)", fontsize=10)
    axes[1, 0].set_ylabel("|df/dX|, eq. (2)" if kind == "influence" else f"Grad-CAM {detail}".strip(), fontsize=10)
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="one scale for the four images")
    p = "" if score is None else f", malignant score f = {score:.3f}"
    if case.masks is not None and all(case.masks[k].min() > 0.5 for k in IMAGES):
        p += "; the lesion covers every ROI"
    what = "pixel influence |w| = |df/dX|" if kind == "influence" else f"Grad-CAM ({detail})" if detail else "Grad-CAM"
    fig.suptitle(f"patient {case.case_id} ({case.label}{p}): {what}; lesion outline red", fontsize=10)
    return _save(fig, out)


def write_case_figures(expl: Explanation, i: int, out_dir, prefix: str = "", dpi: int = 110) -> list[Path]:
    """The influence figure and one Grad-CAM figure per layer for case ``i``."""
    case, maps = expl.case(i)
    out_dir = Path(out_dir)
    name = f"{prefix}{case.label}_{case.case_id}"
    paths = [plot_maps(case, maps["influence"], out_dir / f"influence_{name}.png", "influence", expl.scores[i],
                       dpi=dpi)]
    for layer in expl.gradcam:
        h, w = expl.feature_shapes[layer][IMAGES[0]]
        paths.append(plot_maps(case, maps[f"gradcam_{layer}"], out_dir / f"gradcam_{layer}_{name}.png", "gradcam",
                               expl.scores[i], detail=f"{layer}, {h}x{w} feature map", dpi=dpi))
    return paths
