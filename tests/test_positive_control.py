"""Positive control of the whole deep path: a trivially separable toy set must be learned.

Files (real DICOM) -> case table -> ROIs -> augmentation -> dual-mode model -> the paper's
protocol (selection on validation) -> metrics. Malignant cases carry a bright lesion at the box
centre, benign ones a dark lesion, on noise of the same level. Any learner that sees the box
separates them; a pipeline that scrambles labels, ROIs, views or selection does not. Uses the
documented stand-in backbone (d2tl.model.stub) so that it stays a fast test; the real
InceptionV3's positive control is the data-scaling study (docs/learning.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import stub_backbone

from d2tl.training.config import experiment_config
from d2tl.data.cases import write_cases
from d2tl.data.dicom_io import write_mammogram
from d2tl.protocol.views import LABELS
from d2tl.training.run_folder import resolve_weights

ROWS, COLS, SCALE = 160, 128, 0.25  # a 256 px box is 64 image px here


def write_toy_cases(folder, n: int, seed: int):
    """``n`` cases, half malignant (bright lesion) and half benign (dark lesion), as DICOM."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ROWS, 0:COLS]
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        cid, label = f"T{i:03d}", LABELS[i % 2]
        rec = {"id": cid, "group": cid, "label": label, "laterality": "L", "scale": SCALE}
        for view in ("cc", "mlo"):
            x, y = COLS / 2 + rng.normal(0, 3), ROWS / 2 + rng.normal(0, 3)
            lesion = (xx - x) ** 2 + (yy - y) ** 2 < rng.uniform(6, 12) ** 2
            for mode, energy in (("le", "LOW_ENERGY"), ("rec", "RECOMBINED")):
                values = rng.normal(2000, 150, (ROWS, COLS)) + np.where(lesion, 1200 if label == "malignant" else -1200, 0)
                path = folder / f"{cid}_{mode}_{view}.dcm"
                write_mammogram(path, np.clip(values, 0, 4095).astype(np.uint16), patient_id=cid, view=view,
                                laterality="L", energy=energy)
                rec[f"{mode}_{view}_path"] = str(path)
            rec[f"{view}_x"], rec[f"{view}_y"] = round(x, 1), round(y, 1)
        records.append(rec)
    csv = folder / "cases.csv"
    write_cases(pd.DataFrame(records), csv)
    return csv


@pytest.fixture(scope="module")
def toy_result(tmp_path_factory):
    import d2tl.model
    from d2tl.data.cases import load_cases
    from d2tl.data.roi import extract_rois
    from d2tl.training.engine import Engine
    from d2tl.training.experiment import run_experiment
    from d2tl.training.run_folder import run_folder
    from d2tl.training.loop import predict_proba

    root = tmp_path_factory.mktemp("toy")
    cases, held_out = write_toy_cases(root / "train", 64, seed=0), write_toy_cases(root / "held-out", 40, seed=1)
    config = experiment_config(
        model={"architecture": "dual_mode", "tuning": "full", "weights": "random"},
        roi={"box": 256, "input_scale": 75 / 256}, augment={"alternatives": 2},
        train={"runs": 1, "epochs": 6, "batch_size": 8, "learning_rate": 1e-2, "schedule": "cosine",
               "bn_stats": "precise"}, preset="toy")
    engine = Engine()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(d2tl.model, "build_backbone", stub_backbone)
        metrics = run_experiment(config, cases, root / "out", resolve_weights(config.model.weights), log=lambda line: None, engine=engine)
        model, _ = engine.compiled_model(config, metrics["total_steps"])
        directory = run_folder(config, resolve_weights("random"), cases, root / "out")
        engine.weights_only(model).load_weights(directory / "run_00" / "best.weights.h5")
        table = load_cases(cases)
        split = pd.read_csv(directory / "split.csv")
        train_ids = list(split["id"][split["part"] == "train"])
        rois = extract_rois(table, config.roi).subset(train_ids)
        held = extract_rois(load_cases(held_out), config.roi)
        return {"metrics": metrics, "train": (rois.labels, predict_proba(model, rois.arrays)),
                "held_out": (held.labels, predict_proba(model, held.arrays))}


def test_the_model_fits_a_separable_toy_set(toy_result):
    y, p = toy_result["train"]
    assert np.mean((p >= 0.5) == y) >= 0.95


def test_the_model_generalises_on_the_toy_set(toy_result):
    from sklearn.metrics import roc_auc_score

    y, p = toy_result["held_out"]
    assert roc_auc_score(y, p) >= 0.9
    assert toy_result["metrics"]["selected"]["test"]["auc"] >= 0.9  # the protocol's own test part

