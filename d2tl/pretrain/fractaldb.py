"""A FractalDB-style image set, generated from formulae and a seed: no natural image, no download.

Written by hand from the papers' descriptions (no maintained library renders FractalDB):
Kataoka et al., "Pre-training without Natural Images" (ACCV 2020; IJCV 2022), and Nakamura et
al., "Scaling Backwards: Minimal Synthetic Pre-training?" (ECCV 2024).

- A class is an iterated function system (IFS): 2 to 8 affine maps ``(x, y) -> (a x + b y + e,
  c x + d y + f)`` with every parameter drawn uniformly from [-1, 1], each map chosen with a
  probability proportional to ``|ad - bc|``. Its attractor is drawn by the chaos game.
- Classes are chosen by FractalDB's filling-rate criterion: a candidate IFS is kept when its
  attractor, rendered on a probe grid, covers at least :data:`FILLING_RATE` of it (this drops
  the point-, line- and divergent systems most random draws give).
- Instances of a class (FractalDB's intra-category expansion) combine one of 25 parameter
  weightings (one of the six parameters, in every map, times 0.8, 0.9, 1.1 or 1.2, or none),
  one of 4 flips (none, left-right, up-down, both) and one of 10 patch patterns (each point drawn
  as a 3 x 3 patch of seeded intensities): 1,000 combinations, visited in a seeded order so that
  any number of instances samples all three. Beyond 1,000 instances, Nakamura et al.'s small
  Gaussian perturbation of every parameter (:data:`JITTER`) makes each instance new.
- Images are grey, ``uint8``, background 0; the attractor fills the image, aspect kept.

Everything is a function of ``(seed, class, instance)`` (NumPy generators seeded with those
numbers), so an image set is regenerated identically on any machine and never stored.
"""

from __future__ import annotations

import math

import numpy as np

from ..io.errors import D2TLError

VERSION = 1  # bump whenever an image of a given (seed, class, instance) would change
MAPS = (2, 8)  # maps per IFS, inclusive
FILLING_RATE = 0.2  # FractalDB's threshold
PROBE_SIDE = 64  # px of the grid the filling rate is measured on
POINTS_PER_PIXEL = 0.5  # chaos-game points per image pixel (362 px: about 65k points; FractalDB draws 100k)
WEIGHTS = (0.8, 0.9, 1.1, 1.2)
FLIPS = 4
PATCHES = 10
JITTER = 0.05  # SD of the per-parameter perturbation of instances beyond the 1,000 combinations
CHAINS = 256  # chaos-game chains run side by side (vectorised)
BURN_IN = 20  # steps each chain takes before its points count
MAX_TRIES = 200_000  # candidate systems tried before giving up on a class count


def settings() -> dict:
    """The generator's constants (part of every pre-training recipe, so its hash changes with them)."""
    return {"generator": "fractaldb", "version": VERSION, "maps": list(MAPS), "filling_rate": FILLING_RATE,
            "probe_side": PROBE_SIDE, "points_per_pixel": POINTS_PER_PIXEL, "weights": list(WEIGHTS),
            "flips": FLIPS, "patches": PATCHES, "jitter": JITTER}


def chaos_game(maps: np.ndarray, n_points: int, rng: np.random.Generator) -> np.ndarray:
    """``n_points`` points of the attractor of ``maps`` (rows a, b, c, d, e, f); NaN where the
    system diverges."""
    det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
    p = det / det.sum() if det.sum() > 0 else np.full(len(maps), 1 / len(maps))
    a = maps[:, :4].reshape(-1, 2, 2)
    b = maps[:, 4:]
    steps = math.ceil(n_points / CHAINS)
    choice = rng.choice(len(maps), size=(BURN_IN + steps, CHAINS), p=p)
    x = rng.uniform(-0.5, 0.5, (CHAINS, 2))
    out = np.empty((steps, CHAINS, 2))
    with np.errstate(all="ignore"):
        for t in range(BURN_IN + steps):
            k = choice[t]
            x = np.einsum("nij,nj->ni", a[k], x) + b[k]
            if t >= BURN_IN:
                out[t - BURN_IN] = x
    return out.reshape(-1, 2)[:n_points]


def occupancy(points: np.ndarray, side: int) -> np.ndarray | None:
    """The ``side`` x ``side`` grid of pixels the points hit, the attractor scaled to fill it with
    its aspect kept; None for a divergent or degenerate (single point) attractor."""
    if not np.isfinite(points).all() or np.abs(points).max() > 1e6:
        return None
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = float((hi - lo).max())
    if span < 1e-9:
        return None
    scale = (side - 1) / span
    offset = ((side - 1) - (hi - lo) * scale) / 2
    ij = np.rint((points - lo) * scale + offset).astype(np.int64).clip(0, side - 1)
    grid = np.zeros((side, side), bool)
    grid[side - 1 - ij[:, 1], ij[:, 0]] = True  # y up
    return grid


def filling_rate(maps: np.ndarray, rng: np.random.Generator) -> float:
    """The share of the probe grid the attractor of ``maps`` covers (0 when it diverges)."""
    grid = occupancy(chaos_game(maps, int(POINTS_PER_PIXEL * PROBE_SIDE ** 2), rng), PROBE_SIDE)
    return 0.0 if grid is None else float(grid.mean())


def choose_classes(n_classes: int, seed: int) -> tuple[list[np.ndarray], list[float]]:
    """The first ``n_classes`` random systems (seeded) that pass the filling-rate criterion, and
    their filling rates."""
    if n_classes < 2:
        raise D2TLError(f"--classes {n_classes}: pre-training needs at least 2 classes")
    rng = np.random.default_rng([seed, 0])
    found, rates = [], []
    for trial in range(MAX_TRIES):
        maps = rng.uniform(-1, 1, (int(rng.integers(MAPS[0], MAPS[1] + 1)), 6))
        rate = filling_rate(maps, np.random.default_rng([seed, 1, trial]))
        if rate >= FILLING_RATE:
            found.append(maps)
            rates.append(rate)
            if len(found) == n_classes:
                return found, rates
    raise D2TLError(f"--classes {n_classes}: only {len(found)} systems passed the filling rate "
                    f"{FILLING_RATE} in {MAX_TRIES} tries")


def _patch(seed: int, k: int, pattern: int) -> np.ndarray:
    """The 3 x 3 patch of class ``k``'s pattern ``pattern``: centre 1, each neighbour on with
    probability 1/2 at an intensity in [0.4, 1]."""
    rng = np.random.default_rng([seed, 2, k, pattern])
    patch = np.where(rng.random((3, 3)) < 0.5, rng.uniform(0.4, 1.0, (3, 3)), 0.0)
    patch[1, 1] = 1.0
    return patch


def _draw(grid: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """Each hit pixel of ``grid`` drawn as ``patch`` (overlaps keep the brighter value)."""
    side = grid.shape[0]
    padded = np.zeros((side + 2, side + 2))
    for dy in range(3):
        for dx in range(3):
            if patch[dy, dx] > 0:
                np.maximum(padded[dy:dy + side, dx:dx + side], grid * patch[dy, dx],
                           out=padded[dy:dy + side, dx:dx + side])
    return padded[1:-1, 1:-1]


class FractalSet:
    """``classes`` x ``per_class`` grey images of ``side`` px, defined by ``seed``; rendered on
    request (:meth:`image`), identical on every call."""

    def __init__(self, classes: int, per_class: int, side: int, seed: int = 0):
        if per_class < 1:
            raise D2TLError(f"--per-class {per_class}: needs at least 1 image per class")
        if side < 16:
            raise D2TLError(f"--side {side}: images need at least 16 px")
        self.classes, self.per_class, self.side, self.seed = classes, per_class, side, seed
        self.systems, self.filling_rates = choose_classes(classes, seed)
        combos = len(WEIGHTS) * 6 + 1, FLIPS, PATCHES
        self._order = np.random.default_rng([seed, 3]).permutation(math.prod(combos))
        self._combos = combos

    def __len__(self) -> int:
        return self.classes * self.per_class

    def instance(self, k: int, i: int) -> tuple[np.ndarray, int, int]:
        """Class ``k``'s instance ``i``: its IFS parameters, flip and patch pattern."""
        n_weightings, _, _ = self._combos
        combo = int(self._order[i % len(self._order)])
        weighting, flip, pattern = combo % n_weightings, (combo // n_weightings) % FLIPS, combo // (n_weightings * FLIPS)
        maps = self.systems[k].copy()
        if weighting:
            maps[:, (weighting - 1) // len(WEIGHTS)] *= WEIGHTS[(weighting - 1) % len(WEIGHTS)]
        if i >= len(self._order):
            maps += np.random.default_rng([self.seed, 4, k, i]).normal(0.0, JITTER, maps.shape)
        return maps, flip, pattern

    def image(self, index: int) -> np.ndarray:
        """Image ``index`` (class ``index // per_class``), ``uint8`` of shape (side, side)."""
        k, i = divmod(int(index), self.per_class)
        maps, flip, pattern = self.instance(k, i)
        rng = np.random.default_rng([self.seed, 5, k, i])
        grid = occupancy(chaos_game(maps, int(POINTS_PER_PIXEL * self.side ** 2), rng), self.side)
        for _ in range(3):  # a perturbed system may diverge: fall back to the class's own system
            if grid is not None:
                break
            grid = occupancy(chaos_game(self.systems[k], int(POINTS_PER_PIXEL * self.side ** 2), rng), self.side)
        if grid is None:
            raise RuntimeError(f"class {k} (seed {self.seed}) diverged after passing its filling-rate check")
        picture = _draw(grid, _patch(self.seed, k, pattern))
        if flip & 1:
            picture = picture[:, ::-1]
        if flip & 2:
            picture = picture[::-1, :]
        return np.rint(picture * 255).astype(np.uint8)

    def label(self, index: int) -> int:
        return int(index) // self.per_class

    def images(self, indices) -> np.ndarray:
        """Images ``indices`` stacked, ``uint8`` of shape (n, side, side)."""
        return np.stack([self.image(j) for j in indices]) if len(indices) else np.zeros((0, self.side, self.side),
                                                                                      np.uint8)
