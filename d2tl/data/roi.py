"""ROI boxes: one uni-size square box per view, shared by the view's LE and recombined images.

Sizes and shifts are in full-resolution pixels (the paper's); a case's ``scale`` converts
them to its image pixels. Each full image is first normalised to [0, 1] by percentiles of its breast
pixels (``normalise_on``, ``intensity_percentiles``), then the box is cut, padded with 0 where it leaves the image, and
resized to the model input side with bilinear interpolation (anti-aliased when shrinking).
InceptionV3 needs at least 75 px, so a 64 px box is enlarged to 75 px (``d2tl.protocol.paper.MIN_INPUT``).

Shift study (Sec. 4.2): the box centre moves ``shift`` px in a direction drawn uniformly on
the circle, one direction per case and view, shared by that view's LE and recombined images.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
from skimage.transform import resize

from ..protocol.paper import DEFAULT_BOX, MIN_INPUT
from ..protocol.views import IMAGES, LABELS, MODES, VIEWS
from .images import DEFAULT_RECOMBINE_WEIGHT, breast_mask, load_view




@dataclasses.dataclass(frozen=True)
class RoiConfig:
    """How boxes are placed and scaled. ``input_scale`` < 1 shrinks inputs for reduced presets."""

    box: int = DEFAULT_BOX
    shift: float = 0.0
    input_scale: float = 1.0
    intensity_percentiles: tuple[float, float] = (0.5, 99.9)
    normalise_on: str = "breast"  # "breast": percentiles of breast pixels (LE threshold); "image": all pixels
    recombine_weight: float = DEFAULT_RECOMBINE_WEIGHT

    def __post_init__(self):
        if self.box <= 0:
            raise ValueError(f"box must be positive, got {self.box}")
        if self.shift < 0:
            raise ValueError(f"shift must be >= 0, got {self.shift}")
        if not self.input_scale > 0:
            raise ValueError(f"input_scale must be positive, got {self.input_scale}")
        if self.normalise_on not in ("breast", "image"):
            raise ValueError(f"normalise_on must be 'breast' or 'image', got {self.normalise_on!r}")
        lo, hi = self.intensity_percentiles
        if not 0 <= lo < hi <= 100:
            raise ValueError(f"intensity_percentiles must satisfy 0 <= lo < hi <= 100, got {lo, hi}")

    @property
    def input_size(self) -> int:
        """Side of the model input: the box times ``input_scale``, at least 75 px."""
        return max(MIN_INPUT, int(round(self.box * self.input_scale)))

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "input_size": self.input_size}


@dataclasses.dataclass
class RoiSet:
    """Model-ready arrays: ``arrays[key]`` is (n, s, s, 1) float32 for each of the four images."""

    ids: list[str]
    labels: np.ndarray  # 0 benign, 1 malignant
    arrays: dict[str, np.ndarray]
    offsets: np.ndarray  # (n, 2 views, 2) applied centre shift in full-resolution px (dx, dy)
    config: RoiConfig

    def subset(self, ids) -> "RoiSet":
        index = {cid: i for i, cid in enumerate(self.ids)}
        rows = np.array([index[cid] for cid in ids], dtype=int)
        return RoiSet(ids=[self.ids[i] for i in rows], labels=self.labels[rows],
                      arrays={k: v[rows] for k, v in self.arrays.items()},
                      offsets=self.offsets[rows], config=self.config)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())


def shift_offsets(rng: np.random.Generator, n_cases: int, shift: float) -> np.ndarray:
    """(n, 2 views, 2) offsets of length ``shift``, one random direction per case and view."""
    angles = rng.uniform(0.0, 2 * np.pi, size=(n_cases, len(VIEWS)))
    return shift * np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def normalise(image: np.ndarray, percentiles=(0.0, 100.0), region: np.ndarray | None = None) -> np.ndarray:
    """Map an image to [0, 1] by percentiles of its pixels (of ``region``'s pixels if given).

    Normalising on breast pixels matters for recombined images: there the air/breast step is
    several times the lesion's enhancement, and a whole-image range would squeeze the lesion
    into a few percent of [0, 1].
    """
    values = image[region] if region is not None and region.any() else image
    lo, hi = np.percentile(values, percentiles) if tuple(percentiles) != (0.0, 100.0) else (values.min(), values.max())
    if hi <= lo:
        return np.zeros_like(image, dtype=np.float32)
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def cut_box(image: np.ndarray, centre_xy, side: int, fill: float = 0.0) -> np.ndarray:
    """The ``side`` x ``side`` square centred at (x, y), padded with ``fill`` outside the image."""
    x, y = centre_xy
    top = int(np.floor(y - side / 2 + 0.5))
    left = int(np.floor(x - side / 2 + 0.5))
    out = np.full((side, side), fill, dtype=np.float32)
    rows, cols = image.shape
    r0, r1 = max(top, 0), min(top + side, rows)
    c0, c1 = max(left, 0), min(left + side, cols)
    if r0 < r1 and c0 < c1:
        out[r0 - top:r1 - top, c0 - left:c1 - left] = image[r0:r1, c0:c1]
    return out


def resize_square(box: np.ndarray, size: int) -> np.ndarray:
    if box.shape == (size, size):
        return box.astype(np.float32, copy=False)
    shrinking = box.shape[0] > size
    return resize(box, (size, size), order=1, mode="edge", anti_aliasing=shrinking,
                  preserve_range=True).astype(np.float32)


def box_side_px(config: RoiConfig, scale: float) -> int:
    """The box side in a case's image pixels."""
    return max(1, int(round(config.box * scale)))


def extract_case(row, config: RoiConfig, offsets: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The four (s, s) ROIs of one case-table row; ``offsets`` is (2 views, 2) in full-res px."""
    return extract_case_many(row, [(config, offsets)])[0]


def _normalisation(config: RoiConfig) -> tuple:
    return config.recombine_weight, config.normalise_on, tuple(config.intensity_percentiles)


def extract_case_many(row, requests) -> list[dict[str, np.ndarray]]:
    """The four ROIs of one case for each ``(config, offsets)`` in ``requests``.

    Each view is decoded, masked and normalised once per normalisation setting and then cut
    for every request: decoding dominates, so several box sizes or shifts cost little more
    than one.
    """
    out = [{} for _ in requests]
    for v, view in enumerate(VIEWS):
        prepared = {}
        for i, (config, offsets) in enumerate(requests):
            norm = _normalisation(config)
            if norm not in prepared:
                images = load_view(row, view, recombine_weight=config.recombine_weight, with_mask=False)
                region = breast_mask(images.le) if config.normalise_on == "breast" else None
                prepared[norm] = (images, {mode: normalise(images.image(mode), config.intensity_percentiles, region)
                                           for mode in MODES})
            images, normalised = prepared[norm]
            side = box_side_px(config, images.scale)
            x, y = images.centre
            if offsets is not None:
                x, y = x + offsets[v, 0] * images.scale, y + offsets[v, 1] * images.scale
            for mode in MODES:
                out[i][f"{mode}_{view}"] = resize_square(cut_box(normalised[mode], (x, y), side), config.input_size)
    return out


def extract_rois(table: pd.DataFrame, config: RoiConfig = RoiConfig(), seed: int = 0) -> RoiSet:
    """ROIs of every case in ``table``; the shift directions come from ``seed``."""
    return extract_rois_many(table, [(config, seed)])[0]


def extract_rois_many(table: pd.DataFrame, requests) -> list[RoiSet]:
    """ROIs of every case for each ``(config, shift seed)`` in ``requests``, decoding each image
    once (see :func:`extract_case_many`)."""
    n = len(table)
    offsets = [shift_offsets(np.random.default_rng(seed), n, config.shift) if config.shift
               else np.zeros((n, len(VIEWS), 2)) for config, seed in requests]
    arrays = [{key: np.empty((n, config.input_size, config.input_size, 1), dtype=np.float32) for key in IMAGES}
              for config, _ in requests]
    for i, (_, row) in enumerate(table.iterrows()):
        cut = extract_case_many(row, [(config, offsets[j][i]) for j, (config, _) in enumerate(requests)])
        for j, rois in enumerate(cut):
            for key, roi in rois.items():
                arrays[j][key][i, :, :, 0] = roi
    labels = np.array([LABELS.index(label) for label in table["label"]], dtype=np.int64)
    return [RoiSet(ids=list(table["id"]), labels=labels.copy(), arrays=arrays[j], offsets=offsets[j], config=config)
            for j, (config, _) in enumerate(requests)]


def save_rois(rois: RoiSet, path) -> None:
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, ids=np.array(rois.ids), labels=rois.labels, offsets=rois.offsets, **rois.arrays)


def add_arguments(parser) -> None:
    from ..protocol.options import add_cases, add_out, add_shift_seed

    add_cases(parser)
    parser.add_argument("--box", type=int, default=DEFAULT_BOX, help="box side, full-resolution px (default 256)")
    parser.add_argument("--shift", type=float, default=0.0, help="box centre shift, full-resolution px")
    parser.add_argument("--input-scale", type=float, default=1.0, help="model input side / box side")
    add_shift_seed(parser)
    add_out(parser, "rois")  # the .npz file


def run(args) -> int:
    from ..io import checks
    from .cases import load_cases

    checks.roi_options(args.box, args.shift, args.input_scale)
    checks.count("--shift-seed", args.shift_seed, low=0, high=2**32 - 1)
    checks.input_file("--cases", args.cases, "case table")
    checks.output_file("--out", args.out, "ROI file")
    start = time.perf_counter()
    table = load_cases(args.cases)
    loaded = time.perf_counter()
    config = RoiConfig(box=args.box, shift=args.shift, input_scale=args.input_scale)
    rois = extract_rois(table, config, seed=args.shift_seed)
    extracted = time.perf_counter()
    save_rois(rois, args.out)
    print(f"{len(rois.ids)} cases x 4 images, {config.input_size} px inputs ({rois.nbytes / 2**20:.1f} MiB): "
          f"table check {loaded - start:.2f} s, extraction {extracted - loaded:.2f} s -> {args.out}")
    return 0
