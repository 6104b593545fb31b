"""Semi-tune end to end against the cached-feature path: the same results, and their times."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

def compare_paths(config, weights, cases_csv, out, repeats: int = 2, log=print, engine=None) -> dict:
    """Time semi-tune end to end and on cached features on the same configuration and data.

    Each path is run ``repeats`` times in this process, alternating, each into its own folder
    under ``out`` (``out/<path>_<repeat>``); the first repeat of each path pays its graph traces
    (full model's training step, or the feature extractor's and head's), later ones do not. The
    engine's in-memory feature store is emptied before each repeat, so every cached repeat
    extracts its features (one :class:`d2tl.training.engine.Engine` for all repeats; a fresh one
    when None). Returns per path and repeat: the wall seconds of :func:`d2tl.training.experiment.run_experiment`,
    the training-loop seconds, the feature seconds, the epoch seconds; and the largest differences
    between the paths in history and test probabilities.
    """
    import pandas as pd

    from ..data.cases import load_cases
    from ..data.roi import extract_rois
    from .engine import Engine
    from .experiment import run_experiment

    if config.model.tuning != "semi":
        raise ValueError("compare_paths needs a semi-tune configuration")
    engine = Engine() if engine is None else engine
    out = Path(out)
    table = load_cases(cases_csv)
    rois = extract_rois(table, config.roi, seed=config.shift_seed)
    timings, results = [], {}
    for repeat in range(repeats):
        for path in ("end to end", "cached features"):
            engine.features.clear()
            start = time.perf_counter()
            metrics = run_experiment(config, cases_csv, out / f"{path.split()[0]}_{repeat}", weights, log=log, table=table,
                                     rois=rois, feature_cache=path == "cached features", engine=engine)
            wall = time.perf_counter() - start
            folder = Path(metrics["directory"])
            runs = [json.loads((folder / f"run_{r:02d}" / "summary.json").read_text()) for r in range(config.train.runs)]
            history = pd.read_csv(folder / "history.csv")
            timings.append({"path": path, "repeat": repeat, "wall_seconds": wall,
                            "train_seconds": sum(r["train_seconds"] for r in runs),
                            "feature_seconds": sum(r.get("feature_seconds", 0.0) for r in runs),
                            "epoch_seconds": [round(s, 3) for s in history["seconds"]]})
            results[path] = (history, runs)
            log(f"== {path}, repeat {repeat}: {wall:.1f} s wall, training loop {timings[-1]['train_seconds']:.1f} s, "
                f"features {timings[-1]['feature_seconds']:.1f} s, epochs {timings[-1]['epoch_seconds']}")
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    (h_a, runs_a), (h_b, runs_b) = results["end to end"], results["cached features"]
    return {"timings": timings,
            "max_history_difference": float(np.max(np.abs(h_a[columns].to_numpy() - h_b[columns].to_numpy()))),
            "max_probability_difference": float(max(np.max(np.abs(np.subtract(a["test_probabilities"],
                                                                              b["test_probabilities"])))
                                                    for a, b in zip(runs_a, runs_b))),
            "selected_epochs": {"end to end": [r["epoch"] for r in runs_a],
                                "cached features": [r["epoch"] for r in runs_b]}}

