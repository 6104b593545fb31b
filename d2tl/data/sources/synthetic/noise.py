"""Random fields: power-law (1/f^beta) and smooth Gaussian noise, and the smooth steps built on them."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def _power_law_amplitude(shape, pixel_mm, beta, f0, stretch):
    rows, cols = shape
    fy = np.fft.fftfreq(rows, d=pixel_mm)[:, None]
    fx = np.fft.rfftfreq(cols, d=pixel_mm)[None, :]
    f2 = (fx * stretch) ** 2 + fy ** 2 + f0 ** 2
    return (f2 ** (-beta / 4.0)).astype(np.float32)


def _power_law_noise(shape, pixel_mm, beta, rng, f0=1 / 60.0, stretch=1.0):
    """Zero-mean, unit-SD noise with power spectrum (f^2 + f0^2)^(-beta/2), f in cycles/mm.

    ``stretch`` > 1 makes structures that many times longer along columns (x) than rows.
    The result is periodic (so sampling it with ``mode='wrap'`` is seamless).
    """
    amplitude = _power_law_amplitude(tuple(shape), float(pixel_mm), float(beta), float(f0), float(stretch))
    white = rng.standard_normal(shape, dtype=np.float32)
    field = np.fft.irfft2(np.fft.rfft2(white) * amplitude, s=shape)
    field -= field.mean()
    return (field / (field.std() + 1e-12)).astype(np.float32)


def _smooth_noise(shape, sigma_px, rng):
    """Zero-mean, unit-SD white noise low-passed by a Gaussian of ``sigma_px`` (via FFT, periodic)."""
    rows, cols = shape
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    kernel = np.exp(-2.0 * (np.pi * max(float(sigma_px), 0.5)) ** 2 * (fx ** 2 + fy ** 2))
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) * kernel, s=shape)
    field -= field.mean()
    return field / (field.std() + 1e-12)


def _smoothstep(x, lo, hi):
    t = np.clip((x - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    return t * t * (3 - 2 * t)

def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))
