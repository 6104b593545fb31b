"""Texture and shape features of each case's segmented lesion (Sec. 4.6), computed once and cached.

The paper extracts GLCM, LBP and Gabor texture features "from the segmented tumor" with
scikit-image and mahotas "with a default setting", plus four shape features. A case has one
lesion mask per view, drawn on the recombined image; the LE image of that view is co-registered,
so the same mask serves it. Features therefore come from all four images (``le_cc``,
``le_mlo``, ``rec_cc``, ``rec_mlo``) and the two masks, named ``<image>_<family>_<feature>``,
e.g. ``rec_cc_glcm_contrast_d1_a0``, and ``<view>_shape_<feature>`` for the outline.

Exclusion of pixels outside the mask (our choice, tested)
    Every texture feature depends on the pixels inside the mask only: the image is reduced to a
    "segmented lesion" canvas, the bounding box of the mask plus a margin, in which pixels
    outside the mask carry no image value (level 0 for co-occurrence matrices; a constant
    equal to the lesion's mean for the filters, so no artificial edge appears at the outline).
    Changing any pixel outside the mask leaves every feature unchanged; the margin is wide
    enough for the largest filter, so the crop is exact.

GLCM (scikit-image ``graycomatrix`` / ``graycoprops``)
    Grey-level quantisation (must be chosen: the images are 12-16 bit): the lesion's own range
    ``[min, max]`` inside the mask is cut into ``glcm_levels`` (default 32) equal bins mapped to
    levels 1..L (fixed bin number relative to the ROI, as IBSI calls it); pixels outside the mask
    get level 0, and row and column 0 of every co-occurrence matrix are dropped, so only pairs of
    two lesion pixels are counted. Distances ``glcm_distances`` (default 1, 2, 4 px) and angles
    0, 45, 90, 135 degrees (skimage convention: angle 90 pairs a pixel with the one below it).
    ``symmetric`` and ``normed`` at skimage's defaults (False; graycoprops normalises each
    matrix itself). Properties: all ten of ``graycoprops`` (contrast, dissimilarity,
    homogeneity, ASM, energy, correlation, mean, variance, std, entropy -- skimage's entropy is
    in nats) plus cluster shade, cluster prominence and maximum probability computed from the
    same matrix. A distance/angle with no pair of lesion pixels gives NaN (imputed later).

Haralick (mahotas ``features.haralick``)
    mahotas' defaults: distance 1, the four directions (0, 45, 90, 135 degrees, same order as
    above), 13 features, symmetric co-occurrence (mahotas always counts both directions), log2
    entropies, and grey levels taken as the integer values given (no quantisation of its own).
    It is given the same quantised canvas with ``ignore_zeros=True``, which drops row and column
    0, i.e. the pixels outside the mask.

LBP
    scikit-image ``local_binary_pattern`` with ``method="uniform"`` (rotation-invariant uniform
    patterns, P + 2 codes; the library's default ``"default"`` gives 2**P sparse codes, too many
    for 96 cases) at (P, R) = (8, 1) and (16, 2); and mahotas ``features.lbp_transform`` (its
    only variant: rotation-invariant codes, 36 for 8 points) at radius 1, 8 points. Each is a
    histogram of the codes of the pixels inside the mask, as fractions. The lesion is first
    rank-preserving quantised to integers (LBP only compares neighbours, so this changes
    nothing but avoids skimage's floating-point warning).

Gabor bank (scikit-image ``gabor_kernel``, library defaults bandwidth 1 and n_stds 3)
    Frequencies 0.05, 0.1, 0.2, 0.4 cycles/px x orientations 0, 45, 90, 135 degrees = 16
    filters. The lesion is standardised inside the mask (zero mean, unit SD; outside 0) so the
    features describe texture, not the vendor-dependent intensity scale; each filter's complex
    response is convolved on the canvas (FFT; identical to ``skimage.filters.gabor`` at every
    mask pixel, since the margin exceeds the kernel's half-width), and the mean and SD of the
    response magnitude inside the mask are kept: 32 features per image.

Shape (:mod:`d2tl.baseline.shape`)
    compactness, ratio of minimum to maximum radial length, radial-length entropy, bending
    energy of each view's mask outline.

Caching: :func:`extract_features` keys each case by its image and mask files (path, size,
modification time), laterality, the mask perturbation, the recombination weight and the
feature settings (plus :data:`FEATURES_VERSION`), one small JSON per case.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import write_text
from ..io.errors import DataError, where
from ..io.provenance import canonical_json
from ..protocol.views import IMAGES, VIEWS, split_key
from .shape import SHAPE_FEATURES, MaskPerturbation, ShapeConfig, shape_features
from .texture import (GLCM_EXTRA, GLCM_PROPS, HARALICK_NAMES, LBP_BINS, MAHOTAS_ANGLES,  # noqa: F401
                      _canvas, _integer_lesion, gabor_features, glcm_features, haralick_features,
                      lbp_features, quantise)

FEATURES_VERSION = 1  # bump whenever a change below alters any feature value (invalidates caches)


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Every setting that changes a feature value (the module docstring explains each)."""

    glcm_levels: int = 32
    glcm_distances: tuple[int, ...] = (1, 2, 4)
    glcm_angles: tuple[int, ...] = (0, 45, 90, 135)  # degrees
    glcm_symmetric: bool = False  # skimage's default
    lbp_skimage: tuple[tuple[int, float], ...] = ((8, 1.0), (16, 2.0))  # (P, R)
    lbp_method: str = "uniform"
    lbp_mahotas: tuple[tuple[float, int], ...] = ((1.0, 8),)  # (radius, points)
    gabor_frequencies: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)  # cycles per pixel
    gabor_orientations: tuple[int, ...] = (0, 45, 90, 135)  # degrees
    gabor_bandwidth: float = 1.0  # skimage's default
    shape: ShapeConfig = ShapeConfig()

    def __post_init__(self):
        if not 2 <= self.glcm_levels <= 255:
            raise ValueError(f"glcm_levels must be in 2..255, got {self.glcm_levels}")
        if not self.glcm_distances or min(self.glcm_distances) < 1:
            raise ValueError(f"glcm_distances must be positive integers, got {self.glcm_distances}")
        if self.lbp_method not in LBP_BINS:
            raise ValueError(f"unknown lbp_method {self.lbp_method!r}")
        if any(not 0 < f <= 0.5 for f in self.gabor_frequencies):
            raise ValueError(f"gabor_frequencies must lie in (0, 0.5], got {self.gabor_frequencies}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def gabor_bank(self) -> list[tuple[float, int, np.ndarray]]:
        """(frequency, orientation in degrees, complex kernel) for each filter of the bank."""
        from skimage.filters import gabor_kernel

        return [(f, o, np.asarray(gabor_kernel(f, theta=np.deg2rad(o), bandwidth=self.gabor_bandwidth)))
                for f in self.gabor_frequencies for o in self.gabor_orientations]

    def margin(self) -> int:
        """Canvas margin around the mask's bounding box: wider than every filter's reach."""
        gabor = max(max(k.shape) // 2 for _, _, k in self.gabor_bank())
        lbp = max([r for _, r in self.lbp_skimage] + [r for r, _ in self.lbp_mahotas] + [1])
        return int(max(gabor, np.ceil(lbp) + 1, max(self.glcm_distances))) + 2


# --- one image ----------------------------------------------------------------------------------

def check_mask(mask: np.ndarray | None, case_id=None, view=None) -> np.ndarray:
    """The mask as bool; a DataError naming the case and view when it is missing, empty or one pixel."""
    at = where(case_id, f"{view} mask" if view else None)
    if mask is None:
        raise DataError(f"{at}: no lesion mask (column {view}_mask_path is empty); the baseline "
                        "needs a segmented lesion per view")
    mask = np.asarray(mask, dtype=bool)
    count = int(mask.sum())
    if count == 0:
        raise DataError(f"{at}: the lesion mask is empty")
    if count == 1:
        raise DataError(f"{at}: the lesion mask is a single pixel; texture and shape need an outline")
    return mask


def image_features(image: np.ndarray, mask: np.ndarray, config: FeatureConfig = FeatureConfig(),
                   case_id=None, key=None) -> dict:
    """All texture features of one image inside ``mask`` (names without the image prefix)."""
    mask = check_mask(mask, case_id, split_key(key)[1] if key else None)
    image = np.asarray(image, dtype=np.float64)
    if image.shape != mask.shape:
        raise DataError(f"{where(case_id, key)}: image {image.shape} and mask {mask.shape} differ in size")
    margin = config.margin()
    box, inner, shape = _canvas(mask, margin)
    local_mask = np.zeros(shape, dtype=bool)
    local_mask[inner] = mask[box]
    values = image[box][mask[box]]
    if not np.isfinite(values).all():
        raise DataError(f"{where(case_id, key)}: non-finite pixel values inside the lesion mask")

    levels_img = np.zeros(shape, dtype=np.uint8)
    levels_img[local_mask] = quantise(values, config.glcm_levels)
    out = glcm_features(levels_img, config)
    out.update(haralick_features(levels_img))

    integers = _integer_lesion(values)
    lbp_canvas = np.full(shape, np.round(integers.mean()))
    lbp_canvas[local_mask] = integers
    out.update(lbp_features(lbp_canvas, local_mask, config))

    sd = values.std()
    standardised = np.zeros(shape)
    standardised[local_mask] = (values - values.mean()) / sd if sd > 0 else 0.0
    out.update(gabor_features(standardised, local_mask, config))
    return out


# --- one case -----------------------------------------------------------------------------------

def case_features(row, config: FeatureConfig = FeatureConfig(), perturbation: MaskPerturbation | None = None,
                  recombine_weight: float | None = None) -> dict:
    """Features of one case-table row: four images' textures and two masks' shapes, prefixed."""
    from ..data.images import DEFAULT_RECOMBINE_WEIGHT, load_view

    weight = DEFAULT_RECOMBINE_WEIGHT if recombine_weight is None else recombine_weight
    case_id = row["id"]
    out = {}
    for view in VIEWS:
        images = load_view(row, view, recombine_weight=weight)
        mask = check_mask(images.mask, case_id, view)
        if perturbation is not None:
            mask = check_mask(perturbation.apply(mask, case_id, view), case_id, view)
        for mode in ("le", "rec"):
            key = f"{mode}_{view}"
            feats = image_features(images.image(mode), mask, config, case_id=case_id, key=key)
            out.update({f"{key}_{name}": value for name, value in feats.items()})
        shape = shape_features(mask, config.shape)
        out.update({f"{view}_shape_{name}": float(shape[name]) for name in SHAPE_FEATURES})
    return {name: out[name] for name in _ordered(out)}


def _ordered(names) -> list[str]:
    """Feature names grouped: the four images in IMAGES order, then the shapes by view."""
    order = {key: k for k, key in enumerate(IMAGES)}
    order.update({f"{view}_shape": len(IMAGES) + k for k, view in enumerate(VIEWS)})
    names = list(names)

    def rank(name):
        for prefix, k in order.items():
            if name.startswith(prefix + "_"):
                return k
        return len(order)

    return sorted(names, key=lambda n: (rank(n), names.index(n)))


# --- cache and table ----------------------------------------------------------------------------

def _file_stamp(path: str) -> dict | None:
    if not path:
        return None
    st = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def case_cache_key(row, config: FeatureConfig, perturbation: MaskPerturbation | None,
                   recombine_weight: float | None) -> str:
    """Hash of everything a case's features depend on: files, orientation, settings, code version."""
    from ..data.cases import FILE_COLUMNS

    files = {}
    for column in FILE_COLUMNS:
        value = row.get(column, "") if hasattr(row, "get") else row[column]
        try:
            files[column] = _file_stamp(value) if isinstance(value, str) else None
        except OSError:
            files[column] = {"path": str(value), "missing": True}
    payload = {"version": FEATURES_VERSION, "id": str(row["id"]), "laterality": row["laterality"],
               "files": files, "config": config.to_dict(), "recombine_weight": recombine_weight,
               "perturbation": None if perturbation is None else perturbation.to_dict()}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:24]


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))[:60]


def _compute(args) -> tuple[dict, float]:
    row, config, perturbation, weight = args
    start = time.perf_counter()
    feats = case_features(row, config, perturbation, weight)
    return feats, time.perf_counter() - start


@dataclasses.dataclass
class FeatureTable:
    """Features (rows: cases in table order, index ``id``) and how they were obtained."""

    features: pd.DataFrame
    seconds: pd.Series  # extraction time per case (as first computed, also when read from cache)
    cached: pd.Series  # True where the case came from the cache this time
    wall_seconds: float


def extract_features(table: pd.DataFrame, config: FeatureConfig = FeatureConfig(), *,
                     cache_dir=None, jobs: int = 1, perturbation: MaskPerturbation | None = None,
                     recombine_weight: float | None = None, progress=None) -> FeatureTable:
    """Features of every case in ``table``, computed in ``jobs`` processes and cached per case.

    ``progress(done, total)`` is called as cases finish. A case whose key is in ``cache_dir``
    costs one small JSON read.
    """
    start = time.perf_counter()
    rows = [row for _, row in table.iterrows()]
    results, todo = _cached(rows, Path(cache_dir) if cache_dir is not None else None, config, perturbation,
                            recombine_weight)

    def store(k, path, feats, seconds):
        results[k] = (feats, seconds, False)
        if path is not None:
            write_text(path, json.dumps({"id": str(rows[k]["id"]), "seconds": seconds,
                                         "features_version": FEATURES_VERSION, "features": feats}))
        if progress is not None:
            progress(len(results), len(rows))

    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
            futures = [(k, path, pool.submit(_compute, (row, config, perturbation, recombine_weight)))
                       for k, row, path in todo]
            for k, path, future in futures:
                feats, seconds = future.result()
                store(k, path, feats, seconds)
    else:
        for k, row, path in todo:
            feats, seconds = _compute((row, config, perturbation, recombine_weight))
            store(k, path, feats, seconds)
    return _feature_table(rows, results, time.perf_counter() - start)


def _cached(rows: list, cache: Path | None, config: FeatureConfig, perturbation, recombine_weight):
    """({row number: (features, seconds, True)} read from ``cache``, [(row number, row, cache file)]
    still to compute); an unreadable cache entry is recomputed and overwritten."""
    results: dict[int, tuple[dict, float, bool]] = {}
    todo = []
    for k, row in enumerate(rows):
        key = case_cache_key(row, config, perturbation, recombine_weight)
        path = cache / f"{_safe(row['id'])}-{key}.json" if cache is not None else None
        if path is not None and path.is_file():
            try:
                stored = json.loads(path.read_text())
                results[k] = (stored["features"], float(stored["seconds"]), True)
                continue
            except (json.JSONDecodeError, KeyError, ValueError):
                pass
        todo.append((k, row, path))
    return results, todo


def _feature_table(rows: list, results: dict, wall_seconds: float) -> FeatureTable:
    """The features in table order (a feature a case lacks: NaN), with their seconds and cache flags."""
    ids = [str(row["id"]) for row in rows]
    names = list(results[0][0]) if rows else []
    frame = pd.DataFrame([[results[k][0].get(n, np.nan) for n in names] for k in range(len(rows))],
                         index=pd.Index(ids, name="id"), columns=names, dtype=float)
    return FeatureTable(features=frame,
                        seconds=pd.Series([results[k][1] for k in range(len(rows))], index=frame.index),
                        cached=pd.Series([results[k][2] for k in range(len(rows))], index=frame.index),
                        wall_seconds=wall_seconds)


# The 17 GLCM descriptors of the "in the style of Mateos et al. 2016" row: Haralick's 13 (mahotas)
# plus dissimilarity, cluster shade, cluster prominence and maximum probability (skimage GLCM,
# distance 1), each averaged over the four angles, for the recombined CC and MLO images.
MATEOS_DESCRIPTORS = tuple(f"haralick_{n}" for n in HARALICK_NAMES) + (
    "glcm_dissimilarity_d1", "glcm_cluster_shade_d1", "glcm_cluster_prominence_d1", "glcm_max_probability_d1")


def mateos_features(features: pd.DataFrame, images=("rec_cc", "rec_mlo")) -> pd.DataFrame:
    """17 angle-averaged GLCM descriptors per image (see :data:`MATEOS_DESCRIPTORS`)."""
    out = {}
    for image in images:
        for descriptor in MATEOS_DESCRIPTORS:
            columns = [c for c in features.columns if c.startswith(f"{image}_{descriptor}_a")]
            if not columns:
                raise DataError(f"feature table lacks {image}_{descriptor}_a* (GLCM settings without "
                                "distance 1 or the default angles?)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[f"{image}_{descriptor}"] = features[columns].mean(axis=1, skipna=True)
    return pd.DataFrame(out, index=features.index)
