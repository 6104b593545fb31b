"""Where the breast is on a low-energy image: the air/breast threshold and the box-centre test.

Shared by check-data (a box centre must lie in the breast), image reading (ROI filling) and the
CDD-CESM adapter (skin-line registration).
"""

from __future__ import annotations

import numpy as np


def breast_threshold(image: np.ndarray) -> float:
    """A grey level between the background air and the breast.

    The smaller of Otsu's threshold on the intensities and Otsu's threshold on their
    logarithm (after mapping the image's range to 0..1000). On a low-energy mammogram plain
    Otsu often splits fatty from dense tissue instead of air from tissue; on the log scale the
    tissue range is compressed and the split falls between air and fat.
    """
    from skimage.filters import threshold_otsu

    sample = np.asarray(image[:: max(1, image.shape[0] // 512), :: max(1, image.shape[1] // 512)], np.float64)
    lo, hi = float(sample.min()), float(sample.max())
    if hi <= lo:
        return hi
    linear = float(threshold_otsu(sample))
    scaled = np.log1p((sample - lo) * (1000.0 / (hi - lo)))
    logarithmic = lo + float(np.expm1(threshold_otsu(scaled))) * (hi - lo) / 1000.0
    return min(linear, logarithmic)


def in_breast(le: np.ndarray, x: float, y: float, radius: float) -> tuple[bool, float, float]:
    """Whether the breast reaches within ``radius`` px of (x, y) on the LE image.

    Breast = pixels above :func:`breast_threshold`, opened with a 3x3 square so that lone
    noisy air pixels (the threshold's histogram bin may reach into the air's range) do not
    count. Returns (inside, threshold, value at the centre).
    """
    from scipy import ndimage as ndi

    threshold = breast_threshold(le)
    r = max(1, int(round(radius)))
    cx, cy = int(round(x)), int(round(y))
    pad = r + 2
    y0, y1 = max(0, cy - pad), min(le.shape[0], cy + pad + 1)
    x0, x1 = max(0, cx - pad), min(le.shape[1], cx + pad + 1)
    tissue = ndi.binary_opening(le[y0:y1, x0:x1] > threshold, structure=np.ones((3, 3), bool))
    yy, xx = np.mgrid[y0:y1, x0:x1]
    near = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    value = float(le[min(max(cy, 0), le.shape[0] - 1), min(max(cx, 0), le.shape[1] - 1)])
    return bool(tissue[near].any()), threshold, value
