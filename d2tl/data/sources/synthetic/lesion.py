"""The mass: class features, the 3-D ellipsoid with its margin and spicules, and its rendering per view."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ....protocol.views import VIEWS
from .config import FEATURES, FULL_SPACING_MM
from .noise import _smooth_noise
from .physics import ENHANCEMENT_MEDIAN, SPICULE_DEPTH


def _draw_features(rng, label, difficulty):
    """Presented class per feature and the features drawn from it."""
    other = "benign" if label == "malignant" else "malignant"
    presented = {f: (other if rng.random() < difficulty / 2 else label) for f in FEATURES}
    mal = {f: presented[f] == "malignant" for f in FEATURES}
    if mal["shape"]:
        shape = "spiculated" if rng.random() < 0.5 else "irregular"
    else:
        shape = "oval" if rng.random() < 0.6 else "round"
    margin = "indistinct" if mal["margin"] else "circumscribed"
    conc = float(np.exp(rng.normal(np.log(ENHANCEMENT_MEDIAN["malignant"]), 0.30) if mal["enhancement_strength"]
                        else rng.normal(np.log(ENHANCEMENT_MEDIAN["benign"]), 0.35)))
    if mal["enhancement_pattern"]:
        pattern = "rim" if rng.random() < 0.5 else "heterogeneous"
    else:
        pattern = "homogeneous"
    return presented, {"shape": shape, "margin": margin, "concentration_mg_ml": conc,
                       "enhancement_pattern": pattern}


def _perturbation(rng, shape):
    """Fourier coefficients of the outline's relative radius, per harmonic k."""
    if shape in ("oval", "round"):
        ks = np.arange(2, 6)
        amp = rng.uniform(0.0, 0.03, len(ks)) / np.sqrt(ks)
    else:
        ks = np.arange(2, 13)
        strength = 0.28 if shape == "irregular" else 0.15
        amp = strength * rng.uniform(0.4, 1.0, len(ks)) / ks ** 0.8
    return ks, amp


def _delta(theta, ks, amp, phases):
    d = (amp[:, None] * np.cos(ks[:, None] * theta[None, :] + phases[:, None])).sum(axis=0)
    return np.clip(d, -0.6, 1.5)


class _Lesion:
    """A 3-D ellipsoid in breast coordinates (X depth, Y across the CC image, Z along CC rays)."""

    def __init__(self, rng, size, features, thickness_cm):
        shape = features["shape"]
        aspect = {"oval": rng.uniform(0.55, 0.75), "round": rng.uniform(0.85, 1.0)}.get(
            shape, rng.uniform(0.65, 1.0))
        alpha = rng.uniform(0, np.pi)
        self.ks, self.amp = _perturbation(rng, shape)
        self.phases = {v: rng.uniform(0, 2 * np.pi, len(self.ks)) for v in VIEWS}
        a, b = 1.0, aspect
        rot = np.array([[np.cos(alpha), -np.sin(alpha), 0], [np.sin(alpha), np.cos(alpha), 0], [0, 0, 1]])
        self._rot, self._ab = rot, (a, b)
        self.c_ratio = rng.uniform(0.6, 1.0) * math.sqrt(a * b)
        # size: scale the in-plane axes so that the CC outline's long side is ``size``
        self.M = self._matrix(a, b, self.c_ratio)
        poly = self.outline("cc", n=1440)
        extent = np.ptp(poly, axis=0).max()
        f = size / extent
        c = min(self.c_ratio * f, 0.4 * thickness_cm / (FULL_SPACING_MM / 10))
        self.M = self._matrix(a * f, b * f, c)
        self.size = size
        self.angle_mlo = np.deg2rad(rng.uniform(40, 60))
        self.density_factor = {True: 1.05, False: 1.02}[shape in ("irregular", "spiculated")]
        self.softness = rng.uniform(0.06, 0.15) if features["margin"] == "indistinct" else rng.uniform(0.0, 0.02)
        n_spic = int(rng.integers(6, 17)) if shape == "spiculated" else 0
        self.spicules = {v: [(rng.uniform(0, 2 * np.pi), rng.uniform(-0.35, 0.35), rng.uniform(0.5, 1.3),
                              rng.uniform(0.5, 1.2)) for _ in range(n_spic)] for v in VIEWS}
        self.rim_core = rng.uniform(0.55, 0.8)
        self.features = features

    def _matrix(self, a, b, c):
        return self._rot @ np.diag([1 / a ** 2, 1 / b ** 2, 1 / c ** 2]) @ self._rot.T

    def frame(self, view):
        """Projection direction d and image-plane axes (e1 = x, e2 = y) of ``view``."""
        if view == "cc":
            return np.array([0, 0, 1.0]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
        phi = self.angle_mlo
        return (np.array([0, np.sin(phi), np.cos(phi)]), np.array([1.0, 0, 0]),
                np.array([0, np.cos(phi), -np.sin(phi)]))

    def projected(self, view):
        """(P, dMd, L): P the 2x2 quadratic form of the projected ellipse, L = P^(-1/2)."""
        d, e1, e2 = self.frame(view)
        M = self.M
        dmd = float(d @ M @ d)
        full = M - np.outer(M @ d, M @ d) / dmd
        E = np.stack([e1, e2], axis=1)
        P = E.T @ full @ E
        w, V = np.linalg.eigh(P)
        L = V @ np.diag(w ** -0.5) @ V.T
        S = V @ np.diag(w ** 0.5) @ V.T  # P^(1/2)
        return P, dmd, L, S

    def outline(self, view, n=720):
        """Outline polygon of the body (offsets from the centre, full-resolution px)."""
        _, _, L, _ = self.projected(view)
        theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
        r = 1.0 + _delta(theta, self.ks, self.amp, self.phases[view])
        q = np.stack([r * np.cos(theta), r * np.sin(theta)])
        return (L @ q).T

    def radius(self, view):
        poly = self.outline(view)
        x, y = poly[:, 0], poly[:, 1]
        area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
        return math.sqrt(area / np.pi)

    def centroid_offset(self, view):
        poly = self.outline(view, n=1440)
        x, y = poly[:, 0], poly[:, 1]
        cross = x * np.roll(y, -1) - np.roll(x, -1) * y
        area = cross.sum() / 2
        return (np.sum((x + np.roll(x, -1)) * cross) / (6 * area),
                np.sum((y + np.roll(y, -1)) * cross) / (6 * area))


def _render_lesion(config, lesion: _Lesion, view, centre, rng, thick):
    """Lesion body mask, lesion path (cm), spicule path (cm), iodine (mg/cm^2), on the image grid."""
    rows, cols = thick.shape
    s = config.scale
    radius = lesion.radius(view)
    blur_px = lesion.softness * radius * s  # image px
    x0, x1, y0, y1 = _window(lesion, view, centre, s, radius, blur_px, rows, cols)
    mask = np.zeros((rows, cols), bool)
    chord = np.zeros((rows, cols))
    spic = np.zeros((rows, cols))
    iodine = np.zeros((rows, cols))
    if x1 <= x0 or y1 <= y0:
        return mask, chord, spic, iodine
    cx, cy = centre
    PX, PY = np.meshgrid(np.arange(x0, x1) / s - cx, np.arange(y0, y1) / s - cy)
    P, dmd, L, S = lesion.projected(view)
    qx = S[0, 0] * PX + S[0, 1] * PY
    qy = S[1, 0] * PX + S[1, 1] * PY
    rho = np.hypot(qx, qy)
    theta = np.arctan2(qy, qx).ravel()
    rho_eff = rho / (1.0 + _delta(theta, lesion.ks, lesion.amp, lesion.phases[view]).reshape(rho.shape))
    px_cm = FULL_SPACING_MM / 10.0
    half = 1.0 / math.sqrt(dmd) * px_cm  # half-chord at the centre, cm
    body = rho_eff < 1.0
    ch = 2.0 * half * np.sqrt(np.clip(1.0 - rho_eff ** 2, 0, None))
    io = _enhancement(lesion, rho_eff, ch, half, radius * s / 4.0, rng)
    if config.enhancement_depth_cm is not None:
        # iodine per area = concentration x a fixed depth, shaped by the path profile: the image
        # contrast follows the drawn concentration, not the lesion's size (package docstring)
        io = io * (config.enhancement_depth_cm / (2.0 * half))
    sp = _spicule_paths(lesion, view, PX, PY, L, radius, px_cm, np.zeros_like(ch))
    io = io + 0.5 * lesion.features["concentration_mg_ml"] * sp
    if blur_px > 0.3:
        ch = ndimage.gaussian_filter(ch, blur_px)
        io = ndimage.gaussian_filter(io, blur_px)
    cap = 0.9 * thick[y0:y1, x0:x1]
    ch = np.minimum(ch, cap)
    sp = np.minimum(sp, np.clip(cap - ch, 0, None))
    mask[y0:y1, x0:x1] = body
    chord[y0:y1, x0:x1] = ch
    spic[y0:y1, x0:x1] = sp
    iodine[y0:y1, x0:x1] = np.clip(io, 0, None)
    return mask, chord, spic, iodine


def _window(lesion: _Lesion, view, centre, s, radius, blur_px, rows, cols):
    """(x0, x1, y0, y1) image px that hold the lesion, its spicules and its blur (clipped to the image)."""
    cx, cy = centre
    poly = lesion.outline(view)
    spic_len = 1.3 * radius + 2.0 / FULL_SPACING_MM
    margin = (spic_len if lesion.spicules[view] else 0.0) + 4 * blur_px / s + 3 / s
    x0 = max(int(math.floor((cx + poly[:, 0].min() - margin) * s)), 0)
    x1 = min(int(math.ceil((cx + poly[:, 0].max() + margin) * s)) + 1, cols)
    y0 = max(int(math.floor((cy + poly[:, 1].min() - margin) * s)), 0)
    y1 = min(int(math.ceil((cy + poly[:, 1].max() + margin) * s)) + 1, rows)
    return x0, x1, y0, y1


def _enhancement(lesion: _Lesion, rho_eff, ch, half, noise_px, rng):
    """Iodine (mg/cm^2) along the lesion path ``ch`` by enhancement pattern: a rim around a
    weaker core, heterogeneous (strongly modulated) or homogeneous (faintly modulated)."""
    conc = lesion.features["concentration_mg_ml"]
    if lesion.features["enhancement_pattern"] == "rim":
        k = lesion.rim_core
        inner = 2.0 * half * k * np.sqrt(np.clip(1.0 - (rho_eff / k) ** 2, 0, None))
        return conc * (ch - 0.85 * inner)
    if lesion.features["enhancement_pattern"] == "heterogeneous":
        mod = np.clip(1.0 + 0.75 * _smooth_noise(ch.shape, noise_px, rng), 0.1, 2.5)
        return conc * ch * mod
    mod = 1.0 + 0.06 * _smooth_noise(ch.shape, noise_px, rng)
    return conc * ch * mod


def _spicule_paths(lesion: _Lesion, view, PX, PY, L, radius, px_cm, sp):
    """Path (cm) through the spicules: thin tapering dense strands from the outline outwards."""
    for angle, turn, rel_len, width_mm in lesion.spicules[view]:
        r_out = 1.0 + float(_delta(np.array([angle]), lesion.ks, lesion.amp, lesion.phases[view])[0])
        base = L @ np.array([np.cos(angle), np.sin(angle)]) * r_out * 0.85
        direction = np.arctan2(base[1], base[0]) + turn
        length = rel_len * radius
        u = np.array([np.cos(direction), np.sin(direction)])
        rel_x, rel_y = PX - base[0], PY - base[1]
        t = (rel_x * u[0] + rel_y * u[1]) / length
        perp = np.abs(-rel_x * u[1] + rel_y * u[0])
        r_sp = 0.5 * width_mm / FULL_SPACING_MM * np.clip(1.0 - t, 0, 1) * (t >= -0.1)
        # a spicule is a thin sheet-like strand: its path along the ray is ~3x its width
        sp = np.maximum(sp, SPICULE_DEPTH * 2.0 * np.sqrt(np.clip(r_sp ** 2 - perp ** 2, 0, None)) * px_cm)
    return sp
