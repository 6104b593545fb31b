"""The external test set: scoring a finished configuration's selected model on an independent case
table, and (resolve_external) which table that is for a run.

The paper's protocol tests on 20 cases, whose ROC AUC has a standard error of about 0.1. An
external set (for the synthetic data: another generator seed, at least 200 cases) scores the
same selected model with 95% intervals (:func:`d2tl.stats.evaluate.metrics_with_intervals`). It is
evaluation only: training and selection never see it, so it is not part of the configuration
hash; its result is kept beside the configuration's metrics, in
``OUT/<hash>/external/<first 16 hex of the external case table's SHA-256>.json``, and recomputed
only when missing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.atomic import atomic_path
from .config import ExperimentConfig
from ..data.cases import load_cases
from ..io.errors import D2TLError
from ..stats.evaluate import metrics_with_intervals
from ..io.provenance import dataset_info, write_json
from ..protocol.views import LABELS


def external_path(directory: Path, external_csv) -> Path:
    return Path(directory) / "external" / f"{dataset_info(external_csv)['cases_sha256'][:16]}.json"


def score_external(config: ExperimentConfig, directory, external_csv, roi_cache_dir=None, log=print,
                   engine=None) -> dict:
    """The selected model of the finished configuration in ``directory`` scored on ``external_csv``
    (ROIs cut with the configuration's ROI settings and shift seed), in ``engine`` (a
    :class:`d2tl.training.engine.Engine`, whose compiled graph of the configuration is reused; a
    fresh one when None)."""
    from ..data.roi import extract_rois
    from ..data.roi_cache import RoiCache
    from .engine import Engine
    from .experiment import FINISHED
    from .loop import predict_proba

    directory = Path(directory)
    target = external_path(directory, external_csv)
    if target.is_file():
        try:
            return json.loads(target.read_text())
        except json.JSONDecodeError:
            log(f"{target} is damaged; scoring the external set again")
    metrics_file = directory / FINISHED
    if not metrics_file.is_file():
        raise D2TLError(f"{directory} holds no finished result ({FINISHED}); train it before scoring an external set")
    finished = json.loads(metrics_file.read_text())
    selected = finished["selected"]
    table = load_cases(external_csv)
    if roi_cache_dir is not None:
        rois = RoiCache(roi_cache_dir, external_csv, table, log=log).get(config.roi, config.shift_seed)
    else:
        rois = extract_rois(table, config.roi, seed=config.shift_seed)
    engine = Engine() if engine is None else engine
    model, _ = engine.compiled_model(config, finished.get("total_steps", 1))
    engine.weights_only(model).load_weights(directory / f"run_{selected['run']:02d}" / "best.weights.h5")
    p = predict_proba(model, rois.arrays)
    y = np.asarray(rois.labels, dtype=int)
    result = {"dataset": dataset_info(external_csv, table), **metrics_with_intervals(y, p)}
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target.with_suffix(".csv")) as tmp:
        pd.DataFrame({"id": rois.ids, "label": [LABELS[i] for i in y], "p_malignant": p}).to_csv(tmp, index=False)
    write_json(target, result)
    a = result["auc"]
    ci = result["intervals"]["auc"]
    log(f"external set {result['dataset']['name']} ({len(y)} cases): AUC "
        f"{'n/a' if a is None else f'{a:.3f}'}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        + f", accuracy {result['accuracy']:.3f}, prediction SD {result['prediction_sd']:.3f}")
    return result


def resolve_external(option, cases, settings: dict, log=print, make: bool = True) -> Path | None:
    """The external case table: ``option`` if given ('none': no external set), else the preset's
    ``external_synthetic`` (cases, seed): a synthetic set made with the same generator settings as a
    synthetic ``cases`` set but another seed, in ``<cases folder>-external/``, written when missing."""
    if option:
        return None if option == "none" else Path(option)
    spec = settings.get("external_synthetic")
    meta_file = Path(cases).parent / "dataset.json"
    if not spec or not meta_file.is_file():
        return None
    from ..data.sources import synthetic

    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError:
        return None
    if meta.get("generator") != synthetic.GENERATOR:
        return None
    config = dict(meta["config"])
    config.update(n_cases=spec["cases"], seed=spec["seed"])
    for key in ("size_range", "density_range", "bpe_range"):
        config[key] = tuple(config[key])
    config = synthetic.SynthConfig(**config)
    folder = Path(cases).parent.with_name(Path(cases).parent.name + "-external")
    target = folder / "cases.csv"
    existing = folder / "dataset.json"
    if target.is_file() and existing.is_file():
        if json.loads(existing.read_text()).get("config") == json.loads(json.dumps(config.to_dict())):
            return target
        raise D2TLError(f"{folder} holds another data set than the external set this preset needs "
                        f"(seed {spec['seed']}, {spec['cases']} cases, the generator settings of {cases}); "
                        "move it away, or pass --external PATH or --external none")
    if not make:
        log(f"external set {target} does not exist yet; the run will write it (synthetic, seed {spec['seed']}, "
            f"{spec['cases']} cases)")
        return None
    log(f"writing the external set: {spec['cases']} synthetic cases, seed {spec['seed']}, to {folder}/")
    start = time.perf_counter()
    synthetic.write_dataset(config, folder, workers=min(4, os.cpu_count() or 1))
    log(f"external set written in {time.perf_counter() - start:.0f} s")
    return target
