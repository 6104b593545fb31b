"""Table 2 augmentation: Keras ImageDataGenerator equivalence, draw ranges, coupling, seeding."""

import numpy as np
import pytest

from d2tl.data.augment import AugmentConfig, apply_transform, augment_cases, random_transform
from d2tl.protocol.paper import AUGMENTATION
from d2tl.protocol.views import IMAGES

# Keras's legacy module calls the deprecated scipy.ndimage.interpolation namespace.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

KERAS_PARAMS = [
    {"theta": 2.7},
    {"tx": 3.3, "ty": -1.25},
    {"zx": 0.96, "zy": 1.04},
    {"flip_horizontal": True},
    {"flip_vertical": True},
    {"theta": -1.9, "tx": -2.0, "ty": 2.6, "zx": 1.03, "zy": 0.97,
     "flip_horizontal": True, "flip_vertical": True},
    {"theta": 3.0, "tx": 1.0, "ty": 0.0, "shear": 0.0, "zx": 1.0, "zy": 1.0,
     "flip_horizontal": False, "flip_vertical": False},
    {},
]


@pytest.fixture(scope="module")
def keras_generator():
    image = pytest.importorskip("keras.src.legacy.preprocessing.image")
    return image.ImageDataGenerator(fill_mode="nearest")


@pytest.mark.parametrize("shape", [(40, 40), (37, 53)])
@pytest.mark.parametrize("params", KERAS_PARAMS)
def test_apply_transform_matches_keras(keras_generator, params, shape):
    x = np.random.default_rng(0).random((*shape, 1)).astype(np.float32)
    expected = keras_generator.apply_transform(x, dict(params))
    got = apply_transform(x, params)
    assert got.shape == x.shape and got.dtype == x.dtype
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_random_params_applied_match_keras(keras_generator):
    rng = np.random.default_rng(1)
    x = rng.random((48, 48, 1)).astype(np.float32)
    for _ in range(10):
        params = random_transform(rng, x.shape, AugmentConfig())
        np.testing.assert_allclose(apply_transform(x, params), keras_generator.apply_transform(x, params),
                                   atol=1e-5)


def test_keras_draws_have_our_keys(keras_generator):
    ours = random_transform(np.random.default_rng(0), (32, 32, 1), AugmentConfig())
    keras = keras_generator.get_random_transform((32, 32, 1))
    assert set(ours) == set(keras) - {"channel_shift_intensity", "brightness"}


def test_apply_transform_accepts_2d_and_changes_image():
    x = np.random.default_rng(2).random((30, 30)).astype(np.float32)
    params = {"theta": 2.0, "tx": 1.5, "zx": 1.04, "zy": 0.98}
    out = apply_transform(x, params)
    assert out.shape == x.shape
    np.testing.assert_array_equal(out, apply_transform(x[:, :, None], params)[:, :, 0])
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    np.testing.assert_array_equal(apply_transform(x, {"flip_vertical": True}), x[::-1])
    with pytest.raises(ValueError):
        apply_transform(np.zeros((4, 4, 3)), params)


def test_parameter_ranges_over_many_draws():
    rng = np.random.default_rng(3)
    rows, cols = 200, 100
    draws = [random_transform(rng, (rows, cols, 1), AugmentConfig()) for _ in range(20000)]
    get = lambda key: np.array([d[key] for d in draws], dtype=float)  # noqa: E731
    theta = get("theta")
    assert theta.min() >= -3 and theta.max() <= 3
    assert theta.min() < -2.99 and theta.max() > 2.99
    assert abs(theta.mean()) < 0.06
    counts, _ = np.histogram(theta, bins=10, range=(-3, 3))
    assert np.all(np.abs(counts - 2000) < 250)  # uniform, not e.g. normal
    tx, ty = get("tx"), get("ty")
    assert np.abs(tx).max() <= 0.05 * rows and np.abs(tx).max() > 0.049 * rows
    assert np.abs(ty).max() <= 0.05 * cols and np.abs(ty).max() > 0.049 * cols
    zx, zy = get("zx"), get("zy")
    for z in (zx, zy):
        assert z.min() >= 0.95 and z.max() <= 1.05 and z.min() < 0.951 and z.max() > 1.049
    assert np.all(zx != zy) and abs(np.corrcoef(zx, zy)[0, 1]) < 0.05  # drawn per axis
    for key in ("flip_horizontal", "flip_vertical"):
        assert abs(get(key).mean() - 0.5) < 0.02
    assert abs(np.corrcoef(get("flip_horizontal"), get("flip_vertical"))[0, 1]) < 0.05
    assert set(get("shear")) == {0.0}


def test_disabled_flips_never_happen():
    rng = np.random.default_rng(4)
    config = AugmentConfig(horizontal_flip=False, vertical_flip=False, rotation_degrees=0, zoom_ratio=0)
    draws = [random_transform(rng, (10, 10), config) for _ in range(200)]
    assert not any(d["flip_horizontal"] or d["flip_vertical"] for d in draws)
    assert all(d["theta"] == 0 and d["zx"] == 1 and d["zy"] == 1 for d in draws)


def _arrays(n=3, size=24, same=False, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((n, size, size, 1)).astype(np.float32)
    return {k: base.copy() if same else rng.random((n, size, size, 1)).astype(np.float32) for k in IMAGES}


def test_config_defaults_are_table_2():
    """Literal values from Table 2 of the paper (not read back from d2tl.protocol.paper, which the
    defaults themselves come from)."""
    config = AugmentConfig()
    assert config.alternatives == 5
    assert config.shift_ratio == 0.05 and config.rotation_degrees == 3.0 and config.zoom_ratio == 0.05
    assert config.horizontal_flip is True and config.vertical_flip is True
    assert AUGMENTATION == {"alternatives": 5, "shift_ratio": 0.05, "rotation_degrees": 3.0, "zoom_ratio": 0.05,
                            "horizontal_flip": True, "vertical_flip": True}
    assert config.fill_mode == "nearest" and config.include_original is False and config.coupling == "view"
    assert config.to_dict()["alternatives"] == 5 and config.copies == 5


@pytest.mark.parametrize("bad", [
    {"alternatives": 0}, {"alternatives": 2.5}, {"shift_ratio": 1.5}, {"shift_ratio": -0.1},
    {"zoom_ratio": 1.0}, {"rotation_degrees": -3}, {"fill_mode": "mirror"}, {"coupling": "pair"},
    {"horizontal_flip": "yes"}, {"include_original": 1},
])
def test_invalid_config_raises(bad):
    with pytest.raises(ValueError):
        AugmentConfig(**bad)


def test_shapes_counts_and_labels():
    arrays = _arrays(n=60, size=16)
    labels = np.arange(60) % 2
    out, out_labels, source = augment_cases(arrays, labels, AugmentConfig(), seed=0)
    for key in IMAGES:
        assert out[key].shape == (300, 16, 16, 1) and out[key].dtype == np.float32
    np.testing.assert_array_equal(source, np.repeat(np.arange(60), 5))
    np.testing.assert_array_equal(out_labels, labels[source])


def test_include_original_keeps_inputs_first():
    arrays = _arrays(n=4)
    out, labels, source = augment_cases(arrays, np.array([0, 1, 1, 0]),
                                        AugmentConfig(include_original=True), seed=1)
    assert len(source) == len(labels) == 24
    for key in IMAGES:
        np.testing.assert_array_equal(out[key][::6], arrays[key])
        assert not np.allclose(out[key][1], arrays[key][0])


def test_first_output_uses_first_draw():
    arrays = _arrays(n=2)
    out, _, _ = augment_cases(arrays, np.zeros(2), AugmentConfig(), seed=7)
    params = random_transform(np.random.default_rng(7), arrays["le_cc"].shape[1:], AugmentConfig())
    np.testing.assert_array_equal(out["le_cc"][0], apply_transform(arrays["le_cc"][0], params))


def _identical(a, b):
    return np.array_equal(a, b)


@pytest.mark.parametrize("coupling", ["none", "view", "case"])
def test_coupling(coupling):
    out, _, _ = augment_cases(_arrays(n=3, same=True), np.zeros(3), AugmentConfig(coupling=coupling), seed=2)
    for row in range(15):
        img = {k: out[k][row] for k in IMAGES}
        same_view = _identical(img["le_cc"], img["rec_cc"]) and _identical(img["le_mlo"], img["rec_mlo"])
        across_views = _identical(img["le_cc"], img["le_mlo"])
        assert same_view == (coupling in ("view", "case"))
        assert across_views == (coupling == "case")
    assert not _identical(out["le_cc"][0], out["le_cc"][1])  # alternatives differ


def test_seeding():
    arrays = _arrays()
    a = augment_cases(arrays, np.zeros(3), AugmentConfig(), seed=5)
    b = augment_cases(arrays, np.zeros(3), AugmentConfig(), seed=5)
    c = augment_cases(arrays, np.zeros(3), AugmentConfig(), seed=6)
    for key in IMAGES:
        np.testing.assert_array_equal(a[0][key], b[0][key])
        assert not np.array_equal(a[0][key], c[0][key])


def test_key_order_does_not_matter():
    arrays = _arrays()
    reordered = {k: arrays[k] for k in reversed(IMAGES)}
    a, _, _ = augment_cases(arrays, np.zeros(3), AugmentConfig(), seed=3)
    b, _, _ = augment_cases(reordered, np.zeros(3), AugmentConfig(), seed=3)
    for key in IMAGES:
        np.testing.assert_array_equal(a[key], b[key])


def test_bad_arrays_raise():
    arrays = _arrays()
    with pytest.raises(ValueError, match="keys"):
        augment_cases({k: arrays[k] for k in IMAGES[:3]}, np.zeros(3), AugmentConfig(), seed=0)
    with pytest.raises(ValueError, match="shape"):
        augment_cases({**arrays, "rec_mlo": arrays["rec_mlo"][:, :20]}, np.zeros(3), AugmentConfig(), seed=0)
    with pytest.raises(ValueError, match="labels"):
        augment_cases(arrays, np.zeros(4), AugmentConfig(), seed=0)
