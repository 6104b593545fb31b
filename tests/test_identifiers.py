"""No DICOM identifier reaches results/.

DICOM files carry distinctive sentinel values in PatientName, PatientID, PatientBirthDate and
AccessionNumber. ``from-dicom`` builds the case table (pseudonymous ids, the mapping beside it),
then ``check-data``, ``rois``, ``train`` (the test backbone) and ``predict`` write under
``results/``; every byte of every file there is searched for every sentinel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from d2tl.cli import main
from d2tl.data.dicom_io import write_mammogram

SENTINELS = ("SENTPIDQ", "SENTNAMEQ", "19010203", "SENTACCQ")
ENERGIES = {"le": "LOW_ENERGY", "rec": "RECOMBINED"}


def _write_dicom_set(folder: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        pid = f"SENTPIDQ{i:02d}"
        for view in ("cc", "mlo"):
            for mode, energy in ENERGIES.items():
                path = folder / f"study{i:02d}" / f"IMG{view}{mode}.dcm"
                path.parent.mkdir(parents=True, exist_ok=True)
                write_mammogram(path, rng.integers(100, 4000, size=(48, 40)).astype(np.uint16), patient_id=pid,
                                view=view, laterality="L", energy=energy, pixel_spacing_mm=0.28,
                                extra={"PatientName": f"SENTNAMEQ^{i}", "PatientBirthDate": "19010203",
                                       "AccessionNumber": f"SENTACCQ{i:02d}"})
        rows.append({"patient": pid, "label": ("benign", "malignant")[i % 2], "cc_x": 20, "cc_y": 24,
                     "mlo_x": 20, "mlo_y": 24})
    labels = folder.parent / "labels.csv"
    pd.DataFrame(rows).to_csv(labels, index=False)
    return labels


def _leaks(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in SENTINELS if s.encode() in data]
    return found


def test_sentinel_identifiers_never_reach_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    monkeypatch.chdir(tmp_path)
    labels = _write_dicom_set(tmp_path / "dicom")
    cases = tmp_path / "data" / "cases.csv"
    assert main(["from-dicom", "--dicom-dir", "dicom", "--labels", str(labels), "--out", str(cases)]) == 0
    assert "pseudonyms" in capsys.readouterr().out
    table = pd.read_csv(cases, dtype=str)
    assert table["id"].tolist() == [f"P{i:04d}" for i in range(1, 13)] and table["group"].equals(table["id"])
    mapping = pd.read_csv(cases.with_name("cases-pseudonyms.csv"), dtype=str)
    assert dict(zip(mapping["id"], mapping["patient"]))["P0001"] == "SENTPIDQ00"
    assert not [s for s in SENTINELS if s in cases.read_text()]  # the case table itself holds none

    results = tmp_path / "results"
    assert main(["check-data", str(cases)]) == 0
    assert main(["rois", "--cases", str(cases), "--out", str(results / "rois.npz"), "--input-scale", "0.3"]) == 0
    assert main(["train", "--cases", str(cases), "--out", str(results / "train"), "--preset", "smoke",
                 "--weights", "random", "--epochs", "1"]) == 0
    model = next((results / "train").glob("*/model.keras"))
    assert main(["predict", "--model", str(model), "--cases", str(cases),
                 "--out", str(results / "predictions.csv")]) == 0
    assert len(list(results.rglob("*"))) > 15
    assert _leaks(results) == []
    assert _leaks(tmp_path / "dicom")  # the control: the sentinels are there to be found


def test_keep_patient_id_says_so_loudly(tmp_path, capsys):
    labels = _write_dicom_set(tmp_path / "dicom", n=2)
    cases = tmp_path / "cases.csv"
    assert main(["from-dicom", "--dicom-dir", str(tmp_path / "dicom"), "--labels", str(labels), "--out", str(cases),
                 "--keep-patient-id"]) == 0
    assert "WARNING: --keep-patient-id" in capsys.readouterr().err
    assert pd.read_csv(cases)["id"].tolist() == ["SENTPIDQ00", "SENTPIDQ01"]


def test_a_case_table_under_results_is_refused(tmp_path, capsys):
    labels = _write_dicom_set(tmp_path / "dicom", n=2)
    out = tmp_path / "results" / "cases.csv"
    assert main(["from-dicom", "--dicom-dir", str(tmp_path / "dicom"), "--labels", str(labels),
                 "--out", str(out)]) == 2
    assert "must not be under a results folder" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.parametrize("tag", ["PatientName", "PatientID"])
def test_the_sentinels_are_in_the_inputs(tmp_path, tag):
    """Control: the DICOM files really carry the sentinel in each tag searched for."""
    import pydicom

    _write_dicom_set(tmp_path / "dicom", n=1)
    ds = pydicom.dcmread(next((tmp_path / "dicom").rglob("*.dcm")))
    assert str(ds[tag].value).startswith(("SENTPIDQ", "SENTNAMEQ"))
    assert ds.PatientBirthDate == "19010203" and ds.AccessionNumber.startswith("SENTACCQ")
