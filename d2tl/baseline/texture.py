"""The four texture families of one segmented lesion: GLCM, Haralick, LBP, Gabor.

Each function works on the "segmented lesion" canvas that :func:`d2tl.baseline.features.image_features`
builds (the mask's bounding box plus a margin, pixels outside the mask carrying no image value);
:mod:`d2tl.baseline.features` documents every choice. ``config`` is a
:class:`d2tl.baseline.features.FeatureConfig`.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.signal import fftconvolve

GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation", "mean",
              "variance", "std", "entropy")
GLCM_EXTRA = ("cluster_shade", "cluster_prominence", "max_probability")
HARALICK_NAMES = ("asm", "contrast", "correlation", "variance", "idm", "sum_average", "sum_variance",
                  "sum_entropy", "entropy", "difference_variance", "difference_entropy", "imc1", "imc2")
MAHOTAS_ANGLES = (0, 45, 90, 135)  # mahotas' four 2-D directions, in its order
LBP_BINS = {"default": lambda p: 2 ** p, "ror": lambda p: 2 ** p, "uniform": lambda p: p + 2,
            "nri_uniform": lambda p: p * (p - 1) + 3}  # skimage methods giving integer codes


def _canvas(mask: np.ndarray, margin: int) -> tuple[tuple[slice, slice], tuple[slice, slice], tuple[int, int]]:
    """Bounding box of ``mask`` (slices into the image) and where it sits in a canvas with ``margin``."""
    rows, cols = np.nonzero(mask)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    inner = (slice(margin, margin + h), slice(margin, margin + w))
    return box, inner, (h + 2 * margin, w + 2 * margin)


def quantise(values: np.ndarray, levels: int) -> np.ndarray:
    """Map values to integer levels 1..``levels`` by equal bins over their own [min, max]."""
    values = np.asarray(values, dtype=np.float64)
    lo, hi = values.min(), values.max()
    if hi <= lo:
        return np.ones(values.shape, dtype=np.uint8)
    q = np.floor((values - lo) / (hi - lo) * levels).astype(int) + 1
    return np.clip(q, 1, levels).astype(np.uint8)


def glcm_features(levels_img: np.ndarray, config: FeatureConfig) -> dict:
    """skimage GLCM properties of a canvas whose lesion pixels are levels 1..L and others 0."""
    from skimage.feature import graycomatrix, graycoprops

    angles = np.deg2rad(np.asarray(config.glcm_angles, dtype=float))
    glcm = graycomatrix(levels_img, list(config.glcm_distances), angles, levels=config.glcm_levels + 1,
                        symmetric=config.glcm_symmetric, normed=False)
    glcm = glcm[1:, 1:].astype(np.float64)  # drop pairs involving a pixel outside the mask
    totals = glcm.sum(axis=(0, 1))
    empty = totals == 0
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = {prop: graycoprops(glcm, prop) for prop in GLCM_PROPS}
        p = glcm / np.where(empty, 1, totals)
        i, j = np.ogrid[:glcm.shape[0], :glcm.shape[1]]
        mu_i = (p * i[..., None, None]).sum(axis=(0, 1))
        mu_j = (p * j[..., None, None]).sum(axis=(0, 1))
        centred = (i[..., None, None] + j[..., None, None]) - mu_i - mu_j
        values["cluster_shade"] = (centred ** 3 * p).sum(axis=(0, 1))
        values["cluster_prominence"] = (centred ** 4 * p).sum(axis=(0, 1))
        values["max_probability"] = p.max(axis=(0, 1))
    for prop, array in values.items():
        array = np.where(empty, np.nan, array)
        for di, d in enumerate(config.glcm_distances):
            for ai, a in enumerate(config.glcm_angles):
                out[f"glcm_{prop.lower()}_d{d}_a{a}"] = float(array[di, ai])
    return out


def haralick_features(levels_img: np.ndarray) -> dict:
    """mahotas' 13 Haralick features per direction (defaults; ``ignore_zeros`` drops level 0)."""
    import mahotas.features

    out = {}
    for k, angle in enumerate(MAHOTAS_ANGLES):
        out.update({f"haralick_{name}_a{angle}": np.nan for name in HARALICK_NAMES})
    try:
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            table = mahotas.features.haralick(levels_img.astype(np.intc), ignore_zeros=True)
    except ValueError:
        # one direction without a pair of lesion pixels: compute direction by direction
        table = np.full((4, len(HARALICK_NAMES)), np.nan)
        from mahotas.features.texture import cooccurence, haralick_features as from_matrices

        f = levels_img.astype(np.intc)
        for k in range(4):
            cmat = np.zeros((int(f.max()) + 1,) * 2, np.int32)
            cooccurence(f, k, cmat, symmetric=True)
            try:
                with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    table[k] = from_matrices([cmat], ignore_zeros=True)[0]
            except ValueError:
                continue
    for k, angle in enumerate(MAHOTAS_ANGLES):
        for n, name in enumerate(HARALICK_NAMES):
            out[f"haralick_{name}_a{angle}"] = float(table[k, n])
    return out


def _integer_lesion(values: np.ndarray) -> np.ndarray:
    """Rank-preserving integer version of the lesion values (0..65534), for LBP."""
    values = np.asarray(values, dtype=np.float64)
    lo, hi = values.min(), values.max()
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.float64)
    return np.round((values - lo) / (hi - lo) * 65534.0)


def lbp_features(canvas: np.ndarray, mask: np.ndarray, config: FeatureConfig) -> dict:
    """LBP code histograms inside ``mask`` (skimage and mahotas); ``canvas`` holds integers."""
    from skimage.feature import local_binary_pattern

    out = {}
    n = mask.sum()
    image = canvas.astype(np.uint16)
    for points, radius in config.lbp_skimage:
        codes = local_binary_pattern(image, points, radius, method=config.lbp_method)[mask].astype(int)
        bins = LBP_BINS[config.lbp_method](points)
        hist = np.bincount(codes, minlength=bins)[:bins] / n
        out.update({f"lbp_p{points}_r{radius:g}_b{b}": float(v) for b, v in enumerate(hist)})
    for radius, points in config.lbp_mahotas:
        from mahotas.features import _lbp
        from mahotas.features.lbp import lbp_transform

        codes = lbp_transform(image.astype(np.float64), radius, points)[mask]
        identity = np.arange(2 ** points, dtype=np.uint32)
        pivots = np.flatnonzero(_lbp.map(identity.copy(), points) == identity)  # mahotas' bins
        hist = np.bincount(codes.astype(np.int64), minlength=2 ** points)[pivots] / n
        out.update({f"mhlbp_p{points}_r{radius:g}_b{b}": float(v) for b, v in enumerate(hist)})
    return out


def gabor_features(standardised: np.ndarray, mask: np.ndarray, config: FeatureConfig) -> dict:
    """Mean and SD of each bank filter's response magnitude inside ``mask``."""
    out = {}
    for frequency, orientation, kernel in config.gabor_bank():
        response = np.abs(fftconvolve(standardised, kernel, mode="same"))[mask]
        key = f"gabor_f{frequency:g}_o{orientation}"
        out[f"{key}_mean"] = float(response.mean())
        out[f"{key}_std"] = float(response.std())
    return out
