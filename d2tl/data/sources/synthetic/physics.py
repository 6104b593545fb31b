"""Tissue and iodine attenuation, tube voltage and effective energy: the dual-energy physics.

Coefficients after Johns & Yaffe (1987) and NIST XCOM; see the package docstring.
"""

from __future__ import annotations

import numpy as np


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
