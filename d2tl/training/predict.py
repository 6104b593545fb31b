"""Per-case malignancy probabilities for new cases from a model saved by ``d2tl train``.

The model's ``.d2tl.json`` sidecar (written beside ``model.keras``) says how its ROIs were cut,
so new cases get exactly the training's box size, input size and normalisation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ..io.atomic import atomic_path
from ..data.cases import load_cases
from ..data.roi import RoiConfig, extract_rois
from ..io.errors import D2TLError
from ..protocol.paper import DECISION_THRESHOLD
from ..io.provenance import dataset_info, provenance, write_json
from ..protocol.views import LABELS


def sidecar_path(model_path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.name.removesuffix(".keras") + ".d2tl.json")


def load_trained(model_path):
    """The Keras model and its d2tl sidecar (configuration, weights source, selection)."""
    import keras

    model_path = Path(model_path)
    if not model_path.is_file():
        raise D2TLError(f"model file {model_path} does not exist")
    sidecar = sidecar_path(model_path)
    if not sidecar.is_file():
        raise D2TLError(f"{sidecar} is missing: it records how the model's ROIs were cut "
                        f"(written by python -m d2tl train beside {model_path.name})")
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)  # no Lambda layers' code is run
    except (ValueError, OSError) as exc:
        raise D2TLError(f"model file {model_path}: cannot be loaded ({exc})") from None
    return model, read_sidecar(sidecar)


def read_sidecar(sidecar) -> dict:
    """The model's ``.d2tl.json``; a damaged one is an error naming it and what to do."""
    from .run_state import read_json

    info = read_json(sidecar, "train again (delete the folder's metrics.json and rerun the same "
                              "python -m d2tl train command) or restore the file")
    if not isinstance(info.get("config"), dict) or "roi" not in info["config"]:
        raise D2TLError(f"file {sidecar} is damaged (no config.roi); train again or restore the file")
    return info


def roi_config_from(info: dict) -> RoiConfig:
    names = {f.name for f in dataclasses.fields(RoiConfig)}
    values = {k: v for k, v in info["config"]["roi"].items() if k in names}
    # Sidecars written before breast-based normalisation existed used whole-image min-max.
    values.setdefault("normalise_on", "image")
    values["intensity_percentiles"] = tuple(values.get("intensity_percentiles", (0.0, 100.0)))
    return RoiConfig(**{**values, "shift": 0.0})  # new cases: boxes where the table puts them


def predict_cases(model_path, cases_csv, threshold: float = DECISION_THRESHOLD) -> pd.DataFrame:
    from .loop import predict_proba

    model, info = load_trained(model_path)
    table = load_cases(cases_csv)
    rois = extract_rois(table, roi_config_from(info))
    p = predict_proba(model, rois.arrays)
    return pd.DataFrame({"id": rois.ids, "label": table["label"].tolist(), "p_malignant": p,
                         "predicted": [LABELS[int(v >= threshold)] for v in p]})


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="model.keras written by python -m d2tl train")
    from ..protocol.options import add_cases, add_out

    add_cases(parser)  # the cases to score
    add_out(parser, "predict")  # the CSV
    parser.add_argument("--threshold", type=float, default=DECISION_THRESHOLD)


def run(args) -> int:
    from ..io import checks

    checks.number("--threshold", args.threshold, low=0, high=1)
    checks.input_file("--model", args.model, "model file")
    checks.input_file("--cases", args.cases, "case table")
    out = Path(args.out) if args.out else Path(args.model).with_name(f"predictions-{Path(args.cases).stem}.csv")
    checks.output_file("--out", out, "predictions CSV")
    predictions = predict_cases(args.model, args.cases, args.threshold)
    with atomic_path(out) as tmp:
        predictions.to_csv(tmp, index=False)
    info = read_sidecar(sidecar_path(args.model))
    write_json(out.with_suffix(".json"), provenance(
        config=info["config"], seed=info["config"]["train"]["seed"], preset=info["config"]["preset"],
        dataset=dataset_info(args.cases), weights_source=info.get("weights_source"), model=str(args.model)))
    print(f"{len(predictions)} cases scored -> {out}")
    return 0
