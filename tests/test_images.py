import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl.data.cases import load_cases, write_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.data.images import image_size, load_view, read_image, recombine
from d2tl.io.errors import DataError

from conftest import CDD_CESM_FIXTURES, coordinate_image


def test_real_cdd_cesm_png_is_read_as_grey():
    path = CDD_CESM_FIXTURES / "subtracted-512px-png" / "P1_L_CM_MLO.png"
    if not path.is_file():
        pytest.skip(f"real CDD-CESM fixture {path} not found (../shared is not part of a clone)")
    image = read_image(path)
    assert image.shape == (512, 512) and image.dtype == np.float32
    assert image_size(path) == (512, 512)
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    expected = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    np.testing.assert_array_equal(image, expected)
    assert 0 <= image.min() < image.max() <= 255 and rgb.shape[-1] == 3


@pytest.mark.parametrize("suffix,mode", [(".png", "I;16"), (".tif", "I;16"), (".jpg", "L"), (".png", "L")])
def test_raster_formats(tmp_path, suffix, mode):
    values = (np.arange(30 * 20).reshape(30, 20) % 250).astype(np.uint16 if mode == "I;16" else np.uint8)
    path = tmp_path / f"x{suffix}"
    Image.fromarray(values).save(path, quality=100) if suffix == ".jpg" else Image.fromarray(values).save(path)
    image = read_image(path)
    assert image.shape == (30, 20)
    tolerance = 3 if suffix == ".jpg" else 0
    assert np.max(np.abs(image - values)) <= tolerance


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=r"broken\.png.*not a readable image"):
        read_image(bad)
    with pytest.raises(DataError, match=r"absent\.dcm does not exist"):
        read_image(tmp_path / "absent.dcm")
    text = tmp_path / "image_without_suffix"
    text.write_text("hello")
    with pytest.raises(DataError, match="image_without_suffix"):
        read_image(text)


def test_recombine_is_weighted_log_subtraction():
    le = np.array([[1.0, np.e, np.e ** 2]], np.float32)
    he = np.array([[np.e, np.e, np.e ** 3]], np.float32)
    np.testing.assert_allclose(recombine(le, he, 0.5), [[1.0, 0.5, 2.0]], rtol=1e-6)
    # Tissue that attenuates HE at 0.4x its LE log-attenuation vanishes with weight 0.4.
    thickness = np.linspace(0, 3, 10, dtype=np.float32)[None]
    le, he = np.exp(-1.0 * thickness), np.exp(-0.4 * thickness)
    np.testing.assert_allclose(recombine(le, he, 0.4), 0, atol=1e-6)


def _case_row(tmp_path, laterality, with_rec=True, he_weight=None):
    rows, cols = 30, 40
    le = coordinate_image(rows, cols)
    rec = coordinate_image(rows, cols, mode_offset=0.5)
    record = {"id": "P9", "group": "P9", "label": "benign", "laterality": laterality}
    for view in ("cc", "mlo"):
        write_mammogram(tmp_path / f"le_{view}.dcm", le.astype(np.uint16), patient_id="P9", view=view,
                        laterality=laterality, energy="LOW_ENERGY", bits_stored=16)
        record[f"le_{view}_path"] = f"le_{view}.dcm"
        if with_rec:
            Image.fromarray((rec % 256).astype(np.uint8)).save(tmp_path / f"rec_{view}.png")
            record[f"rec_{view}_path"] = f"rec_{view}.png"
        else:
            he = np.exp(np.log(np.maximum(le, 1)) * he_weight + 2.0)
            Image.fromarray(he.astype(np.float32)).save(tmp_path / f"he_{view}.tif")
            record[f"rec_{view}_path"] = ""
            record[f"he_{view}_path"] = f"he_{view}.tif"
        mask = np.zeros((rows, cols), np.uint8)
        mask[5:9, 2:6] = 1
        Image.fromarray(mask).save(tmp_path / f"mask_{view}.png")
        record[f"{view}_mask_path"] = f"mask_{view}.png"
        record[f"{view}_x"], record[f"{view}_y"] = 7, 11
    csv = tmp_path / "cases.csv"
    write_cases(pd.DataFrame([record]), csv)
    return load_cases(csv).iloc[0]


def test_right_breast_is_mirrored_with_centre_and_mask(tmp_path):
    (tmp_path / "l").mkdir()
    (tmp_path / "r").mkdir()
    left = load_view(_case_row(tmp_path / "l", "L"), "cc")
    right = load_view(_case_row(tmp_path / "r", "R"), "cc")
    assert not left.mirrored and right.mirrored
    np.testing.assert_array_equal(right.le, left.le[:, ::-1])
    np.testing.assert_array_equal(right.mask, left.mask[:, ::-1])
    assert left.centre == (7, 11) and right.centre == (40 - 1 - 7, 11)
    # The pixel under the box centre is the same pixel of the stored image either way.
    x, y = right.centre
    assert right.le[int(y), int(x)] == left.le[11, 7] == 1000 * 11 + 7
    assert right.mask.sum() == left.mask.sum() == 16


def test_recombined_is_computed_from_he_when_absent(tmp_path):
    row = _case_row(tmp_path, "L", with_rec=False, he_weight=0.7)
    view = load_view(row, "mlo", recombine_weight=0.7)
    # he = le^0.7 * e^2, so ln(he) - 0.7 ln(le) = 2 wherever le >= 1.
    np.testing.assert_allclose(view.rec[1:], 2.0, atol=1e-3)


def test_load_view_error_names_patient_image_and_file(tmp_path):
    row = _case_row(tmp_path, "L").copy()
    (tmp_path / "rec_mlo.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"patient P9, image rec_mlo: file .*rec_mlo\.png: not a readable image"):
        load_view(row, "mlo")
