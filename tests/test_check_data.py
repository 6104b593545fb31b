"""check-data: reads every image, lists every problem, exit 0 / 1 / 2."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl import cli
from d2tl.data import check
from d2tl.data.cases import write_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.io.errors import DataError

ROWS, COLS = 60, 40


def breast(seed):
    """A breast against the left edge (x < ~30) on black air, 12-bit."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    inside = (xx / 30.0) ** 2 + ((yy - ROWS / 2) / 26.0) ** 2 < 1
    return np.where(inside, rng.integers(1500, 3500, (ROWS, COLS)), rng.integers(0, 40, (ROWS, COLS))).astype(np.uint16)


def write_set(folder, n=4):
    """``n`` clean cases (DICOM images, PNG masks), persons P0, P0, P1, P2 ... (P0's two breasts,
    left benign and right malignant); return the CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        cid = f"C{i}"
        side = "R" if i == 1 else "L"
        rec = {"id": cid, "group": f"P{max(0, i - 1)}", "label": LABELS_CYCLE[i % 2], "laterality": side, "scale": 1}
        for view in ("cc", "mlo"):
            for mode, energy in (("le", "LOW_ENERGY"), ("rec", "RECOMBINED")):
                path = folder / f"{cid}_{mode}_{view}.dcm"
                write_mammogram(path, breast(10 * i + len(view) + len(mode)), patient_id=cid, view=view,
                                laterality=side, energy=energy)
                rec[f"{mode}_{view}_path"] = path.name
            rec[f"{view}_x"], rec[f"{view}_y"] = 12, 30
            mask = np.zeros((ROWS, COLS), np.uint8)
            mask[26:34, 8:16] = 255
            Image.fromarray(mask).save(folder / f"{cid}_{view}_mask.png")
            rec[f"{view}_mask_path"] = f"{cid}_{view}_mask.png"
        records.append(rec)
    csv = folder / "cases.csv"
    write_cases(pd.DataFrame(records), csv)
    return csv


LABELS_CYCLE = ("benign", "malignant")


def test_clean_set_passes_with_a_summary(tmp_path, capsys):
    csv = write_set(tmp_path / "set")
    split = tmp_path / "split.csv"
    pd.DataFrame({"id": ["C0", "C1", "C2", "C3"], "part": ["train", "train", "val", "test"]}).to_csv(split, index=False)
    assert cli.main(["check-data", str(csv), "--split", str(split)]) == 0
    out = capsys.readouterr().out
    assert "cases: 4 (benign 2, malignant 2)" in out
    assert "persons: 3 (1 with several cases, 1 with both labels)" in out
    assert "le_cc: 40x60 x4; 12-bit DICOM x4" in out
    assert "views with a lesion mask: 8" in out
    assert "split: train benign 1, malignant 1; val benign 1, malignant 0; test benign 0, malignant 1" in out
    assert "no problems found" in out
    assert ("DICOM conventions: image type standard 16; view ViewPosition and View Code Sequence 16; "
            "pixel spacing ImagerPixelSpacing 16; presentation intent FOR PRESENTATION 16") in out


def _retag(path, **attributes):
    import pydicom

    ds = pydicom.dcmread(path)
    for keyword, value in attributes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path)


def test_conventions_per_data_set_and_what_the_tags_contradict(tmp_path, capsys):
    csv = write_set(tmp_path / "set", n=3)
    folder = csv.parent
    for view in ("cc", "mlo"):  # C0: vendor aliases; C1: no Image Type role, kVp decides LE
        _retag(folder / f"C0_le_{view}.dcm", ImageType=["ORIGINAL", "PRIMARY", "", "LOW_ENERGY"])
        _retag(folder / f"C0_rec_{view}.dcm", ImageType=["DERIVED", "PRIMARY", "", "RECOMBINED"])
        _retag(folder / f"C1_le_{view}.dcm", ImageType=["ORIGINAL", "PRIMARY"], KVP="28", ViewPosition=None)
    result = check.check_cases(csv)
    assert result.clean, result.problems
    assert result.summary["dicom_conventions"]["image_type"] == {"standard": 6, "vendor alias": 4, "kVp fallback": 2}
    assert result.summary["dicom_conventions"]["view"] == {"ViewPosition and View Code Sequence": 10,
                                                           "View Code Sequence": 2}
    # C2: the LE MLO file is tagged recombined, the LE CC one names two roles, the rec CC one disagrees on its view
    _retag(folder / "C2_le_mlo.dcm", ImageType=["DERIVED", "PRIMARY", "", "SUBTRACTION", ""])
    _retag(folder / "C2_le_cc.dcm", ImageType=["ORIGINAL", "PRIMARY", "", "", "LOW_ENERGY", "HIGH_ENERGY"])
    _retag(folder / "C2_rec_cc.dcm", ViewPosition="MLO")
    _retag(folder / "C1_rec_mlo.dcm", PixelSpacing=None, ImagerPixelSpacing=["0.1", "0.1"])
    assert cli.main(["check-data", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "image type standard 5, vendor alias 4, kVp fallback 2, contradictory 1" in out
    assert (f"line 4 (patient C2), image le_mlo: file {folder / 'C2_le_mlo.dcm'} is tagged recombined "
            "(ImageType value 4 SUBTRACTION), not low energy") in out
    assert f"line 4 (patient C2), image le_cc: file {folder / 'C2_le_cc.dcm'}: ImageType " in out
    assert "names 2 roles (value 5 LOW_ENERGY = low energy; value 6 HIGH_ENERGY = high energy)" in out
    assert (f"image rec_cc: file {folder / 'C2_rec_cc.dcm'}: ViewPosition 'MLO' and View Code Sequence "
            "SCT:399162004 (CC) disagree") in out
    assert "3 problem(s):" in out
    assert "pixel spacing ImagerPixelSpacing 12" in out  # C1's images now disagree on the pitch: scale not compared
    _retag(folder / "C1_rec_mlo.dcm", ImagerPixelSpacing=["0.07", "0.07"])
    _retag(folder / "C0_le_cc.dcm", ImagerPixelSpacing=["0.14", "0.14"], PixelSpacing=["0.14", "0.14"])
    for name in ("C0_le_mlo", "C0_rec_cc", "C0_rec_mlo"):
        _retag(folder / f"{name}.dcm", ImagerPixelSpacing=["0.14", "0.14"])
    result = check.check_cases(csv)
    assert result.summary["scale_vs_pixel_spacing"] == ["C0: scale 1, pixel pitch gives 0.5"]


def test_mixed_presentation_intents_are_a_problem_unless_allowed(tmp_path, capsys):
    csv = write_set(tmp_path / "set", n=2)
    raw = csv.parent / "C1_le_cc.dcm"
    _retag(raw, PresentationIntentType="FOR PROCESSING")
    assert cli.main(["check-data", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "images of both presentation intents: 7 FOR PRESENTATION (" in out
    assert f"1 FOR PROCESSING ({raw})" in out and "allow the mix with --mixed-intent" in out
    assert cli.main(["check-data", str(csv), "--mixed-intent"]) == 0
    assert "presentation intent FOR PRESENTATION 7, FOR PROCESSING 1" in capsys.readouterr().out


def test_every_problem_is_listed(tmp_path, capsys):
    csv = write_set(tmp_path / "set", n=5)
    folder = csv.parent
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[0, "label"] = "maybe"
    table.loc[1, "cc_x"], table.loc[1, "cc_y"] = "38", "2"  # inside the image, in the air, > 10 px from the breast
    table.loc[1, "mlo_y"] = "75"  # outside the 60-row image
    write_mammogram(folder / "small.dcm", breast(99)[:50], patient_id="C2", view="cc", laterality="L",
                    energy="RECOMBINED")
    table.loc[2, "rec_cc_path"] = "small.dcm"  # one view, two sizes
    data = (folder / "C3_le_mlo.dcm").read_bytes()
    (folder / "C3_le_mlo.dcm").write_bytes(data[: len(data) - 700])  # truncated
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buffer, format="PNG")
    (folder / "C3_rec_cc.dcm").write_bytes(buffer.getvalue())  # a PNG renamed .dcm
    (folder / "C4_le_cc.dcm").write_bytes(b"")  # empty
    Image.fromarray(np.zeros((ROWS, COLS), np.uint8)).save(folder / "C4_mlo_mask.png")  # empty mask
    table.loc[4, "rec_mlo_path"] = "nowhere.dcm"
    table.to_csv(csv, index=False)
    split = tmp_path / "split.csv"
    # C0 and C1 are the same person (P0) but land in two parts
    pd.DataFrame({"id": ["C0", "C1", "C2", "C3", "C4"], "part": ["train", "val", "val", "test", "test"]}
                 ).to_csv(split, index=False)
    assert cli.main(["check-data", str(csv), "--split", str(split)]) == 1
    out = capsys.readouterr().out
    problems = out.split("problem(s):")[1].splitlines()
    expected = [
        "line 2 (patient C0): label 'maybe' is not one of benign, malignant",
        "line 3 (patient C1): CC box centre (38, 2) lies in the background air of",
        "line 3 (patient C1): MLO box centre (12, 75) is outside the image (40x60 px",
        "line 4 (patient C2): the CC images differ in size: le_cc 40x60",
        f"line 5 (patient C3), image le_mlo: file {folder / 'C3_le_mlo.dcm'}: cannot decode pixel data",
        f"line 5 (patient C3), image rec_cc: file {folder / 'C3_rec_cc.dcm'}: not a readable DICOM file",
        f"line 6 (patient C4), image le_cc: file {folder / 'C4_le_cc.dcm'}: not a readable DICOM file",
        f"line 6 (patient C4), image rec_mlo: file {folder / 'nowhere.dcm'} does not exist",
        f"line 6 (patient C4): MLO mask {folder / 'C4_mlo_mask.png'} is empty",
        f"split {split}: person P0 is in 2 parts (C0 in train, C1 in val)",
    ]
    for text in expected:
        assert sum(text in p for p in problems) == 1, (text, problems)
    assert f"{len(expected)} problem(s):" in out
    assert "checks skipped: 2" in out and "C4), CC: box centre checks (no readable LE image)" in out
    assert "C3), MLO: box centre checks (no readable LE image)" in out


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["check-data", str(tmp_path / "none.csv")]) == 2
    assert capsys.readouterr().err.strip() == f"error: case table {tmp_path / 'none.csv'} does not exist"
    bad = tmp_path / "cases.csv"
    bad.write_text("id,label\nC0,benign\n")
    assert cli.main(["check-data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing column(s) group, laterality" in err
    csv = write_set(tmp_path / "set", n=2)
    (tmp_path / "split.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert cli.main(["check-data", str(csv), "--split", str(tmp_path / "split.csv")]) == 2
    assert "split file" in capsys.readouterr().err


def test_in_breast():
    image = breast(0).astype(np.float32)
    assert check.in_breast(image, 12, 30, 3)[0]
    assert not check.in_breast(image, 38, 2, 3)[0]
    assert check.in_breast(image, 33, 30, 5)[0]  # just outside the skin line, within tolerance
    with pytest.raises(DataError, match="does not exist"):
        check.check_cases("/nonexistent/cases.csv")


def test_images_used_twice_and_breasts_with_two_labels_are_problems(tmp_path, capsys):
    """The same file, identical content, with two labels, under two persons:
    all listed, exit 1."""
    import shutil

    from conftest import write_tiny_cases

    csv = write_tiny_cases(tmp_path / "d", n=6)
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[1, "le_cc_path"] = table.loc[0, "le_cc_path"]  # the same path, C00 benign / C01 malignant
    copy = tmp_path / "d" / "copy.dcm"
    shutil.copy(tmp_path / "d" / table.loc[2, "rec_mlo_path"], copy)
    table.loc[3, "rec_mlo_path"] = copy.name  # identical content, another person
    table.to_csv(csv, index=False)
    assert cli.main(["check-data", str(csv)]) == 1
    out = capsys.readouterr().out
    assert "patients C00, C01 use identical content and the same file image(s) with two labels" in out
    assert "under two persons (C00 C00, C01 C01)" in out
    assert "patients C02, C03 use identical content image(s)" in out


def test_one_breast_with_two_labels_is_a_problem(tmp_path, capsys):
    """One breast (person and side) in two cases with different labels is
    listed, exit 1; --allow-two-labels-per-breast lists it apart (two lesions of one breast), exit 0."""
    csv = write_set(tmp_path / "set", n=4)
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[1, "laterality"] = "L"  # C0 benign and C1 malignant: both P0's left breast
    table.loc[3, "group"], table.loc[3, "label"] = "P1", "benign"  # C2 and C3: P1's left breast, one label
    table.to_csv(csv, index=False)
    assert cli.main(["check-data", str(csv)]) == 1
    out = capsys.readouterr().out
    expected = ("person P0, breast L: 2 cases with two different labels (C0 benign, C1 malignant); one breast, "
                "one finding -- or, if these are two lesions of one breast, accept them with "
                "--allow-two-labels-per-breast")
    assert f"1 problem(s):\n  - {expected}" in out, out
    assert cli.main(["check-data", str(csv), "--allow-two-labels-per-breast"]) == 0
    out = capsys.readouterr().out
    assert f"accepted (--allow-two-labels-per-breast), not problems: 1\n  - {expected}" in out
    assert "no problems found" in out
    # through the real command line too
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "d2tl", "check-data", str(csv)], capture_output=True, text=True)
    assert done.returncode == 1 and expected in done.stdout


def test_box_centre_and_scale_checks_alone():
    from d2tl.data.check.integrity import Findings, _check_scale, check_box_centre

    le = np.zeros((40, 60))
    le[:, :30] = 500.0  # breast on the left, air on the right
    findings = Findings()
    check_box_centre("at", "cc", 10.0, 20.0, le, "le.dcm", 3.0, findings)
    assert findings.problems == [] and findings.skipped == []
    check_box_centre("at", "cc", 50.0, 20.0, le, "le.dcm", 3.0, findings)
    check_box_centre("at", "cc", 60.0, 20.0, le, "le.dcm", 3.0, findings)
    assert "lies in the background air of le.dcm" in findings.problems[0]
    assert "is outside the image (60x40 px, le.dcm)" in findings.problems[1]
    check_box_centre("at", "mlo", None, 20.0, le, "le.dcm", 3.0, findings)
    check_box_centre("at", "mlo", 1.0, 1.0, None, "", 3.0, findings)
    assert [s.split(": ")[1] for s in findings.skipped] == ["box centre checks (centre is not a number)",
                                                           "box centre checks (no readable LE image)"]
    mismatch = []
    _check_scale("A", 1.0, {"0.07", None}, mismatch)  # 0.07 mm is the paper's pitch: scale 1
    _check_scale("B", 1.0, {"0.1"}, mismatch)
    _check_scale("C", 1.0, {"0.07", "0.1"}, mismatch)  # two pitches: left to the DICOM checks
    assert mismatch == ["B: scale 1, pixel pitch gives 0.7"]
