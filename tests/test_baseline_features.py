"""Baseline features: shapes with known answers, GLCM by hand, mask exclusion, errors, cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from d2tl.baseline.features import (FeatureConfig, case_features, extract_features, image_features,
                                    mateos_features)
from d2tl.baseline.shape import MaskPerturbation, shape_features
from d2tl.data.cases import load_cases
from d2tl.io.errors import DataError

from conftest import write_tiny_cases


def polar_shape(radius, size=None, aspect=1.0, lobes=0, depth=0.0):
    """Mask of r(phi) = radius * (1 + depth cos(lobes phi)), x stretched by ``aspect``."""
    size = size or int(2 * radius * max(aspect, 1) * (1 + depth) + 12)
    y, x = np.mgrid[:size, :size] - (size - 1) / 2 + 0.3  # off-grid centre
    phi = np.arctan2(y, x / aspect)
    return np.hypot(x / aspect, y) <= radius * (1 + depth * np.cos(lobes * phi))


# --- shape ------------------------------------------------------------------------------------

def test_disc_has_the_textbook_values():
    r = 40
    f = shape_features(polar_shape(r))
    assert f["compactness"] == pytest.approx(1.0, abs=0.01)
    assert f["radial_ratio"] > 0.98
    assert f["radial_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert f["bending_energy"] * r ** 2 == pytest.approx(1.0, rel=0.1)


def test_bending_energy_scales_as_inverse_square_radius():
    small, large = (shape_features(polar_shape(r))["bending_energy"] for r in (20, 60))
    assert small / large == pytest.approx(9.0, rel=0.2)


def test_ellipse_radial_ratio_is_axis_ratio_and_compactness_matches_ramanujan():
    a, b = 60, 30
    f = shape_features(polar_shape(b, aspect=a / b))
    assert f["radial_ratio"] == pytest.approx(b / a, abs=0.02)
    perimeter = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
    assert f["compactness"] == pytest.approx(perimeter ** 2 / (4 * np.pi * np.pi * a * b), rel=0.02)
    assert f["radial_entropy"] > 2.0


def test_star_is_less_regular_than_disc():
    disc = shape_features(polar_shape(40))
    star = shape_features(polar_shape(40, lobes=5, depth=0.3))
    assert star["radial_ratio"] < 0.7 < disc["radial_ratio"]
    assert star["bending_energy"] > 4 * disc["bending_energy"]
    assert star["compactness"] > 1.3
    assert star["radial_entropy"] > 3.0


def test_shape_is_invariant_to_rotation_and_translation():
    mask = polar_shape(30, aspect=1.6)
    a = shape_features(mask)
    b = shape_features(np.pad(mask.T, ((7, 0), (0, 11))))
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=0.02)


# --- GLCM by hand -----------------------------------------------------------------------------

HAND = np.array([[0, 10, 20],
                 [10, 20, 30],
                 [20, 30, 30]], dtype=float)  # 4 levels over [0, 30] -> 1 2 3 / 2 3 4 / 3 4 4


def _hand_image(outside):
    image = np.full((9, 9), outside, dtype=float)
    image[3:6, 3:6] = HAND
    mask = np.zeros((9, 9), bool)
    mask[3:6, 3:6] = True
    return image, mask


def test_glcm_matches_values_worked_out_by_hand():
    config = FeatureConfig(glcm_levels=4, glcm_distances=(1, 4))
    f = image_features(*_hand_image(1e4), config)
    # angle 0, pairs (left, right) inside the lesion: (1,2) (2,3) (2,3) (3,4) (3,4) (4,4)
    assert f["glcm_contrast_d1_a0"] == pytest.approx(5 / 6)
    assert f["glcm_dissimilarity_d1_a0"] == pytest.approx(5 / 6)
    assert f["glcm_homogeneity_d1_a0"] == pytest.approx((5 * 0.5 + 1) / 6)
    assert f["glcm_asm_d1_a0"] == pytest.approx(10 / 36)
    assert f["glcm_energy_d1_a0"] == pytest.approx(np.sqrt(10 / 36))
    assert f["glcm_entropy_d1_a0"] == pytest.approx(np.log(6) / 3 + 2 * np.log(3) / 3)
    assert f["glcm_max_probability_d1_a0"] == pytest.approx(1 / 3)
    # angle 90 pairs a pixel with the one below: the same six pairs (the lesion is symmetric)
    assert f["glcm_contrast_d1_a90"] == pytest.approx(5 / 6)
    # angle 45 (row + 1, col + 1): (1,3) (2,4) (2,4) (3,4)
    assert f["glcm_contrast_d1_a45"] == pytest.approx((4 + 4 + 4 + 1) / 4)
    # angle 135 (row + 1, col - 1): (2,2) (3,3) (3,3) (4,4): no contrast
    assert f["glcm_contrast_d1_a135"] == pytest.approx(0.0)
    # no pair of lesion pixels 4 px apart: undefined, not a pair with the outside
    assert np.isnan(f["glcm_contrast_d4_a0"])
    # mahotas is symmetric: angle 0 counts each pair both ways, contrast unchanged
    assert f["haralick_contrast_a0"] == pytest.approx(5 / 6)


def test_mahotas_directions_match_skimage_angles():
    rng = np.random.default_rng(3)
    image = rng.normal(size=(50, 50))
    image[np.subtract.outer(np.arange(50), np.arange(50)) % 3 == 0] += 4  # stripes along 45 degrees
    mask = polar_shape(20, size=50)
    f = image_features(image, mask, FeatureConfig(glcm_symmetric=True))
    for angle in (0, 45, 90, 135):
        for sk, mh in (("contrast", "contrast"), ("asm", "asm"), ("correlation", "correlation")):
            assert f[f"glcm_{sk}_d1_a{angle}"] == pytest.approx(f[f"haralick_{mh}_a{angle}"], rel=1e-9)
    assert f["glcm_contrast_d1_a45"] < 0.3 * f["glcm_contrast_d1_a135"]


# --- exclusion of pixels outside the mask -----------------------------------------------------

def test_pixels_outside_the_mask_have_no_influence():
    rng = np.random.default_rng(0)
    image = rng.normal(1000, 80, size=(120, 110))
    mask = polar_shape(25, size=120, lobes=3, depth=0.2)[:, :110]
    mask[0:3, 50:60] = True  # a second piece touching the image edge
    a = image_features(image, mask)
    changed = image.copy()
    changed[~mask] = rng.uniform(-1e5, 1e5, size=(~mask).sum())
    b = image_features(changed, mask)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], nan_ok=True), key
    changed[mask] += rng.normal(0, 30, size=mask.sum())  # and the inside does matter
    c = image_features(changed, mask)
    assert c["glcm_contrast_d1_a0"] != pytest.approx(a["glcm_contrast_d1_a0"])


def test_gabor_features_equal_skimage_gabor_on_the_full_image():
    from skimage.filters import gabor

    rng = np.random.default_rng(1)
    image = rng.normal(size=(160, 160))
    mask = polar_shape(18, size=160)
    config = FeatureConfig(gabor_frequencies=(0.05, 0.2), gabor_orientations=(0, 45))
    f = image_features(image, mask, config)
    standardised = np.zeros_like(image)
    values = image[mask]
    standardised[mask] = (values - values.mean()) / values.std()
    for frequency in (0.05, 0.2):
        real, imag = gabor(standardised, frequency, theta=np.deg2rad(45), mode="constant")
        magnitude = np.hypot(real, imag)[mask]
        assert f[f"gabor_f{frequency:g}_o45_mean"] == pytest.approx(magnitude.mean(), rel=1e-6)
        assert f[f"gabor_f{frequency:g}_o45_std"] == pytest.approx(magnitude.std(), rel=1e-6)


def test_lbp_histograms_are_fractions_of_the_lesion():
    rng = np.random.default_rng(2)
    f = image_features(rng.normal(size=(80, 80)), polar_shape(20, size=80))
    for family in ("lbp_p8_r1_b", "lbp_p16_r2_b", "mhlbp_p8_r1_b"):
        values = [v for k, v in f.items() if k.startswith(family)]
        assert sum(values) == pytest.approx(1.0)
    assert sum(k.startswith("lbp_p8_r1_b") for k in f) == 10
    assert sum(k.startswith("mhlbp_p8_r1_b") for k in f) == 36


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("pixels", [0, 1])
def test_empty_or_one_pixel_mask_names_the_case_and_view(pixels):
    image = np.zeros((20, 20))
    mask = np.zeros((20, 20), bool)
    mask[5, 5:5 + pixels] = True
    with pytest.raises(DataError, match=r"patient P7, image cc mask"):
        image_features(image, mask, case_id="P7", key="rec_cc")


def test_case_with_empty_mask_file_names_case_and_view(tmp_path):
    csv = write_tiny_cases(tmp_path / "t", n=2)
    table = load_cases(csv)
    Image.fromarray(np.zeros((48, 40), np.uint8)).save(table.loc[1, "mlo_mask_path"])
    case_features(table.iloc[0])  # the other case is fine
    with pytest.raises(DataError, match=r"patient C01, image mlo mask: the lesion mask is empty"):
        case_features(table.iloc[1])


# --- a whole case, the cache, the perturbation -----------------------------------------------

def test_case_features_are_prefixed_by_mode_and_view(tmp_path):
    table = load_cases(write_tiny_cases(tmp_path / "t", n=1))
    f = case_features(table.iloc[0])
    for key in ("le_cc", "le_mlo", "rec_cc", "rec_mlo"):
        assert f"{key}_glcm_contrast_d1_a0" in f and f"{key}_haralick_entropy_a90" in f
        assert f"{key}_gabor_f0.1_o45_mean" in f and f"{key}_mhlbp_p8_r1_b0" in f
    for view in ("cc", "mlo"):
        assert {f"{view}_shape_{n}" for n in ("compactness", "radial_ratio", "radial_entropy",
                                              "bending_energy")} <= f.keys()
    assert len(f) == 4 * 304 + 8
    assert list(f)[0].startswith("le_cc_") and list(f)[-1].startswith("mlo_shape_")
    m = mateos_features(__import__("pandas").DataFrame([f]))
    assert m.shape == (1, 34)


def test_features_are_cached_and_the_cache_follows_the_files(tmp_path):
    table = load_cases(write_tiny_cases(tmp_path / "t", n=3))
    cache = tmp_path / "cache"
    first = extract_features(table, cache_dir=cache)
    assert not first.cached.any() and len(list(cache.glob("*.json"))) == 3
    second = extract_features(table, cache_dir=cache)
    assert second.cached.all()
    assert second.features.equals(first.features)
    mask = np.zeros((48, 40), np.uint8)
    mask[10:30, 8:30] = 255
    Image.fromarray(mask).save(table.loc[2, "cc_mask_path"])  # new mask for case C02
    third = extract_features(table, cache_dir=cache)
    assert list(third.cached) == [True, True, False]
    assert not np.allclose(third.features.loc["C02"], first.features.loc["C02"], equal_nan=True)
    other = extract_features(table, FeatureConfig(glcm_levels=16), cache_dir=cache)
    assert not other.cached.any()


def test_mask_perturbation_is_seeded_and_moderate():
    mask = polar_shape(30, size=100)
    p = MaskPerturbation(amplitude=0.15, dilate=1, seed=4)
    a, b = p.apply(mask, "P1", "cc"), p.apply(mask, "P1", "cc")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, mask)
    assert not np.array_equal(a, p.apply(mask, "P1", "mlo"))
    assert not np.array_equal(a, MaskPerturbation(amplitude=0.15, seed=5).apply(mask, "P1", "cc"))
    overlap = (a & mask).sum() / (a | mask).sum()
    assert 0.6 < overlap < 0.99
    assert shape_features(a)["radial_ratio"] < shape_features(mask)["radial_ratio"]
