import shutil

import numpy as np
import pandas as pd
import pytest

from d2tl.data.cases import COLUMNS, load_cases, write_cases
from d2tl.io.errors import DataError

from conftest import write_tiny_cases


def test_round_trip_with_relative_paths(tmp_path):
    csv = write_tiny_cases(tmp_path / "a", n=3)
    table = load_cases(csv)
    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert table["scale"].dtype == float and table["cc_x"].dtype == float
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert raw["le_cc_path"][0] == "C00_le_cc.dcm"  # stored relative to the CSV
    # The folder moves as a whole and still loads.
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = load_cases(tmp_path / "b" / "cases.csv")
    assert moved["le_cc_path"][0].startswith(str(tmp_path / "b"))
    write_cases(moved, tmp_path / "b" / "again.csv")
    assert load_cases(tmp_path / "b" / "again.csv").drop(columns=[]).equals(moved)


def _edit(csv, line, column, value):
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[line - 2, column] = value
    table.to_csv(csv, index=False)


@pytest.mark.parametrize("column,value,message", [
    ("label", "malign", r"line 3 \(patient C01\), column label: 'malign' is not one of benign, malignant"),
    ("id", "C00", r"line 3, column id: duplicate id 'C00' \(first on line 2\)"),
    ("laterality", "left", r"line 3 \(patient C01\), column laterality: 'left'"),
    ("cc_x", "abc", r"line 3 \(patient C01\), column cc_x: 'abc' is not a number"),
    ("mlo_y", "48", r"line 3 \(patient C01\), column mlo_y: box centre 48 is outside the image \(40x48 px"),
    ("cc_x", "-1", r"column cc_x: box centre -1 is outside"),
    ("rec_mlo_path", "nowhere.dcm", r"line 3 \(patient C01\), column rec_mlo_path: file .*nowhere\.dcm does not exist"),
    ("rec_cc_path", "", r"column rec_cc_path: empty \(or give he_cc_path"),
    ("group", "", r"column group: empty"),
    ("scale", "0", r"column scale: '0' is not a positive number"),
])
def test_bad_values_are_named(tmp_path, column, value, message):
    csv = write_tiny_cases(tmp_path, n=3)
    _edit(csv, 3, column, value)
    with pytest.raises(DataError, match=message):
        load_cases(csv)


def test_missing_columns_are_named(tmp_path):
    csv = write_tiny_cases(tmp_path, n=2)
    pd.read_csv(csv).drop(columns=["label", "mlo_y"]).to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) label, mlo_y"):
        load_cases(csv)


def test_image_sizes_must_agree_within_a_view(tmp_path):
    csv = write_tiny_cases(tmp_path / "a", n=2, rows=48)
    other = write_tiny_cases(tmp_path / "b", n=2, rows=50)
    _edit(csv, 2, "rec_cc_path", str(other.parent / "C00_rec_cc.dcm"))
    with pytest.raises(DataError, match=r"line 2 \(patient C00\), column rec_cc_path: .* is 40x50 px but .* is 40x48 px"):
        load_cases(csv)


def test_mask_that_is_not_an_image(tmp_path):
    csv = write_tiny_cases(tmp_path, n=2)
    (tmp_path / "C01_mlo_mask.png").write_text("no")
    with pytest.raises(DataError, match=r"patient C01\), column mlo_mask_path.*C01_mlo_mask\.png: not a readable image"):
        load_cases(csv)


def test_not_a_csv_and_empty(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_cases(tmp_path / "none.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(DataError, match="no cases"):
        load_cases(empty)


def test_optional_columns_may_be_absent(tmp_path):
    csv = write_tiny_cases(tmp_path, n=2, with_masks=False)
    pd.read_csv(csv).drop(columns=["scale", "cc_mask_path", "mlo_mask_path", "he_cc_path", "he_mlo_path"]).to_csv(csv, index=False)
    table = load_cases(csv)
    assert np.all(table["scale"] == 1.0) and (table["cc_mask_path"] == "").all()


def test_one_rule_set_loading_stops_at_the_first_check_data_lists_all(tmp_path, capsys):
    """The row rules are d2tl.data.case_rules' alone; load_cases raises the first,
    check-data lists every one, each in its own wording."""
    from d2tl import cli

    csv = write_tiny_cases(tmp_path, n=4)
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    table.loc[0, "label"] = "malign"
    table.loc[1, "scale"] = "inf"
    table.loc[2, "id"] = "C00"
    table.loc[3, "le_mlo_path"] = ""
    table.to_csv(csv, index=False)
    with pytest.raises(DataError) as raised:
        load_cases(csv)
    assert str(raised.value) == (f"{csv} line 2 (patient C00), column label: 'malign' is not one of "
                                 "benign, malignant")
    assert cli.main(["check-data", str(csv)]) == 1
    problems = capsys.readouterr().out.split("problem(s):")[1]
    for text in ("line 2 (patient C00): label 'malign' is not one of benign, malignant",
                 "line 3 (patient C01): scale 'inf' is not a positive number",
                 "line 4 (patient C00): duplicate id (first on line 2)",
                 "line 5 (patient C03): le_mlo_path is empty"):
        assert f"  - {text}\n" in problems, (text, problems)
    table.loc[0, "label"] = "benign"
    table.to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"line 3 \(patient C01\), column scale: 'inf' is not a finite number"):
        load_cases(csv)
