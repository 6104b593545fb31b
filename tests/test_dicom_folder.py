"""The DICOM-folder adapter: roles from tags, clear errors for what cannot be identified."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image

from d2tl import cli
from d2tl.data.sources import dicom
from d2tl.data.cases import load_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.data.images import load_view
from d2tl.io.errors import DataError

ROWS, COLS = 40, 32
ENERGIES = {"le": "LOW_ENERGY", "rec": "RECOMBINED", "he": "HIGH_ENERGY"}


def write_breast(folder, patient, lat, modes=("le", "rec"), extra=None, skip=(), seed=0, **write):
    """Four (or more) MG files of one breast under opaque names; return {(mode, view): path}.

    ``extra`` sets attributes per (mode, view); ``write`` goes to every ``write_mammogram``."""
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
                            energy=ENERGIES[mode], extra=(extra or {}).get((mode, view)), **write)
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
    table, report = dicom.build_cases(dcm, labels, out, keep_patient_id=True)
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
    table, _ = dicom.build_cases(dcm, labels, patient_from="folder", keep_patient_id=True)
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
    assert cli.main(["from-dicom", "--dicom-dir", str(dcm), "--labels", str(labels), "--out", str(out),
                     "--keep-patient-id"]) == 0
    assert "1 cases (benign 1, malignant 0)" in capsys.readouterr().out
    assert load_cases(out)["id"].tolist() == ["X"]


def _remove(path, *keywords):
    ds = pydicom.dcmread(path)
    for keyword in keywords:
        delattr(ds, keyword)
    ds.save_as(path)


ALIASES = {  # convention -> ImageType per mode, as vendors have written them
    "standard": {},
    "RECOMBINED in value 4": {"le": ["ORIGINAL", "PRIMARY", "", "LOW_ENERGY"],
                              "rec": ["DERIVED", "PRIMARY", "", "RECOMBINED"]},
    "SUBTRACTED in value 3": {"le": ["ORIGINAL", "PRIMARY", "LOW_ENERGY"], "rec": ["DERIVED", "PRIMARY", "SUBTRACTED"]},
    "SUBTRACTION in value 3": {"rec": ["DERIVED", "PRIMARY", "SUBTRACTION"]},
}


@pytest.mark.parametrize("convention", list(ALIASES))
def test_standard_files_and_each_vendor_alias_give_the_right_roles(tmp_path, convention):
    types = ALIASES[convention]
    extra = {(mode, view): {"ImageType": types[mode]} for mode in types for view in ("cc", "mlo")}
    paths = write_breast(tmp_path / "dicom", "A", "L", extra=extra)
    labels = label_csv(tmp_path / "labels.csv", [centre_row("A", "benign")])
    table, report = dicom.build_cases(tmp_path / "dicom", labels)
    for (mode, view), path in paths.items():
        assert table.loc[0, f"{mode}_{view}_path"] == str(path.resolve()), (mode, view)
    expected = {"standard": 4} if convention == "standard" else (
        {"vendor alias": 4} if len(types) == 2 else {"standard": 2, "vendor alias": 2})
    assert report["conventions"]["image_type"] == expected
    assert {r["mode_detail"] for r in report["images"] if r["mode"] == "rec"} == (
        {"ImageType value 4 SUBTRACTION"} if "rec" not in types else
        {"ImageType " + ", ".join(f"value {i + 1} {t}" for i, t in enumerate(types["rec"]) if t not in ("", "DERIVED", "PRIMARY"))})


def test_kvp_decides_when_image_type_says_nothing_and_is_reported(tmp_path):
    plain = ["ORIGINAL", "PRIMARY"]
    extra = {("le", v): {"ImageType": plain, "KVP": "28"} for v in ("cc", "mlo")}
    extra.update({("he", v): {"ImageType": plain, "KVP": "49"} for v in ("cc", "mlo")})
    extra[("rec", "mlo")] = {"ImageType": ["DERIVED", "PRIMARY"], "KVP": "49"}  # maybe recombined: left out
    paths = write_breast(tmp_path / "dicom", "K", "R", modes=("le", "he", "rec"), skip={("rec", "cc")}, extra=extra)
    labels = label_csv(tmp_path / "labels.csv", [centre_row("K", "malignant")])
    table, report = dicom.build_cases(tmp_path / "dicom", labels)
    row = table.iloc[0]
    for view in ("cc", "mlo"):
        assert row[f"le_{view}_path"] == str(paths[("le", view)].resolve())
        assert row[f"he_{view}_path"] == str(paths[("he", view)].resolve()) and row[f"rec_{view}_path"] == ""
    assert report["conventions"]["image_type"] == {"kVp fallback": 4}
    fallback = {r["file"]: r["mode_detail"] for r in report["mode_from_kvp"]}
    assert fallback[str(paths[("le", "cc")])] == "KVP 28 <= 35" and fallback[str(paths[("he", "mlo")])] == "KVP 49 >= 40"
    unidentified = {r["file"]: r["note"] for r in report["unidentified"]}
    assert "a DERIVED image at 49 kVp may be recombined" in unidentified[str(paths[("rec", "mlo")])]


def test_contradictory_image_type_is_an_error_naming_the_file(tmp_path):
    bad = ["DERIVED", "PRIMARY", "", "SUBTRACTION", "LOW_ENERGY"]
    paths = write_breast(tmp_path / "dicom", "C", "L", extra={("rec", "cc"): {"ImageType": bad}})
    labels = label_csv(tmp_path / "labels.csv", [centre_row("C", "benign")])
    with pytest.raises(DataError) as info:
        dicom.build_cases(tmp_path / "dicom", labels)
    message = str(info.value)
    assert "1 file(s) with contradictory ImageType" in message
    assert (f"file {paths[('rec', 'cc')]}: ImageType 'DERIVED\\PRIMARY\\\\SUBTRACTION\\LOW_ENERGY' names 2 roles "
            "(value 4 SUBTRACTION = recombined; value 5 LOW_ENERGY = low energy)") in message
    images, notes = dicom.scan_folder(tmp_path / "dicom", skip_unreadable=True)
    assert len(images) == 3 and str(paths[("rec", "cc")]) in notes["contradictory"][0]


def test_view_code_sequence_alone_and_disagreement(tmp_path):
    dcm = tmp_path / "dicom"
    paths = write_breast(dcm, "V", "L")
    for path in paths.values():
        _remove(path, "ViewPosition")  # MG: ViewPosition is optional, the code is not
    srt = pydicom.dcmread(paths[("le", "mlo")])
    srt.ViewCodeSequence[0].CodeValue, srt.ViewCodeSequence[0].CodingSchemeDesignator = "R-10226", "SRT"
    srt.save_as(paths[("le", "mlo")])
    labels = label_csv(tmp_path / "labels.csv", [centre_row("V", "benign")])
    table, report = dicom.build_cases(dcm, labels)
    for (mode, view), path in paths.items():
        assert table.loc[0, f"{mode}_{view}_path"] == str(path.resolve())
    assert report["conventions"]["view"] == {"View Code Sequence": 4}
    odd = write_breast(dcm, "V", "L", modes=("le",), skip={("le", "mlo")}, extra={("le", "cc"): {"ViewPosition": "MLO"}})
    table, report = dicom.build_cases(dcm, labels)  # the extra file is not used, but reported
    assert [r["note"] for r in report["unidentified"]] == [
        "ViewPosition 'MLO' and View Code Sequence SCT:399162004 (CC) disagree"]
    assert report["unidentified"][0]["file"] == str(odd[("le", "cc")])
    _remove(paths[("le", "cc")], "ViewCodeSequence")
    with pytest.raises(DataError, match=r"no low-energy CC image .* \(ViewPosition 'MLO' and View Code Sequence "
                                        r"SCT:399162004 \(CC\) disagree\)"):
        dicom.build_cases(dcm, labels)


def test_mixed_presentation_intents_are_refused_unless_allowed(tmp_path, capsys):
    dcm = tmp_path / "dicom"
    write_breast(dcm / "a", "A", "L")
    raw = write_breast(dcm / "b", "B", "L", seed=1, intent="FOR PROCESSING")
    labels = label_csv(tmp_path / "labels.csv", [centre_row("A", "benign"), centre_row("B", "malignant")])
    with pytest.raises(DataError) as info:
        dicom.build_cases(dcm, labels)
    message = str(info.value)
    assert "images of both presentation intents: 4 FOR PRESENTATION (" in message
    assert "4 FOR PROCESSING (" + ", ".join(str(raw[k]) for k in sorted(raw, key=lambda k: str(raw[k]))) in message
    assert "--mixed-intent" in message
    table, report = dicom.build_cases(dcm, labels, allow_mixed_intent=True)
    assert len(table) == 2 and report["mixed_intent_allowed"]
    assert report["conventions"]["presentation_intent"] == {"FOR PRESENTATION": 4, "FOR PROCESSING": 4}
    out = tmp_path / "cases.csv"
    argv = ["from-dicom", "--dicom-dir", str(dcm), "--labels", str(labels), "--out", str(out)]
    assert cli.main(argv) == 2 and "--mixed-intent" in capsys.readouterr().err
    assert cli.main(argv + ["--mixed-intent"]) == 0


def test_scale_follows_pixel_spacing(tmp_path):
    dcm = tmp_path / "dicom"
    write_breast(dcm, "G", "L", pixel_spacing_mm=0.1)  # a 0.1 mm detector
    half = write_breast(dcm, "H", "L", seed=1, pixel_spacing_mm=0.14)
    for path in half.values():
        _remove(path, "ImagerPixelSpacing")  # PixelSpacing alone
    none = write_breast(dcm, "N", "L", seed=2)
    for path in none.values():
        _remove(path, "ImagerPixelSpacing", "PixelSpacing")
    labels = label_csv(tmp_path / "labels.csv", [centre_row(p, "benign") for p in "GHN"])
    table, report = dicom.build_cases(dcm, labels, tmp_path / "cases.csv", keep_patient_id=True)
    assert dict(zip(table["id"], table["scale"])) == {"G": 0.7, "H": 0.5, "N": 1.0}
    assert dict(zip(*load_cases(tmp_path / "cases.csv")[["id", "scale"]].T.values)) == {"G": 0.7, "H": 0.5, "N": 1.0}
    assert report["cases_without_pixel_spacing"] == ["N"] and report["scales"] == [0.5, 0.7, 1.0]
    assert report["conventions"]["pixel_spacing"] == {"ImagerPixelSpacing": 4, "PixelSpacing": 4, "none": 4}
    odd = pydicom.dcmread(half[("rec", "mlo")])
    odd.PixelSpacing = ["0.1", "0.1"]
    odd.save_as(half[("rec", "mlo")])
    with pytest.raises(DataError, match=r"patient H\): the images' pixel pitches differ: .*0\.14 mm \(PixelSpacing\)"):
        dicom.build_cases(dcm, labels)


def test_one_views_images_and_box_centre_checked_alone():
    from pathlib import Path

    from d2tl.data.sources.dicom.build import box_centre, view_images
    from d2tl.data.sources.dicom.scan import DicomImage

    def image(mode, view="cc", lat="L", rows=40, cols=30, note=""):
        return DicomImage(Path(f"/d/{mode}_{view}_{lat}.dcm"), "A", view, lat, mode, rows, cols, note=note)

    problems = []
    files = [image("le"), image("he"), image("le", "mlo"), image(None, note="other view")]
    chosen = view_images("at", "cc", "L", files, problems)
    assert set(chosen) == {"le", "he"} and problems == []  # high energy stands in for recombined
    assert view_images("at", "mlo", "L", files, problems) is None
    assert "no recombined (or high-energy) MLO" in problems[0] and "other view" in problems[0]
    problems, record = [], {}
    assert box_centre({"cc_x": "29.5", "cc_y": "0"}, "at", "cc", chosen, record, problems)
    assert record == {"cc_x": "29.5", "cc_y": "0"} and problems == []
    assert not box_centre({"cc_x": "30", "cc_y": "y"}, "at", "cc", chosen, {}, problems)
    assert "box centre 30 is outside the CC image (30x40 px" in problems[0] and "'y' is not a number" in problems[1]
    assert not box_centre({}, "at", "cc", {"le": image("le"), "rec": image("rec", rows=41)}, {}, problems)
    assert "the CC images differ in size" in problems[2]


def test_laterality_of_one_file_alone():
    from d2tl.data.sources.dicom.scan import _laterality

    def tags(**values):
        ds = pydicom.Dataset()
        for keyword, value in values.items():
            setattr(ds, keyword, value)
        return ds

    notes = []
    assert _laterality(tags(ImageLaterality="L", Laterality="L"), notes) == "L" and notes == []
    assert _laterality(tags(ImageLaterality="R", Laterality="L"), notes) is None and "disagree" in notes[0]
    assert _laterality(tags(ImageLaterality="B"), notes) is None and notes[1] == "laterality 'B' is not L or R"
    assert _laterality(tags(), notes) is None and notes[2] == "laterality '(none)' is not L or R"
