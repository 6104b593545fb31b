"""Bad input through the real command line: every command refuses it before any work.

Each kind runs ``d2tl.cli.main`` in-process and asserts the exit status, one ``error:`` line and
no traceback, the culprit (option and value, or file) named in the message, and nothing left in
the output location: ``OUT`` (where each command is told to write) does not exist afterwards, the
existing file ``FILE`` is unchanged and the folder ``DIR`` stays empty. A few kinds run as real
subprocesses too. Positive controls: a BOM + CRLF case table loads and checks clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_tiny_cases
from d2tl.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny data set, its label CSV for from-dicom, and a saved model with its sidecar."""
    import keras

    base = tmp_path_factory.mktemp("bad")
    cases = write_tiny_cases(base / "data", n=12)
    labels = base / "labels.csv"
    labels.write_text("patient,label,cc_x,cc_y,mlo_x,mlo_y\nC00,benign,20,24,20,24\n")
    model = base / "model" / "model.keras"
    model.parent.mkdir()
    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    net.save(model)
    sidecar = model.with_name("model.d2tl.json")
    sidecar.write_text(json.dumps({"config": {"roi": {"box": 256}, "train": {"seed": 0}, "preset": "smoke"}}))
    lambda_model = base / "model" / "lambda.keras"  # code inside a model file: refused by safe_mode
    keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)]).save(lambda_model)
    lambda_model.with_name("lambda.d2tl.json").write_text(sidecar.read_text())
    damaged = base / "damaged" / "model.keras"
    damaged.parent.mkdir()
    damaged.write_bytes(model.read_bytes())
    damaged.with_name("model.d2tl.json").write_text('{"config": {"roi": {"bo')  # truncated
    not_keras = base / "notkeras" / "model.keras"
    not_keras.parent.mkdir()
    not_keras.write_text("not a model")
    not_keras.with_name("model.d2tl.json").write_text(sidecar.read_text())
    not_dicom = base / "notdicom"
    not_dicom.mkdir()
    (not_dicom / "image.dcm").write_text("plain text, not DICOM " * 20)
    h5 = base / "other.h5"
    import h5py

    with h5py.File(h5, "w") as f:
        f["x"] = [1, 2, 3]
    garbage = base / "garbage.csv"
    garbage.write_bytes(b"\x00\xff\xfe\x89PNG\x00" * 50)
    empty = base / "empty.csv"
    empty.write_text("")
    return {"CASES": str(cases), "DATA": str(cases.parent), "LABELS": str(labels), "MODEL": str(model),
            "DAMAGED": str(damaged), "NOTKERAS": str(not_keras), "LAMBDA": str(lambda_model),
            "NOTDICOM": str(not_dicom), "H5": str(h5), "GARBAGE": str(garbage), "EMPTY": str(empty)}


BASE = {
    "rois": ["--cases", "CASES", "--out", "OUT/r.npz"],
    "train": ["--cases", "CASES", "--out", "OUT", "--preset", "smoke", "--weights", "random"],
    "predict": ["--model", "MODEL", "--cases", "CASES", "--out", "OUT/p.csv"],
    "from-dicom": ["--dicom-dir", "DATA", "--labels", "LABELS", "--out", "OUT/c.csv"],
    "synth": ["--out", "OUT/s", "--n", "4"],
    "cdd-cesm": ["--root", "DIR", "--out", "OUT/c.csv"],
    "check-data": ["CASES"],
    "baseline": ["--cases", "CASES", "--out", "OUT/b", "--preset", "quick", "--d2tl-metrics", "none"],
    "explain": ["--model", "MODEL", "--cases", "CASES", "--id", "C00", "--out", "OUT/e"],
    "show-cases": ["--cases", "CASES", "--out", "OUT/f.png"],
    **{section: ["--cases", "CASES", "--out", "OUT", "--preset", "smoke", "--weights", "random", "--external", "none"]
       for section in ("box-size", "box-shift", "pooling", "tuning", "random-init", "run-all")},
    "run-shards": [],  # its kinds carry the whole line: what follows -- is run-all's
    "benchmark": ["--cases", "CASES", "--out", "OUT"],
    "data-scaling": ["--cases", "CASES", "--external", "CASES", "--out", "OUT", "--epochs", "1"],
    "interpretation": ["--cases", "CASES", "--out", "OUT/i"],
    "pretrain": ["--store", "OUT/store", "--dry-run"],
    "transfer": ["--cases", "CASES", "--external", "CASES", "--out", "OUT", "--epochs", "1", "--runs", "1",
                 "--arms", "random", "random"],
}

# (command, extra arguments (they override BASE's), text the message must contain)
KINDS = [
    ("rois", ["--box", "0"], "--box 0"),
    ("rois", ["--box", "-5"], "--box -5"),
    ("rois", ["--box", "100000"], "--box 100000"),
    ("rois", ["--shift", "-1"], "--shift -1"),
    ("rois", ["--input-scale", "0"], "--input-scale 0"),
    ("rois", ["--input-scale", "nan"], "--input-scale nan"),
    ("rois", ["--box", "4000", "--input-scale", "2"], "8000 px model input"),
    ("rois", ["--shift-seed", "-1"], "--shift-seed -1"),
    ("rois", ["--cases", "MISSING"], "MISSING"),
    ("rois", ["--cases", "DIR"], "DIR"),
    ("rois", ["--out", "DIR"], "--out DIR: is a folder"),
    ("rois", ["--out", "FILE/x.npz"], "FILE is a file"),
    ("rois", ["--cases", "GARBAGE"], "GARBAGE"),
    ("train", ["--runs", "0"], "--runs 0"),
    ("train", ["--epochs", "0"], "--epochs 0"),
    ("train", ["--epochs", "1000000000"], "--epochs 1000000000"),
    ("train", ["--batch-size", "0"], "--batch-size 0"),
    ("train", ["--lr", "0"], "--lr 0"),
    ("train", ["--lr", "-1"], "--lr -1"),
    ("train", ["--feature-dropout", "1"], "--feature-dropout 1"),
    ("train", ["--head-dropout", "-0.1"], "--head-dropout -0.1"),
    ("train", ["--alternatives", "0"], "--alternatives 0"),
    ("train", ["--bn-samples", "-1"], "--bn-samples -1"),
    ("train", ["--seed", "-1"], "--seed -1"),
    ("train", ["--split-seed", "-3"], "--split-seed -3"),
    ("train", ["--box", "0"], "--box 0"),
    ("train", ["--shift", "-2"], "--shift -2"),
    ("train", ["--input-scale", "0"], "--input-scale 0"),
    ("train", ["--lease", "0"], "--lease 0"),
    ("train", ["--weights", "MISSING.h5"], "MISSING.h5"),
    ("train", ["--weights", "GARBAGE"], "GARBAGE: not an HDF5 weights file"),
    ("train", ["--out", "FILE"], "--out FILE: is a file"),
    ("train", ["--out", "FILE/sub"], "FILE is a file"),
    ("train", ["--cases", "MISSING"], "MISSING"),
    ("train", ["--cases", "EMPTY"], "EMPTY"),
    ("predict", ["--threshold", "2"], "--threshold 2"),
    ("predict", ["--model", "MISSING.keras"], "MISSING.keras"),
    ("predict", ["--cases", "MISSING"], "MISSING"),
    ("predict", ["--out", "DIR"], "--out DIR: is a folder"),
    ("predict", ["--model", "DAMAGED"], "DAMAGED_SIDECAR is damaged"),
    ("predict", ["--model", "NOTKERAS"], "NOTKERAS: cannot be loaded"),
    ("predict", ["--model", "LAMBDA"], "LAMBDA: cannot be loaded"),
    ("from-dicom", ["--dicom-dir", "MISSING"], "--dicom-dir MISSING"),
    ("from-dicom", ["--labels", "MISSING"], "--labels MISSING"),
    ("from-dicom", ["--out", "DIR"], "--out DIR: is a folder"),
    ("from-dicom", ["--out", "FILE/c.csv"], "FILE is a file"),
    ("from-dicom", ["--labels", "EMPTY"], "EMPTY"),
    ("from-dicom", ["--dicom-dir", "NOTDICOM"], "image.dcm: not a DICOM file"),
    ("synth", ["--n", "0"], "--n 0"),
    ("synth", ["--malignant-fraction", "1.5"], "--malignant-fraction 1.5"),
    ("synth", ["--scale", "0"], "--scale 0"),
    ("synth", ["--scale", "2"], "--scale 2"),
    ("synth", ["--difficulty", "-1"], "--difficulty -1"),
    ("synth", ["--placement-jitter", "-1"], "--placement-jitter -1"),
    ("synth", ["--workers", "-1"], "--workers -1"),
    ("synth", ["--out", "FILE"], "--out FILE: is a file"),
    ("cdd-cesm", ["--point-radius", "0"], "--point-radius 0"),
    ("cdd-cesm", ["--root", "MISSING"], "MISSING"),
    ("cdd-cesm", ["--out", "DIR"], "--out DIR: is a folder"),
    ("check-data", ["--tolerance", "-1"], "--tolerance -1"),
    ("check-data", ["MISSING"], "MISSING"),
    ("check-data", ["--split", "MISSING"], "--split MISSING"),
    ("check-data", ["GARBAGE"], "GARBAGE"),
    ("check-data", ["EMPTY"], "EMPTY"),
    ("baseline", ["--glcm-levels", "1"], "--glcm-levels 1"),
    ("baseline", ["--jobs", "0"], "--jobs 0"),
    ("baseline", ["--split-seed", "-1"], "--split-seed -1"),
    ("baseline", ["--seed", "-1"], "--seed -1"),
    ("baseline", ["--perturb-masks", "1.5"], "--perturb-masks 1.5"),
    ("baseline", ["--perturb-dilate", "-1"], "--perturb-dilate -1"),
    ("baseline", ["--out", "FILE"], "--out FILE: is a file"),
    ("baseline", ["--cases", "MISSING"], "MISSING"),
    ("explain", ["--dpi", "0"], "--dpi 0"),
    ("explain", ["--model", "MISSING.keras"], "MISSING.keras"),
    ("explain", ["--out", "FILE"], "--out FILE: is a file"),
    ("show-cases", ["--box", "0"], "--box 0"),
    ("show-cases", ["--dpi", "0"], "--dpi 0"),
    ("show-cases", ["--out", "DIR"], "--out DIR: is a folder"),
    ("box-size", ["--cases", "MISSING"], "MISSING"),
    ("box-shift", ["--out", "FILE"], "--out FILE: is a file"),
    ("pooling", ["--weights", "MISSING.h5"], "MISSING.h5"),
    ("tuning", ["--split-seeds", "0"], "--split-seeds"),
    ("random-init", ["--external", "MISSING"], "MISSING"),
    ("run-all", ["--sections", "nope"], "--sections: unknown section(s) nope"),
    ("run-all", ["--shard", "9/2"], "--shard '9/2'"),
    ("run-all", ["--shard", "1/2", "--report-only"], "--shard"),
    ("run-shards", ["--processes", "0", "--", "--cases", "CASES", "--out", "OUT"], "--gpus/--processes"),
    ("run-shards", ["--processes", "2", "--", "--out", "OUT", "--dry-run"], "must not hold --shard"),
    ("benchmark", ["--sizes", "50"], "--sizes 50"),
    ("benchmark", ["--parts", "nope"], "--parts: unknown part(s) nope"),
    ("benchmark", ["--repeats", "0"], "--repeats 0: give a whole number >= 1"),
    ("data-scaling", ["--cases", "MISSING"], "--cases MISSING does not exist"),
    ("data-scaling", ["--external", "MISSING"], "--external MISSING does not exist"),
    ("data-scaling", ["--patients", "500"], "--patients 500: must be between 2 and the"),
    ("data-scaling", ["--patients", "4", "4"], "--patients 4 4: each size once"),
    ("data-scaling", ["--samples", "0"], "--samples must be at least 1, got 0"),
    ("data-scaling", ["--epochs", "0"], "--epochs must be at least 1, got 0"),
    ("interpretation", ["--model", "MISSING.keras"], "MISSING.keras"),
    ("interpretation", ["--seed", "-1"], "--seed -1"),
    ("pretrain", ["--seed", "-1"], "--seed -1"),
    ("data-scaling", ["--arm-epochs", "1", "2"], "--arm-epochs and --epochs: give one of them"),
    ("transfer", ["--cases", "MISSING"], "--cases MISSING does not exist"),
    ("transfer", ["--runs", "0"], "--runs 0"),
    ("transfer", ["--epochs", "0"], "--epochs 0"),
    ("transfer", ["--arms", "random"], "--arms random: at least two arms"),
    ("transfer", ["--arms", "random", "MISSING.h5"], "MISSING.h5"),
    ("transfer", ["--arms", "random", "synthetic"], "python -m d2tl pretrain --source synthetic"),
    ("transfer", ["--out", "FILE"], "--out FILE: is a file"),
]


def _places(tmp_path: Path, world: dict) -> dict:
    places = dict(world)
    places["DAMAGED_SIDECAR"] = str(Path(world["DAMAGED"]).with_name("model.d2tl.json"))
    places.update(OUT=str(tmp_path / "out"), FILE=str(tmp_path / "afile.txt"), DIR=str(tmp_path / "adir"),
                  MISSING=str(tmp_path / "missing.csv"))
    (tmp_path / "afile.txt").write_text("keep me\n")
    (tmp_path / "adir").mkdir()
    return places


def _fill(text: str, places: dict) -> str:
    for key in sorted(places, key=len, reverse=True):  # DAMAGED_SIDECAR before DAMAGED
        text = text.replace(key, places[key])
    return text


def _argv(command: str, extra: list, places: dict) -> list:
    """BASE's arguments, then ``extra`` (a later option wins; a positional replaces BASE's)."""
    base = [] if extra and not extra[0].startswith("-") else BASE[command]
    return [command] + [_fill(a, places) for a in base + extra]


def _assert_refused(rc, err, culprit, tmp_path, expected_rc=2):
    assert rc == expected_rc, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert culprit in lines[0], lines[0]
    assert not (tmp_path / "out").exists(), sorted(str(p) for p in (tmp_path / "out").rglob("*"))
    assert (tmp_path / "afile.txt").read_text() == "keep me\n"
    assert not any((tmp_path / "adir").iterdir())


@pytest.mark.parametrize("command, extra, culprit", KINDS, ids=[f"{c} {' '.join(e)}" for c, e, _ in KINDS])
def test_bad_input_is_refused_cleanly(command, extra, culprit, world, tmp_path, capsys, monkeypatch):
    places = _places(tmp_path, world)
    monkeypatch.setenv("D2TL_TEST_BACKBONE", "stub")
    rc = main(_argv(command, extra, places))
    _assert_refused(rc, capsys.readouterr().err, _fill(culprit, places), tmp_path)


def test_at_least_forty_kinds_across_every_command():
    from d2tl.cli import COMMANDS

    assert len(KINDS) >= 40
    assert {c for c, _, _ in KINDS} >= set(COMMANDS) - {"pretrain"}


def test_a_weights_file_that_is_not_inception_is_refused_before_any_work(world, tmp_path, capsys, monkeypatch):
    """The real InceptionV3 check: an HDF5 file of other weights."""
    monkeypatch.delenv("D2TL_TEST_BACKBONE", raising=False)
    places = _places(tmp_path, world)
    rc = main(_argv("train", ["--weights", "H5"], places))
    _assert_refused(rc, capsys.readouterr().err, places["H5"], tmp_path)


@pytest.mark.parametrize("command, extra, culprit", [
    ("rois", ["--box", "0"], "--box 0"),
    ("train", ["--out", "FILE/sub"], "FILE is a file"),
    ("check-data", ["GARBAGE"], "GARBAGE"),
])
def test_bad_input_through_a_real_subprocess(command, extra, culprit, world, tmp_path):
    places = _places(tmp_path, world)
    env = {**os.environ, "D2TL_TEST_BACKBONE": "stub", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "d2tl", *_argv(command, extra, places)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)
    err = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith(("WARNING", "I0000", "To enable")))
    _assert_refused(proc.returncode, err, _fill(culprit, places), tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(world, tmp_path, capsys):
    places = _places(tmp_path, world)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        rc = main(_argv("rois", ["--out", str(locked / "r.npz")], places))
    finally:
        locked.chmod(0o755)
    _assert_refused(rc, capsys.readouterr().err, f"folder {locked} is not writable", tmp_path)


def test_read_only_check_names_the_folder(tmp_path, monkeypatch):
    """The same check as root sees it (os.access patched): a folder that cannot be written."""
    from d2tl.io import checks
    from d2tl.io.errors import D2TLError

    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(D2TLError, match=f"folder {tmp_path} is not writable"):
        checks.output_file("--out", tmp_path / "x.csv")


def test_bom_and_crlf_case_table_loads_and_checks_clean(world, tmp_path, capsys):
    from d2tl.data.cases import load_cases

    text = Path(world["CASES"]).read_text()
    bom = Path(world["DATA"]) / "bom-crlf.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    table = load_cases(bom)
    assert list(table["id"]) == [f"C{i:02d}" for i in range(12)]
    assert main(["check-data", str(bom)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_clean_table_checks_clean(world, capsys):
    assert main(["check-data", world["CASES"]]) == 0
    assert "no problems found" in capsys.readouterr().out
