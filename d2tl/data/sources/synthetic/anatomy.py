"""The breast of one view: outline, thickness, skin, pectoral muscle, glandular tissue, vessels."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage

from .config import FULL_COLS, FULL_ROWS, FULL_SPACING_MM
from .noise import _power_law_noise, _sigmoid, _smoothstep


@dataclasses.dataclass
class _Breast:
    """Outline of one view in full-resolution px, chest wall at x = 0 (canonical orientation)."""

    depth: float  # nipple distance from the chest wall
    nipple_y: float
    h_up: float
    h_down: float
    p: float
    thickness_cm: float
    tilt: float
    pec_width: float = 0.0  # MLO: muscle width at the top edge (0 = none)
    pec_height: float = 0.0  # MLO: where the muscle front meets the chest wall
    pec_gamma: float = 1.0
    wobble: tuple = ()  # (amplitude, phase) of smooth relative outline undulations, k = 1, 2, ...

    def edge_x(self, y):
        """Outline: the skin line's distance from the chest wall at row y (0 outside)."""
        y = np.asarray(y, dtype=float)
        h = np.where(y < self.nipple_y, self.h_up, self.h_down)
        t = np.clip(np.abs(y - self.nipple_y) / h, 0.0, 1.0)
        factor = 1.0
        for k, (amp, phase) in enumerate(self.wobble, start=1):
            factor = factor + amp * np.sin(k * np.pi * y / FULL_ROWS + phase)
        return self.depth * (1.0 - t ** self.p) ** (1.0 / self.p) * factor

    def half_height(self, x, upper):
        """Distance from the nipple row to the outline at depth x (above if ``upper``)."""
        t = np.clip(np.asarray(x, float) / self.depth, 0.0, 1.0)
        return (self.h_up if upper else self.h_down) * (1.0 - t ** self.p) ** (1.0 / self.p)

    def pec_x(self, y):
        """MLO: the pectoral muscle's front at row y (muscle where x < pec_x)."""
        if self.pec_width <= 0:
            return np.zeros_like(np.asarray(y, float))
        t = np.clip(1.0 - np.asarray(y, float) / self.pec_height, 0.0, 1.0)
        return self.pec_width * t ** self.pec_gamma

    def contains(self, x, y, margin=0.0):
        """Points inside the breast, at least ``margin`` px from the skin and out of the muscle."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        inside = (x >= margin) & (y >= 0) & (y < FULL_ROWS) & (x < FULL_COLS)
        inside &= x <= self.edge_x(y) - margin
        # the outline's vertical extent (the superellipse is steep near its top and bottom)
        inside &= (y >= self.nipple_y - self.h_up + margin) & (y <= self.nipple_y + self.h_down - margin)
        if self.pec_width > 0:
            inside &= x >= self.pec_x(y) + margin
        return inside


def _draw_breasts(rng, grow=1.0):
    """CC and MLO outlines of one patient (full-resolution px)."""
    t_cc = float(np.clip(rng.normal(5.5, 1.0), 3.0, 8.0))
    t_mlo = float(np.clip(t_cc * rng.uniform(1.0, 1.15), 3.0, 8.5))
    depth = min(FULL_COLS * rng.uniform(0.5, 0.8) * grow, 0.93 * FULL_COLS)
    half = FULL_ROWS * rng.uniform(0.27, 0.40) * grow
    ny = FULL_ROWS * rng.uniform(0.46, 0.54)
    half = min(half, ny - 0.02 * FULL_ROWS, FULL_ROWS * 0.98 - ny)
    asym = rng.uniform(0.9, 1.1)
    p = rng.uniform(1.8, 2.6)
    cc = _Breast(depth=depth, nipple_y=ny, h_up=half * asym, h_down=half / asym, p=p,
                 thickness_cm=t_cc, tilt=rng.uniform(0.0, 0.08))
    cc.h_up = min(cc.h_up, ny - 0.01 * FULL_ROWS)
    cc.h_down = min(cc.h_down, 0.99 * FULL_ROWS - ny)
    ny_m = FULL_ROWS * rng.uniform(0.50, 0.60)
    depth_m = min(depth * rng.uniform(1.0, 1.12), 0.95 * FULL_COLS)
    h_down_m = min(half * rng.uniform(0.9, 1.1), 0.99 * FULL_ROWS - ny_m)
    mlo = _Breast(depth=depth_m, nipple_y=ny_m, h_up=ny_m * rng.uniform(1.15, 1.5), h_down=h_down_m,
                  p=rng.uniform(1.8, 2.6), thickness_cm=t_mlo, tilt=rng.uniform(0.0, 0.08))
    for breast in (cc, mlo):
        breast.wobble = tuple((float(rng.normal(0, 0.006)), float(rng.uniform(0, 2 * np.pi))) for _ in range(3))
    top = float(mlo.edge_x(0.0))
    mlo.pec_width = top * rng.uniform(0.35, 0.7)
    mlo.pec_height = ny_m * rng.uniform(0.75, 1.1)
    mlo.pec_gamma = rng.uniform(0.8, 1.3)
    return {"cc": cc, "mlo": mlo}


# --- rendering of one view --------------------------------------------------------------------
def _grid(config):
    rows, cols = config.image_shape
    ys = np.arange(rows, dtype=np.float32) / np.float32(config.scale)
    xs = np.arange(cols, dtype=np.float32) / np.float32(config.scale)
    return ys, xs


def _breast_maps(config, breast: _Breast, rng):
    """Breast mask, thickness T_local (cm), skin path (cm), muscle path (cm), distance to skin (mm)."""
    ys, xs = _grid(config)
    X, Y = np.meshgrid(xs, ys)
    inside = X <= breast.edge_x(ys)[:, None]
    inside &= (Y >= breast.nipple_y - breast.h_up) & (Y <= breast.nipple_y + breast.h_down)
    pix_mm = config.pixel_mm
    t_cm = breast.thickness_cm
    # the breast continues beyond the image edges where it touches them (chest wall, axilla)
    width = int(math.ceil(t_cm * 10 / 2 / pix_mm)) + 2
    pads = [(width if inside[0].any() else 0, width if inside[-1].any() else 0),
            (width if inside[:, 0].any() else 0, width if inside[:, -1].any() else 0)]
    padded = np.pad(inside, pads, mode="edge")
    crop = tuple(slice(before, before + n) for (before, _), n in zip(pads, inside.shape))
    dist_mm = (ndimage.distance_transform_edt(padded)[crop] * pix_mm).astype(np.float32)
    radius = t_cm / 2.0
    d_cm = dist_mm / 10.0
    plate = t_cm * (1.0 - breast.tilt * np.clip(X / breast.depth, 0, 1))
    edge = 2.0 * np.sqrt(np.clip(radius ** 2 - (radius - d_cm) ** 2, 0, None))
    thick = np.where(d_cm >= radius, plate, np.minimum(edge, plate)) * inside
    skin = 0.15
    inner = 2.0 * np.sqrt(np.clip((radius - skin) ** 2 - (radius - d_cm) ** 2, 0, None))
    inner = np.where(d_cm >= radius, plate - 2 * skin, np.minimum(inner, plate - 2 * skin))
    skin_path = np.clip(thick - inner, 0, None) * inside
    muscle = np.zeros_like(thick)
    if breast.pec_width > 0:
        front = breast.pec_x(ys)[:, None]
        ramp_px = 12.0 / FULL_SPACING_MM  # the muscle reaches full thickness 12 mm behind its front
        frac = np.clip((front - X) / ramp_px, 0, 1) * (front > 0)
        muscle = 0.85 * frac * np.clip(thick - skin_path, 0, None)
    return inside, thick, skin_path, muscle, dist_mm, X, Y


def _glandular(config, breast, rng, inside, thick, skin_path, muscle, dist_mm, X, Y, density):
    """Glandular path t_g (cm) and the glandular fraction map."""
    shape = inside.shape
    pix_mm = config.pixel_mm
    iso = _power_law_noise(shape, pix_mm, 3.0, rng)
    strands = _power_law_noise(shape, pix_mm, 3.0, rng, f0=1 / 30.0, stretch=4.0)
    # sample the strand field in polar coordinates around the nipple: strands point at it
    dx = (breast.depth - X) * FULL_SPACING_MM  # mm from the nipple towards the chest wall
    dy = (Y - breast.nipple_y) * FULL_SPACING_MM
    r_mm = np.hypot(dx, dy)
    ang = np.arctan2(dy, dx + 1e-9)
    coords = np.stack([ang * 80.0 / pix_mm, r_mm / pix_mm])  # rows: arc at 80 mm, cols: radius
    strands = ndimage.map_coordinates(strands, coords, order=1, mode="grid-wrap").astype(np.float32)
    strands *= _smoothstep(r_mm, 5.0, 40.0)  # no singular convergence right at the nipple
    field = 0.85 * iso + 0.35 * strands
    # where glandular tissue may be: not in the subcutaneous or retromammary fat, mostly in a
    # cone behind the nipple
    fat_layer = rng.uniform(3.0, 12.0)
    x_mm = X * FULL_SPACING_MM
    prior = _smoothstep(dist_mm, fat_layer, fat_layer + 15.0) * _smoothstep(x_mm, 3.0, 25.0)
    h = np.where(Y < breast.nipple_y, breast.h_up, breast.h_down)
    h = np.minimum(h, 1.2 * max(breast.h_down, 1.0))
    rn2 = ((X - 0.5 * breast.depth) / (0.6 * breast.depth)) ** 2 + ((Y - breast.nipple_y) / (0.8 * h)) ** 2
    score = field + 1.5 * np.exp(-rn2)
    tau = 0.6
    region = inside & (prior > 0)
    stride = max(1, int(region.sum()) // 10000)
    sample = score[region][::stride]
    weight_sample = prior[region][::stride]
    frac = region.sum() / max(inside.sum(), 1)
    lo_q, hi_q = float(sample.min()) - 6, float(sample.max()) + 6
    for _ in range(24):  # bisection: mean glandular fraction over the breast = density
        q = 0.5 * (lo_q + hi_q)
        mean = 0.9 * np.mean(weight_sample * _sigmoid((sample - q) / tau)) * frac
        lo_q, hi_q = (q, hi_q) if mean > density else (lo_q, q)
    g = 0.9 * prior * _sigmoid((score - q) / tau) * inside
    available = np.clip(thick - skin_path - muscle, 0, None)
    return (g * available).astype(np.float32), g


def _vessels(config, breast, rng, inside):
    """Vessel path length (cm) per pixel: a few tortuous tapering vessels towards the nipple.

    Each vessel is a cylinder whose cross-section path profile 2 sqrt(r^2 - d^2) is replaced by
    the Gaussian of the same peak and area (sigma = 0.63 r): centre-line samples deposit their
    volume, then a Gaussian blur per radius class spreads it.
    """
    rows, cols = inside.shape
    s = config.scale
    pix_cm = config.pixel_mm / 10.0
    edges_mm = np.array([0.0, 0.3, 0.5, 0.75, 1.2])
    deposits = np.zeros((len(edges_mm) - 1, rows, cols))
    step = 0.5 / s  # half an image pixel, in full-resolution px
    for _ in range(int(rng.integers(3, 7))):
        y0 = breast.nipple_y + rng.uniform(-0.8, 0.8) * (breast.h_down if rng.random() < 0.5 else breast.h_up) * 0.8
        x0 = breast.depth * rng.uniform(0.0, 0.15)
        heading0 = np.arctan2(breast.nipple_y - y0, breast.depth - x0) * rng.uniform(0.3, 0.9)
        r0_mm = rng.uniform(0.4, 1.1)
        n_steps = max(int(breast.depth * rng.uniform(0.4, 0.9) / step), 2)
        turn = ndimage.gaussian_filter1d(rng.normal(0, 1, n_steps), 12.0 / (step * FULL_SPACING_MM))
        heading = heading0 + np.cumsum(turn) * 0.009 * np.sqrt(n_steps / 50)
        x = x0 + np.cumsum(step * np.cos(heading))
        y = y0 + np.cumsum(step * np.sin(heading))
        ci, ri = np.rint(x * s).astype(int), np.rint(y * s).astype(int)
        ok = (ri >= 0) & (ri < rows) & (ci >= 0) & (ci < cols)
        ok[ok] = inside[ri[ok], ci[ok]]
        if not ok.any():
            continue
        first = int(np.argmax(ok))
        gone = np.flatnonzero(~ok[first:])
        last = first + (int(gone[0]) if len(gone) else len(ok) - first)
        idx = np.arange(first, last)
        r_mm = r0_mm * (1.0 - 0.65 * idx / n_steps)
        volume = np.pi * (r_mm / 10.0) ** 2 * step * FULL_SPACING_MM / 10.0  # cm^3 per sample
        klass = np.clip(np.searchsorted(edges_mm, r_mm) - 1, 0, len(edges_mm) - 2)
        np.add.at(deposits, (klass, ri[idx], ci[idx]), volume / pix_cm ** 2)
    path = np.zeros((rows, cols))
    for k in range(len(edges_mm) - 1):
        if deposits[k].any():
            sigma_px = 0.63 * 0.5 * (edges_mm[k] + edges_mm[k + 1]) / config.pixel_mm
            rr, cc = np.nonzero(deposits[k])
            pad = int(4 * sigma_px) + 2
            box = (slice(max(rr.min() - pad, 0), rr.max() + pad + 1), slice(max(cc.min() - pad, 0), cc.max() + pad + 1))
            path[box] += ndimage.gaussian_filter(deposits[k][box], sigma_px) if sigma_px > 0.3 else deposits[k][box]
    return path * inside
