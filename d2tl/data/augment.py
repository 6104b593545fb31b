"""Table 2's augmentation: each image becomes 5 random affine/flip alternatives.

The paper used Keras 2's ``ImageDataGenerator``, which Keras 3 no longer exports, so its
``get_random_transform`` / ``apply_transform`` are reproduced here in numpy/scipy: the same
parameter draws (from a seeded ``np.random.Generator`` instead of global ``np.random``), the
same transform matrix and the same ``scipy.ndimage.affine_transform`` call, so outputs match
Keras's for the same parameters. Keras quirks are kept on purpose: ``tx`` is drawn as
``ratio x rows`` but ends up shifting columns (and ``ty`` rows), and the centring offset uses
rows for the first matrix axis; both are harmless for the square boxes used here.

Only training and validation arrays are augmented; the caller never passes the test set
(Sec. 4: "none for test").
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.ndimage

from ..protocol.paper import AUGMENTATION
from ..protocol.views import IMAGES, VIEWS, split_key

FILL_MODES = ("nearest", "constant", "reflect", "wrap")  # ImageDataGenerator's
COUPLINGS = ("none", "view", "case")


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Augmentation settings; defaults are the paper's Table 2 with Keras semantics.

    ``coupling`` says which images of a case share one random transform: ``"view"`` (the
    default: the LE and recombined images of one view, which are co-registered, get the same
    flip, rotation, shift and zoom, so the pair stays registered, as the paper keeps a view's
    two boxes coupled in Sec. 4.2), ``"none"`` (each image its own, as ImageDataGenerator
    applied image by image would give; it breaks the registration of a view's two images) or
    ``"case"`` (all four images one transform). The choice is part of every configuration
    (``augment.coupling`` in config.json and provenance).
    """

    alternatives: int = AUGMENTATION["alternatives"]
    shift_ratio: float = AUGMENTATION["shift_ratio"]  # width and height shift range
    rotation_degrees: float = AUGMENTATION["rotation_degrees"]
    zoom_ratio: float = AUGMENTATION["zoom_ratio"]  # zoom in [1 - z, 1 + z], drawn per axis
    horizontal_flip: bool = AUGMENTATION["horizontal_flip"]
    vertical_flip: bool = AUGMENTATION["vertical_flip"]
    fill_mode: str = "nearest"
    include_original: bool = False  # paper: 240 training images x 5 = 1200, originals dropped
    coupling: str = "view"

    def __post_init__(self):
        if isinstance(self.alternatives, bool) or not isinstance(self.alternatives, (int, np.integer)) \
                or self.alternatives < 1:
            raise ValueError(f"alternatives must be an integer >= 1, got {self.alternatives!r}")
        for name in ("shift_ratio", "zoom_ratio"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
        if not (isinstance(self.rotation_degrees, (int, float)) and 0 <= self.rotation_degrees <= 180):
            raise ValueError(f"rotation_degrees must be in [0, 180], got {self.rotation_degrees!r}")
        for name in ("horizontal_flip", "vertical_flip", "include_original"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}, got {self.fill_mode!r}")
        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {', '.join(COUPLINGS)}, got {self.coupling!r}")

    @property
    def copies(self) -> int:
        """Output rows per input case."""
        return self.alternatives + int(self.include_original)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def random_transform(rng: np.random.Generator, shape, config: AugmentConfig) -> dict:
    """Draw one transform as ``ImageDataGenerator.get_random_transform`` does.

    ``shape`` is the image's (rows, cols[, channels]). Draw order and ranges follow Keras:
    theta, tx (height shift x rows), ty (width shift x cols), zx and zy independently, then
    one draw per flip (made even when that flip is off, as Keras does).
    """
    rows, cols = shape[0], shape[1]
    theta = rng.uniform(-config.rotation_degrees, config.rotation_degrees) if config.rotation_degrees else 0.0
    tx = rng.uniform(-config.shift_ratio, config.shift_ratio) * rows if config.shift_ratio else 0.0
    ty = rng.uniform(-config.shift_ratio, config.shift_ratio) * cols if config.shift_ratio else 0.0
    if config.zoom_ratio:
        zx, zy = rng.uniform(1 - config.zoom_ratio, 1 + config.zoom_ratio, 2)
    else:
        zx, zy = 1.0, 1.0
    flip_horizontal = bool(rng.random() < 0.5) and config.horizontal_flip
    flip_vertical = bool(rng.random() < 0.5) and config.vertical_flip
    return {"theta": float(theta), "tx": float(tx), "ty": float(ty), "shear": 0.0,
            "zx": float(zx), "zy": float(zy),
            "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical}


def _matrix(params: dict, rows: int, cols: int) -> np.ndarray | None:
    """Keras's ``apply_affine_transform`` matrix (output -> input coordinates), or None."""
    theta, tx, ty = params.get("theta", 0), params.get("tx", 0), params.get("ty", 0)
    shear, zx, zy = params.get("shear", 0), params.get("zx", 1), params.get("zy", 1)
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return None  # Keras skips the resampling too
    matrix = np.eye(3)
    if theta != 0:
        t = np.deg2rad(theta)
        matrix = matrix @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        matrix = matrix @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear != 0:
        s = np.deg2rad(shear)
        matrix = matrix @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1:
        matrix = matrix @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    o_x, o_y = rows / 2 - 0.5, cols / 2 - 0.5  # Keras centres the first axis on rows
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    matrix = offset @ matrix @ reset
    # Keras builds the matrix in (x, y) order and swaps it into numpy's (row, col) order.
    return matrix[np.ix_([1, 0, 2], [1, 0, 2])]


def apply_transform(image: np.ndarray, params: dict, fill_mode: str = "nearest") -> np.ndarray:
    """Apply ``params`` to a (h, w) or (h, w, 1) image exactly as Keras's ``apply_transform``.

    Affine part by ``scipy.ndimage.affine_transform`` (linear interpolation, ``cval`` 0), then
    the horizontal (column) and vertical (row) flips. Returns the input's shape and dtype.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        return apply_transform(image[:, :, 0], params, fill_mode)[:, :, None]
    if image.ndim != 2:
        raise ValueError(f"expected a (h, w) or (h, w, 1) image, got shape {image.shape}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {', '.join(FILL_MODES)}, got {fill_mode!r}")
    matrix = _matrix(params, *image.shape)
    out = image.copy() if matrix is None else scipy.ndimage.affine_transform(
        image, matrix[:2, :2], matrix[:2, 2], order=1, mode=fill_mode, cval=0.0)
    if params.get("flip_horizontal", False):
        out = out[:, ::-1]
    if params.get("flip_vertical", False):
        out = out[::-1, :]
    return np.ascontiguousarray(out)


def _share_groups(coupling: str) -> list[tuple[str, ...]]:
    """The image keys that share one transform, in the fixed order draws are made."""
    if coupling == "case":
        return [IMAGES]
    if coupling == "view":
        return [tuple(k for k in IMAGES if split_key(k)[1] == view) for view in VIEWS]
    return [(k,) for k in IMAGES]


def augment_cases(arrays: dict[str, np.ndarray], labels: np.ndarray, config: AugmentConfig,
                  seed: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Augment the four images of every case into ``config.alternatives`` alternatives.

    ``arrays`` maps each key of ``IMAGES`` to an (n, h, w, 1) array. Returns the augmented
    arrays (float32, ``n * config.copies`` rows, case by case: case 0's rows first, its
    original first when ``include_original``), the labels repeated to match, and ``source``,
    the input row of every output row. Draws follow ``IMAGES`` order, so the result depends
    only on the seed, not on the order of ``arrays``' keys.
    """
    missing = [k for k in IMAGES if k not in arrays]
    extra = [k for k in arrays if k not in IMAGES]
    if missing or extra:
        raise ValueError(f"arrays must have exactly the keys {', '.join(IMAGES)}; "
                         f"missing {missing}, unexpected {extra}")
    shape = np.shape(arrays[IMAGES[0]])
    for key in IMAGES:
        if np.ndim(arrays[key]) != 4 or np.shape(arrays[key])[3] != 1 or np.shape(arrays[key]) != shape:
            raise ValueError(f"arrays[{key!r}] has shape {np.shape(arrays[key])}; expected (n, h, w, 1), "
                             f"the same for all four images (arrays[{IMAGES[0]!r}] is {shape})")
    labels = np.asarray(labels)
    n = shape[0]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} cases")
    copies = config.copies
    out = {k: np.empty((n * copies,) + shape[1:], dtype=np.float32) for k in IMAGES}
    rng = np.random.default_rng(seed)
    groups = _share_groups(config.coupling)
    jobs = []  # (key, input row, output row, params); all draws made first, in a fixed order
    for i in range(n):
        for j in range(copies):
            row = i * copies + j
            if config.include_original and j == 0:
                for key in IMAGES:
                    out[key][row] = arrays[key][i]
                continue
            for group in groups:
                params = random_transform(rng, shape[1:], config)
                jobs.extend((key, i, row, params) for key in group)

    def run(job):
        key, i, row, params = job
        image = np.asarray(arrays[key][i, :, :, 0], dtype=np.float32)
        out[key][row, :, :, 0] = apply_transform(image, params, config.fill_mode)

    # scipy.ndimage releases the GIL, so threads give a near-linear speed-up.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(run, jobs))
    source = np.repeat(np.arange(n), copies)
    return out, labels[source], source
