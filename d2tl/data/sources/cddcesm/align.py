"""Low energy into the subtracted image's frame: the translation from the skin lines, and the moved image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ....io.atomic import atomic_path
from .options import ALIGN_FACTOR


def _skin_edges(image: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Skin-line edge pixels (bool) of ``image``: (every ``factor``-th px, full resolution).

    Breast = above the air/breast threshold (:func:`d2tl.data.breast.breast_threshold`),
    largest connected part, holes filled (on the coarse image); its boundary, less the pixels on the image border (the chest wall and crop
    edges). At full resolution the same threshold's boundary is kept only near the coarse
    skin line (so the edges of holes inside the breast do not count).
    """
    from scipy import ndimage as ndi

    from ...breast import breast_threshold

    small = image[::factor, ::factor].astype(np.float32)
    empty = np.zeros(small.shape, bool), np.zeros(image.shape, bool)
    if small.size == 0 or float(small.max()) <= float(small.min()):
        return empty
    threshold = breast_threshold(small)
    labels, n = ndi.label(small > threshold)
    if n == 0:
        return empty
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = ndi.binary_fill_holes(labels == int(np.argmax(sizes)))
    coarse = mask & ~ndi.binary_erosion(mask)
    coarse[:2, :] = coarse[-2:, :] = False
    coarse[:, :2] = coarse[:, -2:] = False
    band = ndi.binary_dilation(coarse, iterations=2)
    band = np.repeat(np.repeat(band, factor, axis=0), factor, axis=1)[: image.shape[0], : image.shape[1]]
    full = image > threshold
    full = full & ~ndi.binary_erosion(full) & band
    full[:2, :] = full[-2:, :] = False
    full[:, :2] = full[:, -2:] = False
    return coarse, full


def estimate_offset(cm: np.ndarray, dm: np.ndarray, factor: int = ALIGN_FACTOR) -> tuple[int, int, float]:
    """Translation (dx, dy) with DM pixel (x + dx, y + dy) showing what CM pixel (x, y) shows.

    Phase correlation of blurred skin-line edges at 1/``factor`` resolution, then a search of
    +-``factor`` px at full resolution for the shift that lands most DM edge pixels on (or next
    to) CM edge pixels. Returns (dx, dy, score), score = the share of the DM edge pixels that
    land inside the CM image within 1 px of a CM edge pixel (1 = the skin lines agree; 0 = no
    skin line found).
    """
    from scipy import ndimage as ndi
    from skimage.registration import phase_cross_correlation

    (a, exact), (b, dm_full) = _skin_edges(cm, factor), _skin_edges(dm, factor)
    if not a.any() or not b.any():
        return 0, 0, 0.0
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    pa, pb = np.zeros(shape), np.zeros(shape)
    pa[: a.shape[0], : a.shape[1]] = ndi.gaussian_filter(a.astype(float), 1.5)
    pb[: b.shape[0], : b.shape[1]] = ndi.gaussian_filter(b.astype(float), 1.5)
    shift = phase_cross_correlation(pa, pb, normalization=None)[0]
    cy, cx = -int(round(shift[0] * factor)), -int(round(shift[1] * factor))  # dm = cm + (cx, cy)

    near = ndi.binary_dilation(exact, iterations=1)
    ey, ex = np.nonzero(dm_full)
    if len(ey) == 0:
        return cx, cy, 0.0
    best = (-1.0, 0.0, cx, cy)  # (exact + near hits, near share, dx, dy)
    for dy in range(cy - factor, cy + factor + 1):
        for dx in range(cx - factor, cx + factor + 1):
            y, x = ey - dy, ex - dx  # DM edge pixels in CM coordinates
            inside = (y >= 0) & (y < exact.shape[0]) & (x >= 0) & (x < exact.shape[1])
            if not inside.any():
                continue
            hits_near = float(near[y[inside], x[inside]].sum())
            hits = hits_near + float(exact[y[inside], x[inside]].sum())
            if hits > best[0]:
                best = (hits, hits_near / int(inside.sum()), dx, dy)
    return best[2], best[3], max(best[1], 0.0)


def move_into_frame(dm: np.ndarray, shape: tuple[int, int], dx: int, dy: int) -> np.ndarray:
    """DM image resampled into a frame of ``shape``: out[y, x] = dm[y + dy, x + dx] (0 outside)."""
    out = np.zeros(shape, dtype=dm.dtype)
    y0, y1 = max(0, -dy), min(shape[0], dm.shape[0] - dy)
    x0, x1 = max(0, -dx), min(shape[1], dm.shape[1] - dx)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = dm[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    return out


def _save_png(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
