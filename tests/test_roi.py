import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from d2tl.cli import main
from d2tl.data.cases import load_cases, write_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.data.roi import RoiConfig, cut_box, extract_case, extract_rois, normalise, shift_offsets

from conftest import coordinate_image, write_tiny_cases

# Geometry tests compare with whole-image min-max normalisation.
WHOLE = {"normalise_on": "image", "intensity_percentiles": (0.0, 100.0)}


def test_cut_box_is_centred_and_padded():
    image = coordinate_image(20, 30)
    box = cut_box(image, (5, 7), 4)
    np.testing.assert_array_equal(box, image[5:9, 3:7])
    corner = cut_box(image, (0, 0), 4)
    assert np.all(corner[:2, :] == 0) and np.all(corner[:, :2] == 0)
    np.testing.assert_array_equal(corner[2:, 2:], image[0:2, 0:2])
    assert np.all(cut_box(image, (-50, -50), 6) == 0)


@pytest.mark.parametrize("box,input_scale,side", [(64, 1.0, 75), (128, 1.0, 128), (256, 0.3, 77), (512, 0.25, 128)])
def test_input_size(box, input_scale, side):
    assert RoiConfig(box=box, input_scale=input_scale).input_size == side


def test_normalise_to_unit_range():
    image = np.array([[2.0, 4.0], [6.0, 10.0]], np.float32)
    np.testing.assert_allclose(normalise(image), [[0, 0.25], [0.5, 1.0]])
    assert np.all(normalise(np.ones((3, 3))) == 0)
    clipped = normalise(np.arange(101, dtype=np.float32).reshape(1, -1), (10, 90))
    assert clipped.min() == 0 and clipped.max() == 1 and clipped[0, 50] == pytest.approx(0.5)


def _write_case(folder, cid, laterality, le_cc, scale=1.0, centres=((20, 25), (30, 22))):
    """One case whose LE and recombined images are the same coordinate pattern (plus a constant)."""
    record = {"id": cid, "group": cid, "label": "malignant", "laterality": laterality, "scale": scale}
    for view, (x, y) in zip(("cc", "mlo"), centres):
        for mode, energy in (("le", "LOW_ENERGY"), ("rec", "RECOMBINED")):
            path = folder / f"{cid}_{mode}_{view}.dcm"
            write_mammogram(path, le_cc + (0 if mode == "le" else 7), patient_id=cid, view=view,
                            laterality=laterality, energy=energy, bits_stored=16)
            record[f"{mode}_{view}_path"] = path.name
        record[f"{view}_x"], record[f"{view}_y"] = x, y
    return record


def _table(tmp_path, records):
    write_cases(pd.DataFrame(records), tmp_path / "cases.csv")
    return load_cases(tmp_path / "cases.csv")


def test_shift_moves_both_modes_of_a_view_together(tmp_path):
    image = coordinate_image(60, 50).astype(np.uint16)
    table = _table(tmp_path, [_write_case(tmp_path, "A", "L", image)])
    config = RoiConfig(box=80, shift=10, input_scale=1.0, **WHOLE)
    rois = extract_rois(table, config, seed=3)
    offsets = rois.offsets[0]
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=-1), 10)
    assert not np.allclose(offsets[0], offsets[1])  # each view has its own direction
    for view in ("cc", "mlo"):
        np.testing.assert_allclose(rois.arrays[f"le_{view}"], rois.arrays[f"rec_{view}"], atol=1e-6)
    # The shifted box is the box cut at the moved centre.
    row = table.iloc[0]
    moved = extract_case(row, RoiConfig(box=80, **WHOLE), offsets=None)
    assert not np.allclose(moved["le_cc"], rois.arrays["le_cc"][0, :, :, 0])
    expected = cut_box(normalise(image.astype(np.float32)), (20 + offsets[0, 0], 25 + offsets[0, 1]), 80)
    np.testing.assert_allclose(rois.arrays["le_cc"][0, :, :, 0], expected, atol=1e-6)
    # Same seed, same directions; another seed, others.
    np.testing.assert_array_equal(extract_rois(table, config, seed=3).offsets[0], offsets)
    assert not np.allclose(extract_rois(table, config, seed=4).offsets[0], offsets)


def test_shift_directions_are_uniform():
    offsets = shift_offsets(np.random.default_rng(0), 20000, 20.0)
    assert offsets.shape == (20000, 2, 2)
    np.testing.assert_allclose(np.linalg.norm(offsets, axis=-1), 20.0)
    angles = np.arctan2(offsets[..., 1], offsets[..., 0])
    counts, _ = np.histogram(angles, bins=8, range=(-np.pi, np.pi))
    assert counts.min() > 0.9 * counts.mean() and counts.max() < 1.1 * counts.mean()


def test_right_breast_roi_equals_mirrored_left(tmp_path):
    image = coordinate_image(60, 50).astype(np.uint16)
    left = _write_case(tmp_path, "L1", "L", image, centres=((12, 25), (40, 30)))
    right = _write_case(tmp_path, "R1", "R", image[:, ::-1].copy(), centres=((50 - 1 - 12, 25), (50 - 1 - 40, 30)))
    rois = extract_rois(_table(tmp_path, [left, right]), RoiConfig(box=16, input_scale=1.0, **WHOLE))
    for key, arrays in rois.arrays.items():
        assert arrays.shape == (2, 75, 75, 1)
        np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-6)


def test_scale_converts_box_to_image_pixels(tmp_path):
    image = coordinate_image(60, 50).astype(np.uint16)
    table = _table(tmp_path, [_write_case(tmp_path, "S", "L", image, scale=0.25)])
    rois = extract_rois(table, RoiConfig(box=80, input_scale=1.0, **WHOLE))
    # 80 full-resolution px at scale 0.25 is a 20 px box, enlarged to 80: its corners hold the
    # values of the 20 px box's corners.
    roi = rois.arrays["le_cc"][0, :, :, 0]
    norm = normalise(image.astype(np.float32))
    assert roi.shape == (80, 80)
    assert roi[0, 0] == pytest.approx(norm[15, 10], abs=1e-5)
    assert roi[-1, -1] == pytest.approx(norm[34, 29], abs=1e-5)


def test_extract_rois_shapes_and_labels(tiny_cases):
    table = load_cases(tiny_cases)
    rois = extract_rois(table, RoiConfig(box=128, input_scale=0.5))
    assert rois.ids == list(table["id"]) and rois.labels.tolist() == [0, 1, 0, 1]
    for arrays in rois.arrays.values():
        assert arrays.shape == (4, 75, 75, 1) and arrays.dtype == np.float32
        assert 0.0 <= arrays.min() and arrays.max() <= 1.0
    sub = rois.subset(["C03", "C00"])
    assert sub.ids == ["C03", "C00"] and sub.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(sub.arrays["rec_mlo"][1], rois.arrays["rec_mlo"][0])


def test_rois_command_writes_npz(tiny_cases, tmp_path, capsys):
    out = tmp_path / "rois.npz"
    assert main(["rois", "--cases", str(tiny_cases), "--box", "64", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["le_cc"].shape == (4, 75, 75, 1) and list(data["ids"]) == ["C00", "C01", "C02", "C03"]
    assert "4 cases" in capsys.readouterr().out


def test_command_line_bad_input_is_one_line_without_traceback(tiny_cases, tmp_path):
    table = pd.read_csv(tiny_cases, dtype=str, keep_default_na=False)
    table.loc[1, "label"] = "unknown"
    table.to_csv(tiny_cases, index=False)
    out = tmp_path / "rois.npz"
    proc = subprocess.run([sys.executable, "-m", "d2tl", "rois", "--cases", str(tiny_cases), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "line 3 (patient C01), column label: 'unknown'" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".*.tmp.rois.npz"))


def test_breast_normalisation_ignores_air():
    image = np.zeros((60, 60), np.float32)
    image[:, :30] = 1000.0 + np.random.default_rng(0).normal(0, 1, (60, 30))  # breast
    image[20:30, 10:20] += 50.0  # enhancing lesion, small against the air/breast step
    region = image > 500
    whole, breast = normalise(image), normalise(image, (0.0, 100.0), region)
    lesion, tissue = (slice(20, 30), slice(10, 20)), (slice(40, 50), slice(10, 20))
    assert whole[lesion].mean() - whole[tissue].mean() < 0.06
    assert breast[lesion].mean() - breast[tissue].mean() > 0.8
    with pytest.raises(ValueError, match="normalise_on"):
        RoiConfig(normalise_on="box")


def test_many_requests_match_single_extractions(tiny_cases):
    from d2tl.data.cases import load_cases
    from d2tl.data.roi import extract_rois_many

    table = load_cases(tiny_cases)
    requests = [(RoiConfig(box=64), 0), (RoiConfig(box=96, shift=10.0), 3), (RoiConfig(box=64, shift=10.0), 4)]
    for together, (config, seed) in zip(extract_rois_many(table, requests), requests):
        alone = extract_rois(table, config, seed=seed)
        assert together.ids == alone.ids and (together.offsets == alone.offsets).all()
        for key in alone.arrays:
            np.testing.assert_array_equal(together.arrays[key], alone.arrays[key])


def test_roi_cache_reads_back_and_notices_changes(tiny_cases, tmp_path):
    import os

    from d2tl.data.cases import load_cases
    from d2tl.data.roi_cache import RoiCache

    table = load_cases(tiny_cases)
    config, moved = RoiConfig(box=64), RoiConfig(box=64, shift=20.0)
    first = RoiCache(tmp_path / "c", tiny_cases, table)
    a = first.get(config)
    assert (first.hits, first.misses) == (0, 1)
    second = RoiCache(tmp_path / "c", tiny_cases, table)
    b = second.get(config)
    assert (second.hits, second.misses) == (1, 0)
    assert b.ids == a.ids and all((b.arrays[k] == a.arrays[k]).all() for k in a.arrays)
    # the shift seed matters only when there is a shift
    assert second.key(config, 0) == second.key(config, 7)
    assert second.key(moved, 0) != second.key(moved, 7) != second.key(config, 0)
    # a rewritten image file (new size or time) gives a new key: never a stale array
    path = table["le_cc_path"].iloc[0]
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert RoiCache(tmp_path / "c", tiny_cases, table).key(config, 0) != second.key(config, 0)
