"""The CDD-CESM adapter on the real spreadsheet and segmentation excerpt, with generated images.

The real JPEGs are large, so the download folder is rebuilt here from the spreadsheet's names
with small generated JPEGs (large ones, 1400x2600, only for the patients whose real outlines
are in the segmentation excerpt, so that those outlines fall inside their images).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from d2tl import cli
from d2tl.data.sources import cddcesm
from d2tl.data.cases import load_cases
from d2tl.data.images import read_image
from d2tl.io.errors import DataError

from conftest import CDD_CESM_FIXTURES

SHEET = CDD_CESM_FIXTURES / "Radiology-manual-annotations.xlsx"
EXCERPT = CDD_CESM_FIXTURES / "Radiology_hand_drawn_segmentations_v2.EXCERPT.csv"
EXCERPT_PATIENTS = {"P1", "P2", "P3", "P6", "P8", "P9", "P10", "P325", "P326"}
SMALL = (32, 40)  # rows, cols of the generated images
BIG = (2600, 1400)  # for the excerpt's patients: their outlines are in original pixels


# ---------------------------------------------------------------------------------------------
# counts derived independently from the raw sheet


def derive_counts():
    """The numbers the adapter must report, derived with plain pandas from the raw sheet.

    Derivation: read sheet ``all``; strip surrounding spaces from every cell (five image names
    carry a trailing space); a breast is (Patient_ID, Side) -- taken from those columns, not
    from the image name the adapter parses; an image is (Type, View), so the two duplicated
    rows (P99_L_*_MLO, P281_L_*_MLO) count once; a breast "has four images" when it has all of
    DM/CESM x CC/MLO. Its label: Malignant if any of its rows says Malignant, else Benign if any
    says Benign, else Normal. Persons are distinct Patient_IDs.
    """
    raw = pd.read_excel(SHEET, sheet_name="all", dtype=str)
    raw = raw.apply(lambda column: column.str.strip())
    pathology = "Pathology Classification/ Follow up"
    breasts = raw.groupby(["Patient_ID", "Side"])
    n_images = breasts.apply(lambda b: len(set(zip(b["Type"], b["View"]))))
    labels = breasts[pathology].agg(lambda s: "malignant" if "Malignant" in set(s)
                                    else "benign" if "Benign" in set(s) else "normal")
    four = n_images[n_images == 4].index
    four_labels = labels.loc[four]
    task = four_labels[four_labels != "normal"]
    return {
        "rows": len(raw), "patients": raw["Patient_ID"].nunique(), "breasts": len(n_images),
        "four": len(four), "labels": four_labels.value_counts().to_dict(),
        "persons_four": len({p for p, _ in four}),
        "task": task, "task_persons": len({p for p, _ in task.index}),
    }


HAVE_FIXTURES = SHEET.is_file() and EXCERPT.is_file()
SKIP_REASON = (f"CDD-CESM fixtures not found at {CDD_CESM_FIXTURES}: they live in the project's "
               "../shared/fixtures/cdd-cesm, which a clone of the repository does not have")
needs_fixtures = pytest.mark.skipif(not HAVE_FIXTURES, reason=SKIP_REASON)
DERIVED = derive_counts() if HAVE_FIXTURES else None


@needs_fixtures
def test_derived_counts_are_what_we_report():
    # The numbers themselves, so that a change in the spreadsheet or in pandas shows up here.
    assert DERIVED["rows"] == 2006 and DERIVED["patients"] == 326 and DERIVED["breasts"] == 566
    assert DERIVED["four"] == 435
    assert DERIVED["labels"] == {"malignant": 149, "benign": 145, "normal": 141}
    assert DERIVED["persons_four"] == 242
    assert DERIVED["task_persons"] == 221


# ---------------------------------------------------------------------------------------------
# a download folder rebuilt from the real names


def _jpeg(path, size, value):
    Image.fromarray(np.full(size, value, np.uint8)).save(path, quality=90)


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    """The TCIA layout with the real spreadsheet, the real excerpt plus generated outlines, and
    the real irregularities: a space before .jpg, duplicate MLO files, a missing image."""
    if not HAVE_FIXTURES:
        pytest.skip(SKIP_REASON)
    root = tmp_path_factory.mktemp("cdd") / "PKG - CDD-CESM"
    le_dir = root / "CDD-CESM" / cddcesm.LE_FOLDER
    cm_dir = root / "CDD-CESM" / cddcesm.CM_FOLDER
    le_dir.mkdir(parents=True)
    cm_dir.mkdir(parents=True)
    shutil.copy(SHEET, root / SHEET.name)
    sheet = pd.read_excel(SHEET, sheet_name="all", dtype=str)
    names = sorted({n.strip() for n in sheet["Image_name"]})
    for name in names:
        patient = name.split("_")[0]
        folder = le_dir if "_DM_" in name else cm_dir
        _jpeg(folder / f"{name}.jpg", BIG if patient in EXCERPT_PATIENTS else SMALL, 100)
    # irregularities, on the real names
    (cm_dir / "P3_L_CM_CC.jpg").rename(cm_dir / "P3_L_CM_CC .jpg")  # space before .jpg
    _jpeg(le_dir / "P99_L_DM_MLO_2.jpg", SMALL, 90)  # duplicate MLO images
    _jpeg(cm_dir / "P281_L_CM_MLO2.jpg", SMALL, 90)
    (cm_dir / "P2_L_CM_MLO.jpg").unlink()  # listed, missing on disk (P2_L is benign)
    # outlines: the excerpt verbatim, plus a circle on each CM image of the other task breasts
    excerpt = pd.read_csv(EXCERPT, dtype=str, keep_default_na=False)
    rows = [excerpt]
    extra = []
    outlined = {"_".join(name.split("_")[:2]) for name in excerpt["#filename"]}
    for (patient, side), label in DERIVED["task"].items():
        if f"P{patient}_{side}" in outlined:
            continue
        for view in ("CC", "MLO"):
            if (patient, side, view) == ("11", "R", "MLO"):
                continue  # a task breast without an outline on one view
            cx, cy = (20, 16)
            if (patient, side, view) == ("12", "L", "CC"):
                cx = 55  # centre outside the 40 px wide image
            shape = {"name": "circle", "cx": cx, "cy": cy, "r": 5}
            extra.append({"#filename": f"P{patient}_{side}_CM_{view}.jpg", "file_size": "1",
                          "file_attributes": "{}", "region_count": "1", "region_id": "0",
                          "region_shape_attributes": json.dumps(shape), "region_attributes": "{}"})
    rows.append(pd.DataFrame(extra))
    pd.concat(rows).to_csv(root / "Radiology_hand_drawn_segmentations_v2.csv", index=False)
    return root


@pytest.fixture(scope="module")
def built(download, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "cdd-cesm" / "cases.csv"
    sources = cddcesm.Sources.locate(download)
    table, report = cddcesm.build_cases(sources, out, cddcesm.BuildOptions(align="none"))
    return out, table, report


def test_spreadsheet_counts_match_the_independent_derivation(built):
    _, _, report = built
    s = report["spreadsheet"]
    assert s["rows"] == DERIVED["rows"]
    assert s["patients"] == DERIVED["patients"]
    assert s["breasts"] == DERIVED["breasts"]
    assert s["breasts_with_four_images_listed"] == DERIVED["four"]
    labels = s["labels_of_four_image_breasts"]
    assert {k: labels[k] for k in ("malignant", "benign", "normal")} == DERIVED["labels"]
    assert s["persons_with_a_four_image_breast"] == DERIVED["persons_four"]
    assert report["left_out_counts"]["normal"] == DERIVED["labels"]["normal"]
    assert report["left_out_counts"]["incomplete_listing"] == DERIVED["breasts"] - DERIVED["four"]


def test_cases_and_every_left_out_breast_accounted_for(built):
    out, table, report = built
    left = report["left_out"]
    # the breasts planted above, each left out for its own reason
    assert [e["id"] for e in left["missing_on_disk"]] == ["P2_L"]
    assert left["missing_on_disk"][0]["images"] == ["P2_L_CM_MLO"]
    assert "P2_L_CM_MLO" in report["irregularities"]["images_missing_on_disk"]
    assert {(e["id"], e["view"]) for e in left["centre_outside"]} == {("P12_L", "cc")}
    no_outline = {(e["id"], e["view"]) for e in left["no_outline"]}
    # P11_R: planted; P2_R, P10_L: the excerpt outlines only their CC view; P326_R: only its DM images
    assert no_outline == {("P11_R", "mlo"), ("P2_R", "mlo"), ("P10_L", "mlo"), ("P326_R", "cc")}
    n_task = DERIVED["labels"]["malignant"] + DERIVED["labels"]["benign"]
    assert len(table) == n_task - 1 - 1 - 4
    assert report["cases"]["n"] == len(table)
    expected = DERIVED["task"].copy()
    expected.index = [f"P{p}_{s}" for p, s in expected.index]
    dropped = {"P2_L", "P12_L", "P11_R", "P2_R", "P10_L", "P326_R"}
    expected = expected.drop(sorted(dropped))
    got = table.set_index("id")["label"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    # group = patient, laterality from the name, scale 1; the CSV loads through the case table
    loaded = load_cases(out)
    assert (loaded["group"] == loaded["id"].str.split("_").str[0]).all()
    assert (loaded["laterality"] == loaded["id"].str.split("_").str[1]).all()
    assert (loaded["scale"] == 1).all()
    assert report["cases"]["persons"] == loaded["group"].nunique()
    assert (out.parent / "cases-report.json").is_file() and (out.parent / "cases-report.md").is_file()
    assert json.loads((out.parent / "dataset.json").read_text())["name"] == "cdd-cesm"


def test_space_before_jpg_and_trailing_spaces(built):
    _, table, report = built
    irregular = report["irregularities"]
    # the spreadsheet's five names with a trailing space
    assert {e["name"] for e in irregular["spreadsheet_names_with_spaces"]} == {
        "P3_L_CM_CC ", "P4_L_DM_MLO ", "P4_L_CM_MLO ", "P10_R_DM_CC ", "P10_R_DM_MLO "}
    assert [e["as"] for e in irregular["file_names_normalised"]] == ["P3_L_CM_CC"]
    row = table.set_index("id").loc["P3_L"]
    assert row["rec_cc_path"].endswith("P3_L_CM_CC .jpg") and row["label"] == "malignant"
    assert table.set_index("id").loc["P10_R", "label"] == "benign"


def test_duplicate_mlo_images_resolved_by_the_documented_rule(built, download):
    _, _, report = built
    resolved = {e["image"]: e for e in report["irregularities"]["duplicate_files_resolved"]}
    assert set(resolved) == {"P99_L_DM_MLO", "P281_L_CM_MLO"}
    assert resolved["P99_L_DM_MLO"]["chosen"].endswith("P99_L_DM_MLO.jpg")
    assert resolved["P99_L_DM_MLO"]["discarded"][0].endswith("P99_L_DM_MLO_2.jpg")
    assert resolved["P281_L_CM_MLO"]["chosen"].endswith("P281_L_CM_MLO.jpg")
    # the spreadsheet lists those two MLO images twice each
    assert {e["image"] for e in report["irregularities"]["spreadsheet_duplicate_rows"]} == {
        "P99_L_DM_MLO", "P99_L_CM_MLO", "P281_L_DM_MLO", "P281_L_CM_MLO"}
    files, _ = cddcesm.index_images([("le", next(download.rglob(cddcesm.LE_FOLDER))),
                                     ("rec", next(download.rglob(cddcesm.CM_FOLDER)))])
    candidates = files[("P281", "L", "rec", "mlo")]
    assert cddcesm.choose_file(candidates, "first").path.name == "P281_L_CM_MLO.jpg"
    assert cddcesm.choose_file(candidates, "last").path.name == "P281_L_CM_MLO2.jpg"
    assert cddcesm.parse_name("P281_L_CM_MLO2.jpg").copy == 2
    assert cddcesm.parse_name("P99_L_DM_MLO_2.jpg").base == "P99_L_DM_MLO"


def test_real_excerpt_outlines_give_the_box_centres_and_masks(built):
    _, table, _ = built
    rows = table.set_index("id")
    # P3_R: one ellipse on each CM image (the DM images' ellipses are elsewhere and unused)
    assert (rows.loc["P3_R", "cc_x"], rows.loc["P3_R", "cc_y"]) == (193, 1466)
    assert (rows.loc["P3_R", "mlo_x"], rows.loc["P3_R", "mlo_y"]) == (219, 1782)
    mask = read_image(rows.loc["P3_R", "cc_mask_path"]) > 0
    assert mask.shape == BIG and abs(mask.sum() / (np.pi * 80 * 68) - 1) < 0.02
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - 193) < 1 and abs(ys.mean() - 1466) < 1
    # P325_R CC: a polygon and an ellipse; the larger one gives the centre
    excerpt = pd.read_csv(EXCERPT, dtype=str, keep_default_na=False)
    shapes = [json.loads(s) for s in excerpt.loc[excerpt["#filename"] == "P325_R_CM_CC.jpg", "region_shape_attributes"]]
    poly, ell = shapes
    x, y = np.array(poly["all_points_x"], float), np.array(poly["all_points_y"], float)
    poly_area = abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2
    ell_area = np.pi * ell["rx"] * ell["ry"]
    want = (((x.min() + x.max()) / 2, (y.min() + y.max()) / 2) if poly_area > ell_area else (ell["cx"], ell["cy"]))
    assert (rows.loc["P325_R", "cc_x"], rows.loc["P325_R", "cc_y"]) == pytest.approx(want)
    # the DM images share the CM centre and mask (align none: same frame)
    assert rows.loc["P325_R", "le_cc_path"].endswith("P325_R_DM_CC.jpg")


@needs_fixtures
def test_every_shape_of_the_excerpt():
    regions, notes = cddcesm.read_segmentations(EXCERPT)
    assert notes["rows"] == 40 and notes["rows_skipped"] == []
    assert sum(len(v) for v in regions.values()) == 40
    assert {r.shape for rs in regions.values() for r in rs} == {"polygon", "ellipse", "circle", "point"}
    shape = (2600, 1400)
    # polygon: centre of the points' enclosing rectangle; mask = skimage's polygon fill
    p1 = regions["P1_L_CM_MLO"][0]
    raw = json.loads(pd.read_csv(EXCERPT, dtype=str).iloc[0]["region_shape_attributes"])
    assert p1.centre() == ((min(raw["all_points_x"]) + max(raw["all_points_x"])) / 2,
                           (min(raw["all_points_y"]) + max(raw["all_points_y"])) / 2)
    m = p1.rasterise(shape)
    from skimage.draw import polygon2mask
    assert np.array_equal(m, polygon2mask(shape, np.c_[raw["all_points_y"], raw["all_points_x"]]))
    # ellipse and circle (P2_R_CM_CC has nine of them): largest vs first
    p2 = regions["P2_R_CM_CC"]
    assert len(p2) == 9
    assert cddcesm.choose_region(p2, "first").centre() == (713, 2236)
    assert cddcesm.choose_region(p2, "largest").centre() == (838, 1761)  # rx 205, ry 141
    circle = next(r for r in p2 if r.shape == "circle")
    cm = circle.rasterise(shape)
    assert abs(cm.sum() / (np.pi * 64 ** 2) - 1) < 0.02 and cm[814, 693] and not cm[814, 693 + 66]
    # point: a centre, and only a small disc as mask; any outline beats a point under "largest"
    p6 = regions["P6_R_DM_CC"]
    point = next(r for r in p6 if r.shape == "point")
    assert point.centre() == (456, 687) and point.area() == 0
    pm = point.rasterise(shape, point_radius=10)
    assert pm[687, 456] and 250 < pm.sum() < 380  # pi * 10^2
    assert cddcesm.choose_region(p6, "largest").shape == "ellipse"
    assert cddcesm.choose_region(regions["P9_L_DM_MLO"], "first").shape == "point"
    # a rotated ellipse (VIA theta turns x towards +y) and an outline leaving the image
    tilted = cddcesm.Region("x", 0, "ellipse", {"cx": 50, "cy": 50, "rx": 30, "ry": 5, "theta": np.pi / 4})
    tm = tilted.rasterise((101, 101))
    assert tm[70, 70] and tm[30, 30] and not tm[30, 70]
    edge = cddcesm.Region("x", 0, "circle", {"cx": 0, "cy": 0, "r": 10}).rasterise((50, 50))
    assert edge.any() and edge.shape == (50, 50)


def test_label_rules():
    rows = pd.DataFrame({"mode": ["le", "le", "rec", "rec"], "pathology": ["benign", "benign", "normal", "normal"]})
    assert cddcesm.breast_label(rows, "any") == "benign"
    assert cddcesm.breast_label(rows, "subtracted") == "normal"
    assert cddcesm.breast_label(rows, "all") == "disagree"
    mixed = rows.assign(pathology=["malignant", "benign", "benign", "normal"])
    assert cddcesm.breast_label(mixed, "any") == "malignant"


def test_one_spreadsheet_row_alone():
    from d2tl.data.sources.cddcesm.annotations import read_row

    columns = {k: k for k in ("image", "patient", "side", "type", "view", "pathology")}
    notes = {k: [] for k in ("blank_rows", "names_with_spaces", "unparsed_names", "field_conflicts",
                             "unknown_pathology")}
    row = {"image": "P7_L_DM_CC ", "patient": "7", "side": "R", "type": "DM", "view": "CC", "pathology": "Odd"}
    record = read_row(5, row, columns, notes)
    assert (record["image"], record["side"], record["mode"], record["pathology"]) == ("P7_L_DM_CC", "L", "le", "")
    assert notes["field_conflicts"] == [{"row": 5, "name": "P7_L_DM_CC", "conflicts": ["Side 'R'"],
                                         "used": "the image name"}]
    assert notes["names_with_spaces"][0]["row"] == 5 and notes["unknown_pathology"][0]["value"] == "Odd"
    assert read_row(6, {**row, "image": " "}, columns, notes) is None and notes["blank_rows"] == [6]
    assert read_row(7, {**row, "image": "P7_L_DM_CC_2"}, columns, notes) is None  # a copy: not a sheet name
    assert notes["unparsed_names"] == [{"row": 7, "name": "P7_L_DM_CC_2"}]


def test_a_breast_is_screened_before_its_files_are_read():
    from d2tl.data.sources.cddcesm.build import BuildOptions, LeftOut, Tally, _files_on_disk, _task_label
    options, tally = BuildOptions(), Tally()
    four = pd.DataFrame({"mode": ["le", "le", "rec", "rec"], "view": ["cc", "mlo"] * 2,
                         "pathology": ["malignant", "", "malignant", "malignant"]})
    with pytest.raises(LeftOut) as left:
        _task_label("P5", "L", four.iloc[:3], ["malignant"], options, tally)
    assert left.value.reason == "incomplete_listing" and left.value.entry["missing"] == ["P5_L_CM_MLO"]
    assert not tally.counts_four  # only breasts with four images listed are counted
    assert _task_label("P5", "L", four, ["malignant"], options, tally) == "malignant"
    with pytest.raises(LeftOut) as left:
        _task_label("P6", "R", four.assign(pathology="normal"), ["normal"], options, tally)
    assert (left.value.reason, left.value.entry) == ("normal", "P6_R")
    assert tally.counts_four == {"malignant": 1, "normal": 1} and tally.persons_four == {"P5", "P6"}
    with pytest.raises(LeftOut) as left:
        _files_on_disk("P5", "L", "malignant", {}, options)
    assert left.value.reason == "missing_on_disk" and len(left.value.entry["images"]) == 4


# ---------------------------------------------------------------------------------------------
# low energy vs subtracted frame


def _breast(rows=900, cols=520, seed=0):
    """A breast-like image: half ellipse against the left edge, textured, black air."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    inside = (xx / (0.8 * cols)) ** 2 + ((yy - rows / 2) / (0.42 * rows)) ** 2 < 1
    from scipy import ndimage as ndi
    texture = ndi.gaussian_filter(rng.normal(size=(rows, cols)), 6)
    return np.where(inside, 120 + 400 * texture, 0).clip(0, 255)


def test_registration_recovers_the_crop_offset():
    big = _breast()
    cm = big[40:860, 0:480]  # CM: rows 40.., cols 0..
    dm = np.clip(255 - big[10:880, 0:500] * 0.7, 0, 255) * (big[10:880, 0:500] > 0)  # other contrast, other crop
    dx, dy, score = cddcesm.estimate_offset(cm, dm)
    assert (dx, dy) == (0, 30) and score > 0.8  # DM (x, y + 30) shows CM (x, y)
    moved = cddcesm.move_into_frame(dm, cm.shape, dx, dy)
    assert moved.shape == cm.shape and np.array_equal(moved[:800], dm[30:830, :480])


REAL_SUBTRACTED = sorted(p.name for p in (CDD_CESM_FIXTURES / "subtracted-512px-png").glob("*.png"))


@pytest.mark.parametrize("name", REAL_SUBTRACTED or [pytest.param("none", marks=pytest.mark.skip(reason=SKIP_REASON))])
def test_registration_on_real_skin_lines(name):
    # Real CDD-CESM subtracted images (512 px), cropped two ways; the "DM" copy also gets
    # another contrast. Right breasts keep their chest wall on the right, so crop mirrored.
    image = read_image(CDD_CESM_FIXTURES / "subtracted-512px-png" / name)
    right = name.split("_")[1] == "R"
    a = image[:, ::-1] if right else image
    cm, dm = a[20:500, 0:490], 255 * (a[0:470, 15:512] / 255) ** 0.6
    if right:
        cm, dm = cm[:, ::-1].copy(), dm[:, ::-1].copy()
    dx, dy, score = cddcesm.estimate_offset(cm, dm)
    want = (22 if right else -15, 20)
    assert abs(dx - want[0]) <= 1 and abs(dy - want[1]) <= 1 and score > 0.6, (dx, dy, score)


def test_build_registers_dm_into_the_cm_frame(tmp_path):
    root = tmp_path / "dl"
    le_dir, cm_dir = root / cddcesm.LE_FOLDER, root / cddcesm.CM_FOLDER
    le_dir.mkdir(parents=True)
    cm_dir.mkdir()
    sheet = []
    segs = []
    for view, (dx, dy) in (("CC", (12, 30)), ("MLO", (0, 0))):
        big = _breast(seed=len(view))
        cm = big[40:860, 0:480]
        dm = big[40 + dy:880, dx:500] if (dx, dy) != (0, 0) else cm
        Image.fromarray(cm.astype(np.uint8)).save(cm_dir / f"P7_L_CM_{view}.jpg", quality=95)
        Image.fromarray(dm.astype(np.uint8)).save(le_dir / f"P7_L_DM_{view}.jpg", quality=95)
        for kind, ox, oy in (("CM", 0, 0), ("DM", dx, dy)):
            sheet.append({"Image_name": f"P7_L_{kind}_{view}", "Patient_ID": "7", "Side": "L",
                          "Type": "DM" if kind == "DM" else "CESM", "View": view,
                          "Pathology Classification/ Follow up": "Malignant"})
            segs.append({"#filename": f"P7_L_{kind}_{view}.jpg", "region_id": 0, "region_shape_attributes":
                         json.dumps({"name": "circle", "cx": 200 - ox, "cy": 400 - oy, "r": 20})})
    pd.DataFrame(sheet).to_excel(root / "Radiology-manual-annotations.xlsx", sheet_name="all", index=False)
    pd.DataFrame(segs).to_csv(root / "Radiology_hand_drawn_segmentations_v2.csv", index=False)
    out = tmp_path / "out" / "cases.csv"
    table, report = cddcesm.build_cases(cddcesm.Sources.locate(root), out)
    row = table.iloc[0]
    views = {a["view"]: a for a in report["alignment"]["views"]}
    assert (views["cc"]["dx"], views["cc"]["dy"]) == (-12, -30)
    assert views["cc"]["disagreement"] < 2 and report["alignment"]["flagged"] == []
    assert row["le_cc_path"].endswith("le-aligned/P7_L_DM_CC.png")
    le = read_image(row["le_cc_path"])
    cm = read_image(row["rec_cc_path"])
    assert le.shape == cm.shape
    assert np.abs(le[300:500, 100:300] - cm[300:500, 100:300]).mean() < 3  # same tissue, same place
    assert row["le_mlo_path"].endswith("P7_L_DM_MLO.jpg")  # nothing to move: the JPEG itself
    assert (row["cc_x"], row["cc_y"]) == (200, 400)
    from d2tl.data.check import check_cases
    result = check_cases(out)  # the adapter's output passes the data check
    assert result.clean, result.problems
    assert result.summary["left_out_by_adapter"]["report"].endswith("cases-report.json")


# ---------------------------------------------------------------------------------------------
# bad input


@needs_fixtures
def test_spreadsheet_with_a_missing_column(tmp_path):
    sheet = pd.read_excel(SHEET, sheet_name="all", dtype=str).head(30).drop(columns=["Side"])
    bad = tmp_path / "Radiology-manual-annotations.xlsx"
    sheet.to_excel(bad, sheet_name="all", index=False)
    with pytest.raises(DataError, match=r"Radiology-manual-annotations.xlsx.*missing column.*'Side'"):
        cddcesm.read_annotations(bad)
    not_xlsx = tmp_path / "notes.xlsx"
    not_xlsx.write_text("hello")
    with pytest.raises(DataError, match="notes.xlsx is not a readable .xlsx"):
        cddcesm.read_annotations(not_xlsx)


def test_command_gives_one_line_errors(download, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(download, broken, ignore=shutil.ignore_patterns("*.jpg"))
    for sub in (cddcesm.LE_FOLDER, cddcesm.CM_FOLDER):
        (broken / "CDD-CESM" / sub).mkdir(parents=True, exist_ok=True)
    sheet = pd.read_excel(SHEET, sheet_name="all", dtype=str).head(30).drop(columns=["View"])
    sheet.to_excel(broken / SHEET.name, sheet_name="all", index=False)
    code = cli.main(["cdd-cesm", "--root", str(broken), "--out", str(tmp_path / "o" / "cases.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "Radiology-manual-annotations.xlsx" in err and "'View'" in err
    code = cli.main(["cdd-cesm", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c.csv")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_command_runs_with_other_rules(download, tmp_path, capsys):
    out = tmp_path / "c" / "cases.csv"
    code = cli.main(["cdd-cesm", "--root", str(download), "--out", str(out), "--align", "none",
                     "--outline-source", "cm-then-dm", "--region", "first"])
    text = capsys.readouterr().out
    assert code == 0 and "cases" in text and out.is_file()
    report = json.loads(out.with_name("cases-report.json").read_text())
    assert report["options"]["outline_source"] == "cm-then-dm" and report["options"]["region"] == "first"
    row = load_cases(out).set_index("id").loc["P326_R"]  # DM outlines only: (865, 618), (522, 1310)
    assert (row["cc_x"], row["cc_y"], row["mlo_x"], row["mlo_y"]) == (865, 618, 522, 1310)
    assert row["cc_outline_from"] == "dm" and report["cases"]["views_outlined_from_dm"] == 2
