"""Safe loading stays safe: models with Keras's safe_mode on, arrays without
pickle, DICOM without ``force=True`` (a non-DICOM file is refused), and reading still tolerant
of small deviations real vendor files carry. Each is pinned in the source and by behaviour."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pydicom
import pytest

from conftest import write_tiny_cases
from d2tl.data.dicom_io import read_dicom, write_mammogram
from d2tl.io.errors import D2TLError, DataError

PACKAGE = Path(__file__).resolve().parents[1] / "d2tl"


def _calls(name: str):
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path, node, {k.arg: k.value for k in node.keywords}


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else object()


def test_source_pins_every_loader():
    dcm = list(_calls("dcmread"))
    assert dcm and all(_constant(kw.get("force", ast.Constant(False))) is False for _, _, kw in dcm)
    loads = [(p, kw) for p, node, kw in _calls("load")
             if getattr(node.func, "value", None) is not None and getattr(node.func.value, "id", "") in ("np", "numpy")]
    assert loads and all(_constant(kw.get("allow_pickle")) is False for _, kw in loads)
    models = list(_calls("load_model"))
    assert models and all(_constant(kw.get("safe_mode")) is True for _, _, kw in models)
    assert not any("import pickle" in p.read_text() for p in PACKAGE.rglob("*.py"))


def test_a_model_with_code_inside_is_refused(tmp_path):
    import keras

    from d2tl.training.predict import load_trained

    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x + 1)]).save(path)
    path.with_name("model.d2tl.json").write_text('{"config": {"roi": {}}}')
    with pytest.raises(D2TLError, match="cannot be loaded.*safe_mode"):
        load_trained(path)


def test_a_pickled_roi_cache_file_is_never_unpickled(tmp_path):
    from d2tl.data.cases import load_cases
    from d2tl.data.roi import RoiConfig
    from d2tl.data.roi_cache import RoiCache

    csv = write_tiny_cases(tmp_path / "data", n=4)
    cache = RoiCache(tmp_path / "cache", csv, load_cases(csv))
    config = RoiConfig(box=64)
    path = cache.path(config, 0)
    path.parent.mkdir(parents=True)
    np.savez(path, ids=np.array([{"a": 1}], dtype=object))  # needs pickle to read
    rois = cache.get(config)  # extracted again, not unpickled
    assert rois.ids == ["C00", "C01", "C02", "C03"] and cache.misses == 1
    with np.load(path, allow_pickle=False) as f:
        assert f["ids"].dtype.kind == "U"


def test_a_non_dicom_file_is_refused(tmp_path):
    path = tmp_path / "image.dcm"
    path.write_bytes(b"\x00" * 128 + b"NOPE" + b"some bytes" * 50)
    with pytest.raises(DataError, match=f"file {path}: not a readable DICOM file"):
        read_dicom(path)


def test_a_dicom_data_set_without_preamble_is_refused(tmp_path):
    """What ``force=True`` would accept: a bare data set with no 128-byte preamble and no DICM."""
    good = tmp_path / "good.dcm"
    write_mammogram(good, np.ones((8, 8), np.uint16), patient_id="X", view="cc", laterality="L", energy="LOW_ENERGY")
    bare = tmp_path / "bare.dcm"
    bare.write_bytes(good.read_bytes()[132:])
    with pytest.raises(DataError, match="bare.dcm"):
        read_dicom(bare)


def test_small_vendor_deviations_are_still_read(tmp_path):
    """No File Meta group length, a private tag and a trailing space in a code string: all read."""
    path = tmp_path / "vendor.dcm"
    values = np.arange(64, dtype=np.uint16).reshape(8, 8)
    write_mammogram(path, values, patient_id="X", view="cc", laterality="L", energy="LOW_ENERGY")
    ds = pydicom.dcmread(path)
    if "FileMetaInformationGroupLength" in ds.file_meta:
        del ds.file_meta.FileMetaInformationGroupLength
    ds.add_new(0x00091010, "LO", "VENDOR PRIVATE")
    ds.ViewPosition = "CC "
    ds.save_as(path, enforce_file_format=False)
    assert np.allclose(read_dicom(path), values)
