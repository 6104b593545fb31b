"""The DICOM-folder adapter: roles from tags, clear errors for what cannot be identified."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl import cli
from d2tl.data import dicom
from d2tl.data.cases import load_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.data.images import load_view
from d2tl.errors import DataError

ROWS, COLS = 40, 32
ENERGIES = {"le": "LOW_ENERGY", "rec": "RECOMBINED", "he": "HIGH_ENERGY"}


def write_breast(folder, patient, lat, modes=("le", "rec"), extra=None, skip=(), seed=0):
    """Four (or more) MG files of one breast under opaque names; return {(mode, view): path}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for view in ("cc", "mlo"):
        for mode in modes:
            if (mode, view) in skip:
                continue
            path = folder / f"IMG{len(list(folder.iterdir())):04d}.dcm"
            values = rng.integers(100, 4000, size=(ROWS, COLS)).astype(np.uint16)
            write_mammogram(path, values, patient_id=patient, view=view, laterality=lat,
                            energy=ENERGIES[mode], extra=(extra or {}).get((mode, view)))
            paths[(mode, view)] = path
    return paths


def label_csv(path, rows):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def centre_row(patient, label, **more):
    return {"patient": patient, "label": label, "cc_x": 10, "cc_y": 20, "mlo_x": 12, "mlo_y": 22, **more}


def test_roles_from_tags_and_high_energy_in_place_of_recombined(tmp_path):
    dcm = tmp_path / "dicom"
    a_left = write_breast(dcm / "study1", "A", "L")
    write_breast(dcm / "study1", "A", "R", seed=1)  # the other breast: laterality column needed
    b = write_breast(dcm / "b" / "deeper", "B", "R", modes=("le", "rec", "he"), skip={("rec", "mlo")}, seed=2)
    labels = label_csv(tmp_path / "labels.csv", [centre_row("A", "Malignant", laterality="L"),
                                                 centre_row("B", "benign", group="person-B")])
    out = tmp_path / "out" / "cases.csv"
    table, report = dicom.build_cases(dcm, labels, out)
    rows = load_cases(out).set_index("id")
    assert list(rows.index) == ["A", "B"]
    assert rows.loc["A", "label"] == "malignant" and rows.loc["A", "laterality"] == "L"
    for (mode, view), path in a_left.items():
        assert rows.loc["A", f"{mode}_{view}_path"] == str(path.resolve())
    assert rows.loc["B", "laterality"] == "R" and rows.loc["B", "group"] == "person-B"
    assert rows.loc["B", "rec_mlo_path"] == "" and rows.loc["B", "he_mlo_path"] == str(b[("he", "mlo")].resolve())
    assert report["views_from_high_energy"] == 1
    view = load_view(rows.reset_index().iloc[1], "mlo")  # recombined computed from HE and LE
    assert view.rec.shape == (ROWS, COLS) and view.mirrored
    assert (rows.loc["A", "cc_x"], rows.loc["A", "cc_y"]) == (10, 20)


def test_patient_from_folder(tmp_path):
    dcm = tmp_path / "dicom"
    write_breast(dcm / "case-7", "anonymous", "L")
    labels = label_csv(tmp_path / "labels.csv", [centre_row("case-7", "benign")])
    table, _ = dicom.build_cases(dcm, labels, patient_from="folder")
    assert table["id"].tolist() == ["case-7"]


def test_every_unidentifiable_patient_is_named_with_its_files(tmp_path):
    dcm = tmp_path / "dicom"
    write_breast(dcm, "MISSING", "L", skip={("rec", "cc")})
    dup = write_breast(dcm, "DUP", "L", seed=1)
    extra_le = write_breast(dcm / "again", "DUP", "L", modes=("le",), skip={("le", "mlo")}, seed=2)
    odd = write_breast(dcm, "ODD", "R", seed=3, extra={("le", "mlo"): {"Laterality": "L"},
                                                       ("rec", "cc"): {"ImageType": ["ORIGINAL", "PRIMARY"]}})
    write_breast(dcm, "BOTH", "L", seed=4)
    write_breast(dcm, "BOTH", "R", seed=5)
    write_breast(dcm, "FAR", "L", seed=6)
    labels = label_csv(tmp_path / "labels.csv", [
        centre_row("MISSING", "benign"), centre_row("DUP", "malignant"), centre_row("ODD", "benign"),
        centre_row("BOTH", "benign"), centre_row("FAR", "benign", cc_x=COLS + 5), centre_row("NOBODY", "benign"),
        centre_row("MISSING", "unsure")])
    with pytest.raises(DataError) as info:
        dicom.build_cases(dcm, labels)
    message = str(info.value)
    assert "9 problem(s)" in message  # ODD misses two images
    assert "patient MISSING): no recombined (or high-energy) CC image of the L breast" in message
    assert f"2 LE CC images of the L breast ({dup[('le', 'cc')]}, {extra_le[('le', 'cc')]}), keep one" in message
    assert f"{odd[('le', 'mlo')]} (ImageLaterality 'R' and Laterality 'L' disagree)" in message
    assert f"{odd[('rec', 'cc')]} (ImageType" in message and "names no energy" in message
    assert "patient BOTH): images of both breasts (L: 4 files, R: 4 files)" in message
    assert "patient FAR), column cc_x: box centre 37 is outside the CC image (32x40 px" in message
    assert "patient NOBODY): no DICOM image with this patient id" in message
    assert "label 'unsure' is not one of benign, malignant" in message


def _bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.dcm"
    write_mammogram(good, np.zeros((ROWS, COLS), np.uint16), patient_id="X", view="cc", laterality="L",
                    energy="LOW_ENERGY")
    data = good.read_bytes()
    (folder / "truncated.dcm").write_bytes(data[: len(data) - 500])
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="PNG")
    (folder / "picture.dcm").write_bytes(buffer.getvalue())
    (folder / "empty.dcm").write_bytes(b"")
    return folder


def test_bad_files_each_named(tmp_path):
    dcm = _bad_files(tmp_path / "dicom")
    labels = label_csv(tmp_path / "labels.csv", [centre_row("X", "benign")])
    with pytest.raises(DataError) as info:
        dicom.build_cases(dcm, labels)
    message = str(info.value)
    assert "3 unreadable file(s)" in message
    assert f"file {dcm / 'empty.dcm'}: empty file" in message
    assert f"file {dcm / 'picture.dcm'}: not a DICOM file" in message
    assert f"file {dcm / 'truncated.dcm'}: truncated: " in message
    images, notes = dicom.scan_folder(dcm, skip_unreadable=True)
    assert len(images) == 1 and len(notes["unreadable"]) == 3


def test_label_csv_with_a_missing_column(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("patient,label,cc_x,cc_y,mlo_x\nA,benign,1,2,3\n")
    with pytest.raises(DataError, match=r"labels.csv: missing column\(s\) mlo_y"):
        dicom.read_label_csv(bad)


def test_command_exits_non_zero_without_traceback(tmp_path, capsys):
    dcm = _bad_files(tmp_path / "dicom")
    labels = label_csv(tmp_path / "labels.csv", [centre_row("X", "benign")])
    out = tmp_path / "cases.csv"
    proc = subprocess.run([sys.executable, "-m", "d2tl", "from-dicom", "--dicom-dir", str(dcm), "--labels",
                           str(labels), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: ") and "truncated.dcm" in proc.stderr and "picture.dcm" in proc.stderr
    assert not out.exists()
    # the same folder, cleaned, works through the command (in process)
    for name in ("truncated.dcm", "picture.dcm", "empty.dcm", "good.dcm"):
        (dcm / name).unlink()
    write_breast(dcm, "X", "L")
    assert cli.main(["from-dicom", "--dicom-dir", str(dcm), "--labels", str(labels), "--out", str(out)]) == 0
    assert "1 cases (benign 1, malignant 0)" in capsys.readouterr().out
    assert load_cases(out)["id"].tolist() == ["X"]
