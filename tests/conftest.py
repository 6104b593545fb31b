"""Shared test fixtures: tiny case tables written as real DICOM files."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
# The memory tests measure in a fresh process that turns oneDNN on for itself
# (d2tl/training/memory_measure.py); every other test runs TensorFlow as the machine has it.

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from d2tl.data.cases import write_cases  # noqa: E402
from d2tl.data.dicom_io import write_mammogram  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
CDD_CESM_FIXTURES = SHARED / "fixtures" / "cdd-cesm"


def coordinate_image(rows: int, cols: int, mode_offset: float = 0.0) -> np.ndarray:
    """An image whose value encodes its position: 1000 * row + col (+ offset)."""
    r, c = np.mgrid[0:rows, 0:cols]
    return (1000.0 * r + c + mode_offset).astype(np.float32)


def write_tiny_cases(folder: Path, n: int = 4, rows: int = 48, cols: int = 40, scale: float = 0.25,
                     lateralities=None, seed: int = 0, with_masks: bool = True) -> Path:
    """Write ``n`` cases of random 12-bit DICOM images and a case table; return the CSV path."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        cid = f"C{i:02d}"
        lat = (lateralities or "LR")[i % len(lateralities or "LR")]
        rec = {"id": cid, "group": cid, "label": ("benign", "malignant")[i % 2], "laterality": lat,
               "scale": scale}
        for view in ("cc", "mlo"):
            for mode, energy in (("le", "LOW_ENERGY"), ("rec", "RECOMBINED")):
                path = folder / f"{cid}_{mode}_{view}.dcm"
                values = rng.integers(0, 4096, size=(rows, cols)).astype(np.uint16)
                write_mammogram(path, values, patient_id=cid, view=view, laterality=lat, energy=energy)
                rec[f"{mode}_{view}_path"] = str(path)
            rec[f"{view}_x"], rec[f"{view}_y"] = cols // 2, rows // 2
            if with_masks:
                mask = np.zeros((rows, cols), np.uint8)
                mask[rows // 2 - 3:rows // 2 + 3, cols // 2 - 2:cols // 2 + 5] = 255
                mask_path = folder / f"{cid}_{view}_mask.png"
                from PIL import Image

                Image.fromarray(mask).save(mask_path)
                rec[f"{view}_mask_path"] = str(mask_path)
        records.append(rec)
    csv = folder / "cases.csv"
    write_cases(pd.DataFrame(records), csv)
    return csv


@pytest.fixture(autouse=True, scope="session")
def pretrain_store(tmp_path_factory) -> Path:
    """An empty store of pre-trained weights (d2tl.pretrain.store) for the whole session, so a
    file made in this checkout's results/pretrain never changes what a test sees."""
    root = tmp_path_factory.mktemp("pretrain-store")
    os.environ["D2TL_PRETRAIN_STORE"] = str(root)
    return root


@pytest.fixture
def tiny_cases(tmp_path) -> Path:
    return write_tiny_cases(tmp_path / "tiny")


def stub_backbone(input_size, weights, name):
    """The documented test stand-in for InceptionV3 (d2tl.model.stub_backbone; in subprocesses:
    D2TL_TEST_BACKBONE=stub): same inputs, heads and training, for tests that need many graphs."""
    from d2tl.model import stub_backbone as stub

    return stub(input_size, weights, name)


@pytest.fixture(scope="session")
def engine():
    """One training engine (d2tl.training.engine.Engine) for the session: its compiled graphs are
    reused across tests, as one process would; a test that needs a fresh one builds its own."""
    from d2tl.training.engine import Engine

    return Engine()
