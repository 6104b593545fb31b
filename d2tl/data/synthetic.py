"""The built-in synthetic CEDM data set: a physically grounded dual-energy breast phantom.

The paper's 96 patients are private, so d2tl ships a generator of look-alike cases, written as
real MG DICOM files (headers as DICOM PS3.3 describes a CEDM image, see
:mod:`d2tl.data.synthetic_dicom`) with a case table (:mod:`d2tl.data.cases`), true lesion masks and a
``dataset.json`` holding every parameter and each case's ground truth. Everything is
deterministic from :attr:`SynthConfig.seed`; case ``i`` depends only on the seed and ``i``.

Generative model (one breast, one mass per case; two views, CC and MLO)
----------------------------------------------------------------------
**Detector and geometry.** A Hologic-like detector of 3328 rows x 2560 columns at 0.07 mm
("full resolution"). Images are generated directly at ``scale`` image pixels per full-resolution
pixel (default 0.25: 832 x 640 px of 0.28 mm; DICOM PixelSpacing = 0.07 / scale). Every length
(lesion size, texture, vessels, box jitter) is defined in mm or full-resolution px and
multiplied by ``scale``. Storage follows real data (checked on CDD-CESM): a left breast has its
chest wall at column 0 and the nipple pointing right; a right breast is stored mirrored. The
laterality is drawn per case (1/2 each); box centres and masks are in stored coordinates.

**Breast.** A compressed breast of thickness T (CC ~ N(5.5, 1) cm, clipped to 3-8 cm; MLO 0-15 %
thicker) whose outline is a superellipse against the chest wall, x_edge(y) = D (1 -
|(y - y_n)/H|^p)^(1/p), with nipple depth D, half-heights H (upper and lower), nipple row y_n and
exponent p drawn per patient. The MLO outline's upper half-height reaches past the top edge
(axillary tail), and a pectoral-muscle wedge with a slightly curved front fills the top
chest-wall corner. Thickness: uniform T inside (with a small paddle tilt), and a semicircular
edge of radius T/2 towards the skin line, so the projected path falls to 0 at the outline; a
1.5 mm skin layer gives the bright skin line of LE images.

**Fibroglandular tissue.** Power-law noise 1/f^beta (beta = 3, Burgess 2001) made by FFT in
physical frequency units, plus a second, strongly anisotropic component sampled in polar
coordinates around the nipple (strands converging on it, like ducts and Cooper ligaments).
Their sum plus a spatial prior (a subcutaneous fat layer of 3-12 mm with no glandular tissue,
more glandular tissue towards the chest wall and the breast's centre line) goes through a soft
threshold chosen so that the mean glandular fraction of the path equals the patient's
volumetric density (uniform 5-50 %). The CC and MLO views are independent realisations of the
same patient's statistics (a 2-D approximation of one 3-D breast). A few tortuous vessels run
from the chest wall towards the nipple (radius 0.4-1.1 mm, tapering).

**Dual energy.** Each pixel's path is projected with Beer-Lambert at an effective (mono-
energetic) energy per exposure: A(E) = mu_fat T + (mu_gland - mu_fat)(t_gland + t_skin) +
(mu_muscle - mu_fat) t_muscle + sum over lesion and vessels of (mu_x - mu_local) chord_x +
(mu/rho)_iodine(E) m_iodine, with tissue coefficients after Johns & Yaffe (1987) and iodine mass
attenuation after NIST XCOM (K-edge 33.17 keV: iodine attenuates relatively much more at HE).
The kVp comes from the thickness as an automatic exposure control would choose it: LE 26-32 kVp
(effective energy 19-21 keV, W/Rh-like), HE 45-49 kVp (34.5-36 keV, above the K-edge,
W/Cu-like). Detector counts are N = N0 exp(-A) with N0 set so that the breast's median path gets
``photons_le`` / ``photons_he`` quanta per full-resolution pixel (times 1/scale^2 per image
pixel), with Gaussian-approximated Poisson noise, independent per exposure.

**Stored values.** LE and HE images store the inverse transmission N0 / N, so ln(LE) is the
projected attenuation and larger = denser = brighter, as in a presentation mammogram. The
recombined image is the vendors' weighted log subtraction, computed by
:func:`d2tl.data.images.recombine` from the noisy LE and HE: rec = ln(HE) - w ln(LE) =
A_HE - w A_LE, with w = (mu_gland - mu_fat)_HE / (mu_gland - mu_fat)_LE at the view's effective
energies (about 0.22), times (1 + e), e ~ N(0, ``cancellation_error``): the calibration's
imperfect cancellation (beam hardening, scatter) leaves a faint glandular residue. So in the
recombined image glandular contrast cancels; what remains is a smooth thickness term
(~0.13 T per cm), iodine (lesion, vessels, background parenchymal enhancement (BPE) with
0.02-0.25 mg/ml in glandular tissue, slight muscle uptake) and noise. The per-view weight is
in ``dataset.json`` and in the case table's extra columns ``cc_rec_weight``, ``mlo_rec_weight``:
``recombine(LE, HE, weight)`` of the written files gives back the written recombined image up
to quantisation.

**Lesion.** A 3-D ellipsoid (semi-axes a, b in the CC image plane, c along the CC projection,
compressed to at most 0.4 T), rotated in the CC plane. Its projection in each view is exact for
the ellipsoid: the outline is the projected ellipse and the path length the chord along the
view's projection direction (vertical for CC, oblique at 40-60 degrees for MLO), so both views
show the same body. The projected outline is then perturbed by a Fourier series of the polar
angle (margin irregularity; same amplitudes in both views, phases per view, a 2-D approximation
of an irregular 3-D body) and may carry spicules (thin dense tapering strands, drawn per view).
Position: one 3-D
position gives the same distance from the nipple in both views and a cross coordinate that is
mediolateral in CC and oblique in MLO; it is redrawn until the body lies inside the breast (3 mm
from the skin, outside the pectoral muscle) in both views. Size: the longer side of the lesion's
smallest axis-aligned enclosing rectangle in the CC view (body, without spicules) at full
resolution. Sizes are the log-spaced quantiles of ``size_range`` (35 to 1175 px, the paper's
range), one set per class, shuffled within the class, so both classes span the range with the
same size distribution (no size shortcut). In LE the mass is 2-5 % denser than glandular tissue
and replaces the local fat/gland mixture along its chord; in the recombined image its iodine
(concentration x chord) shows as enhancement. The mask is the projected body (spicules
excluded), in stored coordinates.

**Class signal** (BI-RADS mass and CEM lexicon). Four features, each drawn from the
distribution of a "presented" class:

- shape: benign oval (aspect 0.55-0.75) or round, with a nearly circular outline; malignant
  irregular (strong low-order Fourier perturbation) or spiculated (milder irregularity plus 6-16
  spicules). Malignant-presented masses are also slightly denser in LE (5 % vs 2 %);
- margin: benign circumscribed (sharp edge); malignant indistinct (edge blurred by 6-15 % of
  the radius);
- enhancement strength: iodine concentration log-normal, benign median 0.75 mg/ml (SD of the
  log 0.35), malignant 1.6 mg/ml (0.30), overlapping;
- enhancement pattern: benign homogeneous; malignant heterogeneous (patchy) or rim (a 3-D shell
  around a weakly enhancing core).

**Difficulty** d in [0, 1]: each feature's presented class is the other class with probability
d / 2, independently per feature. d = 0: every feature typical of the case's class (easy); d = 1:
every feature independent of the label (each from either class with probability 1/2), so the
classes are indistinguishable. The default d = 0.25 makes each feature typical with
probability 0.875, so an ideal observer reading the four presented classes by majority (ties
broken at random) is right 95.7 % of the time. It was 0.5 (84.4 %) until generator version 2; that
put the paper's own 80 % at the ceiling, leaving no room for the comparisons of Sec. 4.1-4.4
(80 % vs 65 %, say) to show, so the default was lowered before any model was tuned on it
(``--difficulty 0.5`` gives the old set).
Nothing else depends on the class (size, position, breast, density, BPE, laterality, dose).

**Box centres.** The paper's boxes were centred "roughly" by a non-expert on the recombined
image (Sec. 3.1, 4.2: "already quite rough"). The case table's box centre per view is the lesion
body's centroid plus Gaussian jitter with standard deviation ``placement_jitter`` full-resolution
px per axis, drawn independently per view (clipped to the image); the masks stay the truth. The
default, 20 px per axis (1.4 mm; radial error median 24 px, RMS 28 px), puts the rough placement at
the size of the paper's 20 px shift, which it found harmless; until generator version 2 it was
8 px, closer to an expert's click. Sec. 4.2's shifts are added to the jittered centre, so a
shift s leaves the box centre at a mean squared distance 2 x 20^2 + s^2 px^2 from the lesion's.

Not modelled (simplifications): scatter, heel effect, detector blur and electronic noise,
beam hardening (except through the cancellation error), microcalcifications, the nipple
itself, architectural distortion, non-mass enhancement, and 3-D consistency of the
fibroglandular texture between the two views.

Output folder (written atomically)::

    cases.csv                               the case table (d2tl.data.cases)
    dataset.json                            parameters, seed, d2tl version, per-case truth
    images/<id>/<id>_<L|R>_<LE|REC|HE>_<CC|MLO>.dcm
    masks/<id>_<CC|MLO>.png                 uint8 0/255, stored orientation
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from .. import __version__
from ..atomic import atomic_path
from ..errors import D2TLError, DataError
from ..views import LABELS, VIEWS
from .images import recombine

COMMAND_HELP = "write the synthetic CEDM data set (DICOM, masks, case table)"

FULL_ROWS, FULL_COLS = 3328, 2560  # Hologic Selenia Dimensions detector
FULL_SPACING_MM = 0.07
GENERATOR = "d2tl.data.synthetic"
GENERATOR_VERSION = 2  # bump when the same seed would give different images

FEATURES = ("shape", "margin", "enhancement_strength", "enhancement_pattern")
VIEW_CODES = {"cc": "CC", "mlo": "MLO"}

# --- attenuation data -------------------------------------------------------------------------
# Linear attenuation coefficients (1/cm) of breast tissues after Johns & Yaffe (1987), tabulated
# at these energies (keV) and interpolated log-log in between.
_E = np.array([15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 50.0])
_MU_FAT = np.array([0.86, 0.456, 0.322, 0.264, 0.233, 0.214, 0.193])
_MU_GLAND = np.array([1.64, 0.802, 0.508, 0.378, 0.314, 0.278, 0.241])
IODINE_K_EDGE_KEV = 33.17
MUSCLE_FACTOR = 1.05  # muscle and blood ~ 5 % more attenuating than glandular tissue
BLOOD_FACTOR = 1.05
MUSCLE_IODINE = 0.2  # mg/ml, uptake of the pectoral muscle
BLOOD_IODINE = (2.0, 3.5)  # mg/ml, range drawn per patient (about 2 min after injection)
SPICULE_DEPTH = 3.0  # path length of a spicule along the ray / its width
ENHANCEMENT_MEDIAN = {"benign": 0.75, "malignant": 1.6}  # mg/ml iodine in the lesion, log-normal


def _loglog(e, table):
    return float(np.exp(np.interp(np.log(e), np.log(_E), np.log(table))))


def mu_fat(energy_kev: float) -> float:
    """Linear attenuation of adipose tissue (1/cm)."""
    return _loglog(energy_kev, _MU_FAT)


def mu_gland(energy_kev: float) -> float:
    """Linear attenuation of fibroglandular tissue (1/cm)."""
    return _loglog(energy_kev, _MU_GLAND)


def mu_iodine(energy_kev: float) -> float:
    """Mass attenuation of iodine in cm^2/mg (NIST XCOM, power law on each side of the K-edge)."""
    jump = 6.55 if energy_kev < IODINE_K_EDGE_KEV else 35.8  # cm^2/g just below / above the edge
    return jump * (IODINE_K_EDGE_KEV / energy_kev) ** 2.75 / 1000.0


def le_kvp(thickness_cm: float) -> int:
    """Automatic exposure control: LE tube voltage from the compressed thickness (26-32 kVp)."""
    return int(np.clip(round(26 + 1.5 * (thickness_cm - 3.0)), 26, 32))


def he_kvp(thickness_cm: float) -> int:
    """HE tube voltage from the compressed thickness (45-49 kVp)."""
    return int(np.clip(round(45 + 1.0 * (thickness_cm - 3.0)), 45, 49))


def effective_energy(kvp: float) -> float:
    """Effective energy (keV) of the LE (W/Rh-like) or HE (W/Cu-like) beam."""
    if kvp < 40:
        return 19.0 + 0.35 * (kvp - 26)
    return 34.5 + 0.4 * (kvp - 45)


def cancelling_weight(e_le: float, e_he: float) -> float:
    """The weight w that cancels glandular-vs-fat contrast in ln(HE) - w ln(LE)."""
    return (mu_gland(e_he) - mu_fat(e_he)) / (mu_gland(e_le) - mu_fat(e_le))


# --- configuration ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """Every parameter of the synthetic data set (all lengths in full-resolution px or mm)."""

    n_cases: int = 96
    malignant_fraction: float = 0.5
    seed: int = 0
    scale: float = 0.25  # image px per full-resolution (0.07 mm) px
    difficulty: float = 0.25  # 0 easy ... 1 class features independent of the label
    placement_jitter: float = 20.0  # SD per axis of the box-centre error, full-resolution px
    size_range: tuple[float, float] = (35.0, 1175.0)  # lesion long side, full-resolution px
    write_he: bool = False  # also write the high-energy images
    photons_le: float = 12000.0  # quanta per full-resolution px behind the median path, LE
    photons_he: float = 6000.0  # same for HE
    cancellation_error: float = 0.03  # SD of the relative error of the recombination weight
    density_range: tuple[float, float] = (0.05, 0.50)  # volumetric glandular fraction
    bpe_range: tuple[float, float] = (0.02, 0.25)  # mg/ml iodine in glandular tissue
    bits_stored: int = 12  # DICOM BitsStored

    def __post_init__(self):
        def bad(msg):
            raise D2TLError(f"synthetic data: {msg}")

        if int(self.n_cases) != self.n_cases or self.n_cases < 1:
            bad(f"n_cases must be a positive integer, got {self.n_cases}")
        if not 0 <= self.malignant_fraction <= 1:
            bad(f"malignant_fraction must be in [0, 1], got {self.malignant_fraction}")
        if not 0 < self.scale <= 1:
            bad(f"scale must be in (0, 1], got {self.scale}")
        if not 0 <= self.difficulty <= 1:
            bad(f"difficulty must be in [0, 1], got {self.difficulty}")
        if self.placement_jitter < 0:
            bad(f"placement_jitter must be >= 0, got {self.placement_jitter}")
        lo, hi = self.size_range
        if not 10 <= lo <= hi <= 1400:
            bad(f"size_range must satisfy 10 <= min <= max <= 1400 full-resolution px, got {self.size_range}")
        if self.photons_le <= 0 or self.photons_he <= 0:
            bad("photon counts must be positive")
        if self.cancellation_error < 0:
            bad(f"cancellation_error must be >= 0, got {self.cancellation_error}")
        d0, d1 = self.density_range
        if not 0 < d0 <= d1 < 0.9:
            bad(f"density_range must satisfy 0 < min <= max < 0.9, got {self.density_range}")
        b0, b1 = self.bpe_range
        if not 0 <= b0 <= b1:
            bad(f"bpe_range must satisfy 0 <= min <= max, got {self.bpe_range}")
        if not 8 <= self.bits_stored <= 16:
            bad(f"bits_stored must be 8..16, got {self.bits_stored}")
        object.__setattr__(self, "size_range", (float(lo), float(hi)))
        object.__setattr__(self, "density_range", (float(d0), float(d1)))
        object.__setattr__(self, "bpe_range", (float(b0), float(b1)))

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(round(FULL_ROWS * self.scale)), int(round(FULL_COLS * self.scale))

    @property
    def pixel_mm(self) -> float:
        return FULL_SPACING_MM / self.scale

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def case_id(index: int, n_cases: int = 96) -> str:
    return f"P{index + 1:0{max(3, len(str(n_cases)))}d}"


@lru_cache(maxsize=32)
def _plan(config: SynthConfig) -> tuple[tuple[str, float], ...]:
    """(label, size) per case: labels shuffled, sizes log-spaced per class and shuffled."""
    rng = np.random.default_rng([config.seed, 0])
    n = config.n_cases
    n_mal = int(round(n * config.malignant_fraction))
    labels = np.array(["malignant"] * n_mal + ["benign"] * (n - n_mal))
    labels = labels[rng.permutation(n)]
    lo, hi = config.size_range
    sizes = np.empty(n)
    for label in LABELS:
        where = np.flatnonzero(labels == label)
        k = len(where)
        if k == 0:
            continue
        quantiles = np.geomspace(lo, hi, k) if k > 1 else np.array([math.sqrt(lo * hi)])
        sizes[where] = quantiles[rng.permutation(k)]
    return tuple((str(lab), float(s)) for lab, s in zip(labels, sizes))


def case_labels(config: SynthConfig) -> list[str]:
    """The label of every case (no images needed)."""
    return [label for label, _ in _plan(config)]


def lesion_sizes(config: SynthConfig) -> np.ndarray:
    """Each case's lesion size: long side of the CC body's enclosing rectangle, full-res px."""
    return np.array([size for _, size in _plan(config)])


# --- random fields ----------------------------------------------------------------------------
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


# --- breast geometry --------------------------------------------------------------------------
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


# --- lesion -----------------------------------------------------------------------------------
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


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


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


def _render_lesion(config, lesion: _Lesion, view, centre, rng, thick):
    """Lesion body mask, lesion path (cm), spicule path (cm), iodine (mg/cm^2), on the image grid."""
    rows, cols = thick.shape
    s = config.scale
    cx, cy = centre
    poly = lesion.outline(view)
    radius = lesion.radius(view)
    spic_len = 1.3 * radius + 2.0 / FULL_SPACING_MM
    blur_px = lesion.softness * radius * s  # image px
    margin = (spic_len if lesion.spicules[view] else 0.0) + 4 * blur_px / s + 3 / s
    x0 = max(int(math.floor((cx + poly[:, 0].min() - margin) * s)), 0)
    x1 = min(int(math.ceil((cx + poly[:, 0].max() + margin) * s)) + 1, cols)
    y0 = max(int(math.floor((cy + poly[:, 1].min() - margin) * s)), 0)
    y1 = min(int(math.ceil((cy + poly[:, 1].max() + margin) * s)) + 1, rows)
    mask = np.zeros((rows, cols), bool)
    chord = np.zeros((rows, cols))
    spic = np.zeros((rows, cols))
    iodine = np.zeros((rows, cols))
    if x1 <= x0 or y1 <= y0:
        return mask, chord, spic, iodine
    px = np.arange(x0, x1) / s - cx
    py = np.arange(y0, y1) / s - cy
    PX, PY = np.meshgrid(px, py)
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
    feats = lesion.features
    conc = feats["concentration_mg_ml"]
    if feats["enhancement_pattern"] == "rim":
        k = lesion.rim_core
        inner = 2.0 * half * k * np.sqrt(np.clip(1.0 - (rho_eff / k) ** 2, 0, None))
        io = conc * (ch - 0.85 * inner)
    elif feats["enhancement_pattern"] == "heterogeneous":
        mod = np.clip(1.0 + 0.75 * _smooth_noise(ch.shape, radius * s / 4.0, rng), 0.1, 2.5)
        io = conc * ch * mod
    else:
        mod = 1.0 + 0.06 * _smooth_noise(ch.shape, radius * s / 4.0, rng)
        io = conc * ch * mod
    # spicules: thin tapering dense strands from the outline outwards, weakly enhancing
    sp = np.zeros_like(ch)
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
    io = io + 0.5 * conc * sp
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


def _expose(config, energy, A_parts, iodine, n_ref, ref_mask, rng):
    """Inverse transmission N0/N with quantum noise for one exposure at ``energy`` keV."""
    mf, mg = mu_fat(energy), mu_gland(energy)
    A = (mf * A_parts["thick"] + (mg - mf) * (A_parts["gland"] + A_parts["skin"])
         + (MUSCLE_FACTOR * mg - mf) * A_parts["muscle"] + mu_iodine(energy) * iodine)
    mix = mf + (mg - mf) * A_parts["gfrac"]
    A += (A_parts["lesion_factor"] * mg - mix) * A_parts["lesion"]
    A += (BLOOD_FACTOR * mg - mix) * A_parts["vessel"]
    a_ref = float(np.median(A[ref_mask])) if ref_mask.any() else float(A.max())
    n0 = n_ref * math.exp(a_ref) / config.scale ** 2  # AEC: the median path gets n_ref quanta
    counts = n0 * np.exp(-A)
    noisy = counts + np.sqrt(counts) * rng.standard_normal(A.shape, dtype=np.float32)
    return (n0 / np.clip(noisy, 1.0, None)).astype(np.float32)


def generate_case(config: SynthConfig, index: int) -> dict:
    """One case, in memory (no I/O): images, masks and truth, in stored orientation.

    Returns a dict with ``id``, ``label``, ``laterality``, ``images`` (``le_cc``, ``le_mlo``,
    ``rec_cc``, ``rec_mlo``, ``he_cc``, ``he_mlo``: float32 arrays), ``masks`` and ``breasts``
    (per view, bool), ``centres`` (per view, the lesion body's centroid (x, y) in stored image
    px), ``boxes`` (per view, the jittered box centre written to the case table), ``kvp``,
    ``weights`` (per view recombination weight) and ``truth`` (JSON-ready).
    """
    if not 0 <= index < config.n_cases:
        raise D2TLError(f"synthetic data: case index {index} outside 0..{config.n_cases - 1}")
    label, size = _plan(config)[index]
    rng = np.random.default_rng([config.seed, 1, index])
    cid = case_id(index, config.n_cases)
    laterality = "L" if rng.random() < 0.5 else "R"
    density = float(rng.uniform(*config.density_range))
    bpe = float(rng.uniform(*config.bpe_range))
    blood = float(rng.uniform(*BLOOD_IODINE))
    presented, features = _draw_features(rng, label, config.difficulty)

    # breasts and a lesion position that fits both views (grow the breast if it cannot)
    breast_rng_state = rng.bit_generator.state
    grow = 1.0
    for attempt in range(40):
        rng.bit_generator.state = breast_rng_state
        breasts = _draw_breasts(rng, grow)
        lesion = _Lesion(rng, size, features, breasts["cc"].thickness_cm)
        polys = {v: lesion.outline(v, n=180) for v in VIEWS}
        placed = None
        for _ in range(200):
            cc, mlo = breasts["cc"], breasts["mlo"]
            to_nipple = cc.depth * rng.uniform(0.15, 0.85)
            v, w = rng.uniform(-0.8, 0.8, 2)
            x_cc = cc.depth - to_nipple
            y_cc = cc.nipple_y + v * cc.half_height(x_cc, v < 0)
            x_m = mlo.depth - to_nipple
            s_m = float(np.clip(v * np.cos(lesion.angle_mlo) - w * np.sin(lesion.angle_mlo), -0.85, 0.85))
            y_m = mlo.nipple_y + s_m * mlo.half_height(x_m, s_m < 0)
            centres = {"cc": (x_cc, y_cc), "mlo": (x_m, y_m)}
            margin = 3.0 / FULL_SPACING_MM
            if all(breasts[vw].contains(centres[vw][0] + polys[vw][:, 0], centres[vw][1] + polys[vw][:, 1],
                                        margin).all() for vw in VIEWS):
                placed = centres
                break
        if placed is not None:
            break
        grow *= 1.07
    else:
        raise D2TLError(f"synthetic data: patient {cid}: could not fit a {size:.0f} px lesion in the breast")

    rows, cols = config.image_shape
    images, masks, breast_masks, centres_out, boxes, kvps, weights, view_truth = {}, {}, {}, {}, {}, {}, {}, {}
    for view in VIEWS:
        breast = breasts[view]
        inside, thick, skin, muscle, dist_mm, X, Y = _breast_maps(config, breast, rng)
        t_gland, gfrac = _glandular(config, breast, rng, inside, thick, skin, muscle, dist_mm, X, Y, density)
        vessel = _vessels(config, breast, rng, inside)
        mask, chord, spic, io_lesion = _render_lesion(config, lesion, view, placed[view], rng, thick)
        patchy = _smooth_noise(inside.shape, 15.0 / config.pixel_mm, rng)  # BPE varies over ~15 mm
        bpe_map = bpe * t_gland * np.clip(1.0 + 0.5 * patchy, 0.2, 2.0)
        iodine = bpe_map + io_lesion + blood * vessel + MUSCLE_IODINE * muscle
        gf = np.where(thick > 0, t_gland / np.maximum(thick, 1e-6), 0.0)
        parts = {"thick": thick, "gland": t_gland, "skin": skin, "muscle": muscle, "gfrac": gf,
                 "lesion": chord + spic, "vessel": vessel, "lesion_factor": lesion.density_factor}
        kv_le, kv_he = le_kvp(breast.thickness_cm), he_kvp(breast.thickness_cm)
        e_le, e_he = effective_energy(kv_le), effective_energy(kv_he)
        weight = cancelling_weight(e_le, e_he) * (1.0 + rng.normal(0.0, config.cancellation_error))
        ref = inside & (dist_mm > 20.0)
        le = _expose(config, e_le, parts, iodine, config.photons_le, ref, rng)
        he = _expose(config, e_he, parts, iodine, config.photons_he, ref, rng)
        rec = recombine(le, he, weight)
        cx_full, cy_full = placed[view]
        ox, oy = lesion.centroid_offset(view)
        centre = ((cx_full + ox) * config.scale, (cy_full + oy) * config.scale)
        jitter = rng.normal(0.0, config.placement_jitter, 2) * config.scale
        box = (float(np.clip(centre[0] + jitter[0], 0, cols - 1)), float(np.clip(centre[1] + jitter[1], 0, rows - 1)))
        if laterality == "R":
            le, he, rec = le[:, ::-1], he[:, ::-1], rec[:, ::-1]
            mask, inside = mask[:, ::-1], inside[:, ::-1]
            centre = (cols - 1 - centre[0], centre[1])
            box = (cols - 1 - box[0], box[1])
        images[f"le_{view}"] = np.ascontiguousarray(le)
        images[f"he_{view}"] = np.ascontiguousarray(he)
        images[f"rec_{view}"] = np.ascontiguousarray(rec)
        masks[view] = np.ascontiguousarray(mask)
        breast_masks[view] = np.ascontiguousarray(inside)
        centres_out[view] = (float(centre[0]), float(centre[1]))
        boxes[view] = box
        kvps[view] = {"le": kv_le, "he": kv_he}
        weights[view] = float(weight)
        ext = np.ptp(polys[view], axis=0)
        view_truth[view] = {
            "lesion_centre_px": [round(c, 2) for c in centres_out[view]],
            "box_centre_px": [round(c, 2) for c in box],
            "lesion_bbox_full_px": [round(float(ext[0]), 1), round(float(ext[1]), 1)],
            "lesion_pixels": int(mask.sum()),
            "thickness_cm": round(breast.thickness_cm, 2),
            "kvp_le": kv_le, "kvp_he": kv_he,
            "effective_energy_kev": [round(e_le, 2), round(e_he, 2)],
            "rec_weight": round(float(weight), 5),
            "spicules": len(lesion.spicules[view]),
        }
    truth = {
        "id": cid, "label": label, "laterality": laterality,
        "size_full_px": round(size, 1),
        "shape": features["shape"], "margin": features["margin"],
        "enhancement_pattern": features["enhancement_pattern"],
        "enhancement_mg_ml": round(features["concentration_mg_ml"], 3),
        "presented_class": presented,
        "typical_features": sum(presented[f] == label for f in FEATURES),
        "density": round(density, 3), "bpe_mg_ml": round(bpe, 3), "blood_iodine_mg_ml": round(blood, 2),
        "mlo_angle_deg": round(float(np.rad2deg(lesion.angle_mlo)), 1),
        "views": view_truth,
    }
    return {"id": cid, "label": label, "laterality": laterality, "images": images, "masks": masks,
            "breasts": breast_masks, "centres": centres_out, "boxes": boxes, "kvp": kvps,
            "weights": weights, "truth": truth}


# --- writing ----------------------------------------------------------------------------------
def _write_case(config: SynthConfig, index: int, folder: str) -> dict:
    """Generate case ``index`` and write its files under ``folder``; return its case-table row."""
    from PIL import Image
    from pydicom.uid import generate_uid

    from .synthetic_dicom import write_case_images

    folder = Path(folder)
    case = generate_case(config, index)
    cid, lat = case["id"], case["laterality"]
    image_dir = folder / "images" / cid
    image_dir.mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(exist_ok=True)
    study_uid = generate_uid(entropy_srcs=[GENERATOR, str(config.seed), cid])
    row = {"id": cid, "group": cid, "label": case["label"], "laterality": lat, "scale": config.scale}
    row.update(write_case_images(case, image_dir, pixel_mm=config.pixel_mm, bits_stored=config.bits_stored,
                                 study_uid=study_uid, write_he=config.write_he))
    for view in VIEWS:
        code = VIEW_CODES[view]
        mask_path = folder / "masks" / f"{cid}_{code}.png"
        Image.fromarray((case["masks"][view] * 255).astype(np.uint8)).save(mask_path)
        row[f"{view}_mask_path"] = str(mask_path)
        row[f"{view}_x"], row[f"{view}_y"] = (round(c, 2) for c in case["boxes"][view])
        row[f"{view}_rec_weight"] = round(case["weights"][view], 6)
    return {"row": row, "truth": case["truth"]}


def write_dataset(config: SynthConfig, out_dir, overwrite: bool = False, workers: int = 1,
                  progress=None) -> Path:
    """Write the data set to ``out_dir`` (atomically) and return the path of its ``cases.csv``.

    Refuses to replace an existing non-empty folder unless ``overwrite``. ``workers`` > 1
    generates cases in parallel processes (the result does not depend on it).
    """
    import pandas as pd

    from .cases import write_cases
    from .oracle import oracle_block

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"output {out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise DataError(f"output folder {out_dir} exists and is not empty; "
                        f"choose another folder or allow overwriting (--overwrite)")
    start = time.perf_counter()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        results = []
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_write_case, config, i, str(tmp)) for i in range(config.n_cases)]
                for i, future in enumerate(futures):
                    results.append(future.result())
                    if progress:
                        progress(i + 1, config.n_cases)
        else:
            for i in range(config.n_cases):
                results.append(_write_case(config, i, str(tmp)))
                if progress:
                    progress(i + 1, config.n_cases)
        write_cases(pd.DataFrame([r["row"] for r in results]), tmp / "cases.csv")
        meta = {
            "name": out_dir.name,
            "generator": GENERATOR,
            "generator_version": GENERATOR_VERSION,
            "d2tl_version": __version__,
            "seed": config.seed,
            "config": config.to_dict(),
            "image_shape": list(config.image_shape),
            "pixel_spacing_mm": config.pixel_mm,
            "full_resolution": {"rows": FULL_ROWS, "cols": FULL_COLS, "pixel_spacing_mm": FULL_SPACING_MM},
            "conventions": {
                "le_he_values": "inverse transmission N0/N (ln = projected attenuation; larger = denser)",
                "recombined": "ln(HE) - w ln(LE), w per view in cases",
                "orientation": "L: chest wall at column 0; R: stored mirrored",
                "box_centre": f"lesion centroid + N(0, {config.placement_jitter}) full-resolution px per axis",
                "size": "long side of the CC lesion body's enclosing rectangle, full-resolution px",
            },
            "generation_seconds": round(time.perf_counter() - start, 2),
            # the best any reader could do on these cases: majority vote and Bayes rule (d2tl.data.oracle)
            "oracle": oracle_block([r["truth"] for r in results], config.difficulty,
                                   config.malignant_fraction, ENHANCEMENT_MEDIAN),
            "cases": [r["truth"] for r in results],
        }
        (tmp / "dataset.json").write_text(json.dumps(meta, indent=1) + "\n")
    return out_dir / "cases.csv"


# --- command ----------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    d = SynthConfig()
    parser.add_argument("--out", default="data/synthetic", help="output folder (default: %(default)s)")
    parser.add_argument("--n", type=int, default=d.n_cases, help="number of cases (default: %(default)s)")
    parser.add_argument("--malignant-fraction", type=float, default=d.malignant_fraction,
                        help="fraction of malignant cases (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--scale", type=float, default=d.scale,
                        help="image px per full-resolution 0.07 mm px; 1 = 3328x2560 (default: %(default)s)")
    parser.add_argument("--difficulty", type=float, default=d.difficulty,
                        help="0 = class features always typical, 1 = independent of the label (default: %(default)s)")
    parser.add_argument("--placement-jitter", type=float, default=d.placement_jitter,
                        help="SD of the box-centre error per axis, full-resolution px (default: %(default)s)")
    parser.add_argument("--write-he", action="store_true", help="also write the high-energy images")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--workers", type=int, default=0,
                        help="parallel processes (default: 0 = up to 4, one per CPU core)")


def run(args) -> int:
    from .. import checks

    checks.count("--n", args.n, low=1, high=checks.MAX_COUNT)
    checks.number("--malignant-fraction", args.malignant_fraction, low=0, high=1)
    checks.count("--seed", args.seed, low=0, high=2**32 - 1)
    checks.number("--scale", args.scale, low=0, low_open=True, high=1, why="1 = full resolution")
    checks.number("--difficulty", args.difficulty, low=0, high=1)
    checks.number("--placement-jitter", args.placement_jitter, low=0, high=checks.MAX_BOX)
    checks.count("--workers", args.workers, low=0, high=256)
    checks.output_folder("--out", args.out, "data set folder")
    config = SynthConfig(n_cases=args.n, malignant_fraction=args.malignant_fraction, seed=args.seed,
                         scale=args.scale, difficulty=args.difficulty, placement_jitter=args.placement_jitter,
                         write_he=args.write_he)
    workers = args.workers or min(4, os.cpu_count() or 1)
    existing = Path(args.out) / "dataset.json"
    if not args.overwrite and existing.is_file() and (Path(args.out) / "cases.csv").is_file():
        try:
            same = json.loads(existing.read_text()).get("config") == json.loads(json.dumps(config.to_dict()))
        except json.JSONDecodeError:
            same = False
        if same:
            print(f"{args.out}/ already holds this data set (same configuration); nothing to do "
                  f"(--overwrite to write it again)")
            print(f"case table: {Path(args.out) / 'cases.csv'}")
            return 0
    start = time.perf_counter()
    csv = write_dataset(config, args.out, overwrite=args.overwrite, workers=workers)
    seconds = time.perf_counter() - start
    folder = csv.parent
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    labels = case_labels(config)
    rows, cols = config.image_shape
    print(f"wrote {config.n_cases} cases ({labels.count('malignant')} malignant, {labels.count('benign')} benign), "
          f"{rows}x{cols} px at {config.pixel_mm:.3g} mm, to {folder}/ ({size / 1e6:.1f} MB) "
          f"in {seconds:.1f} s with {workers} process(es)")
    print(f"case table: {csv}")
    return 0
