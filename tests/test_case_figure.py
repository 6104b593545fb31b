"""The case figure: four panels per case, the ROI box and the mask outline drawn."""

from __future__ import annotations

import numpy as np
import pytest

from d2tl.data.case_figure import default_ids, display_window, draw_cases
from d2tl.cli import main
from d2tl.data.cases import load_cases
from d2tl.data.sources.synthetic import SynthConfig, write_dataset
from d2tl.io.errors import DataError


@pytest.fixture(scope="module")
def cases_csv(tmp_path_factory):
    return write_dataset(SynthConfig(n_cases=4, scale=0.05, seed=2), tmp_path_factory.mktemp("fig") / "set")


def _colour_fraction(png, rgb, tol=0.12):
    import matplotlib.image

    image = matplotlib.image.imread(png)[..., :3]
    return float(np.mean(np.all(np.abs(image - np.array(rgb)) < tol, axis=-1)))


def test_default_ids_are_the_first_benign_and_first_malignant(cases_csv):
    table = load_cases(cases_csv)
    ids = default_ids(table)
    assert len(ids) == 2
    labels = dict(zip(table["id"], table["label"]))
    assert [labels[i] for i in ids] == ["benign", "malignant"]
    first = {label: table.loc[table["label"] == label, "id"].iloc[0] for label in ("benign", "malignant")}
    assert ids == [first["benign"], first["malignant"]]


def test_figure_is_written_with_boxes_and_mask_outlines(cases_csv, tmp_path):
    table = load_cases(cases_csv)
    out = draw_cases(table, out=tmp_path / "figs" / "cases.png", box=512)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _colour_fraction(out, (0x39 / 255, 1.0, 0x14 / 255)) > 1e-4  # the green boxes
    assert _colour_fraction(out, (1.0, 0.0, 0.0), tol=0.25) > 1e-5  # the red mask outlines
    plain = draw_cases(table, out=tmp_path / "plain.png", show_masks=False)
    assert _colour_fraction(plain, (1.0, 0.0, 0.0), tol=0.25) == 0.0
    assert [p.name for p in (tmp_path / "figs").iterdir()] == ["cases.png"]  # no temporary left


def test_unknown_case_is_an_error_naming_it(cases_csv, tmp_path):
    table = load_cases(cases_csv)
    with pytest.raises(DataError, match="P999"):
        draw_cases(table, ["P999"], out=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_display_window_puts_enhancement_above_a_flat_background():
    rng = np.random.default_rng(0)
    image = np.zeros((100, 100), np.float32)
    image[10:90, 10:90] = 0.7 + 0.002 * rng.standard_normal((80, 80))
    image[40:50, 40:50] += 0.05  # an enhancing lesion
    lo, hi = display_window(image, "rec")
    assert lo < 0.7 < hi and 0.72 < hi <= 0.78
    assert (0.7 - lo) / (hi - lo) < 0.5  # background below mid grey
    image[40:50, 40:50] += 0.5  # a strongly enhancing lesion: white at its value
    assert display_window(image, "rec")[1] == pytest.approx(1.25, abs=0.01)
    image[40:50, 40:50] = 0.7  # no enhancement: the window does not magnify the noise
    lo, hi = display_window(image, "rec")
    assert hi - lo > 0.1
    le_lo, le_hi = display_window(np.exp(image * 3), "le")
    assert le_lo <= 1.0 < le_hi  # LE keeps the air at the dark end
    assert display_window(np.ones((5, 5)), "le") == (0.0, 1.0)


def test_command(cases_csv, tmp_path, capsys):
    out = tmp_path / "cmd.png"
    table = load_cases(cases_csv)
    ids = ",".join(table["id"][:3])
    assert main(["show-cases", "--cases", str(cases_csv), "--ids", ids, "--out", str(out), "--box", "128"]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["show-cases", "--cases", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
