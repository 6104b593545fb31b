"""The search that chose the quick preset's training settings (docs/learning.md), kept so it can be rerun.

Each trial trains the default configuration (dual-mode, full-tune, box 256, random weights) on
the built-in synthetic set with the paper's protocol (selection on its validation cases) and
scores the selected model on a *tuning* set: another generator seed
(``python -m d2tl synth --seed 2 --n 200 --out data/synthetic-tuning``). The test cases and the
external set used for the reported numbers (seed 1) are never looked at while choosing. Every
trial is appended to ``results/search/trials.csv``; the preset documents which one was chosen.

    python experiments/search_quick.py --lr 1e-3 --epochs 25 --bn-stats precise --input 75
    python experiments/search_quick.py --score results/search/runs/<hash>   # afterwards: the external set
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from d2tl.io.atomic import write_csv
from d2tl.training.config import experiment_config
from d2tl.data.cases import load_cases
from d2tl.data.roi_cache import RoiCache
from d2tl.training.external import score_external
from d2tl.training.arguments import log_to_stdout
from d2tl.training.run_folder import resolve_weights
from d2tl.training.engine import Engine
from d2tl.training.experiment import run_experiment


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="data/synthetic/cases.csv")
    p.add_argument("--tuning-set", default="data/synthetic-tuning/cases.csv")
    p.add_argument("--out", default="results/search")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--input", type=int, default=75, help="model input side for the 256 px box")
    p.add_argument("--alternatives", type=int, default=5)
    p.add_argument("--bn-stats", default="precise")
    p.add_argument("--bn-samples", type=int, default=0)
    p.add_argument("--schedule", default="constant")
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--note", default="")
    p.add_argument("--score", metavar="DIR", help="instead of training: score the finished trial in DIR on --on")
    p.add_argument("--on", default="data/synthetic-external/cases.csv", help="case table for --score")
    a = p.parse_args(argv)
    if a.score:
        return score_finished(Path(a.score), a.on, Path(a.out) / "cache")
    config = experiment_config(
        model={"weights": "random"}, roi={"box": 256, "input_scale": a.input / 256},
        augment={"alternatives": a.alternatives},
        train={"runs": 1, "epochs": a.epochs, "batch_size": a.batch_size, "learning_rate": a.lr,
               "schedule": a.schedule, "optimizer": a.optimizer, "bn_stats": a.bn_stats,
               "bn_samples": a.bn_samples},
        preset="search")
    out = Path(a.out)
    table = load_cases(a.cases)
    rois = RoiCache(out / "cache", a.cases, table, log=log_to_stdout).get(config.roi, 0)
    start = time.perf_counter()
    engine = Engine()  # one engine: the external scoring reuses the trained graph
    weights = resolve_weights(config.model.weights)  # once, at this script's edge
    metrics = run_experiment(config, a.cases, out / "runs", weights, log=log_to_stdout, table=table, rois=rois,
                             engine=engine)
    wall = time.perf_counter() - start
    ext = score_external(config, metrics["directory"], a.tuning_set, out / "cache", log=log_to_stdout,
                         engine=engine)
    history = pd.read_csv(Path(metrics["directory"]) / "history.csv")
    row = {"lr": a.lr, "epochs": a.epochs, "batch_size": a.batch_size, "input": config.roi.input_size,
           "alternatives": a.alternatives, "bn_stats": a.bn_stats, "bn_samples": a.bn_samples,
           "schedule": a.schedule, "optimizer": a.optimizer,
           "selected_epoch": metrics["selected"]["epoch"], "val_accuracy": metrics["selected"]["val_accuracy"],
           "final_train_accuracy": float(history["accuracy"].iloc[-1]),
           "max_val_accuracy": float(history["val_accuracy"].max()),
           "tuning_auc": ext["auc"], "tuning_auc_ci": json.dumps(ext["intervals"]["auc"]),
           "tuning_accuracy": ext["accuracy"], "tuning_prediction_sd": ext["prediction_sd"],
           "train_seconds": metrics["train_seconds"], "mean_bn_seconds": metrics["mean_bn_seconds"],
           "wall_seconds": wall, "note": a.note, "directory": metrics["directory"]}
    trials = out / "trials.csv"
    old = pd.read_csv(trials) if trials.is_file() else pd.DataFrame()
    write_csv(trials, pd.concat([old, pd.DataFrame([row])]))
    print(json.dumps(row, indent=1))
    return 0


def score_finished(directory: Path, cases: str, cache: Path) -> int:
    """Score a finished trial's selected model on ``cases`` (after the choice, never for it)."""
    saved = json.loads((directory / "config.json").read_text())["config"]
    roi = {k: (tuple(v) if isinstance(v, list) else v) for k, v in saved["roi"].items() if k != "input_size"}
    config = experiment_config(model=saved["model"], roi=roi, augment=saved["augment"], train=saved["train"],
                               **{k: saved[k] for k in ("split_seed", "shift_seed", "augment_seed", "preset")})
    result = score_external(config, directory, cases, cache, log=log_to_stdout)
    print(json.dumps({k: result[k] for k in ("n", "accuracy", "sensitivity", "specificity", "auc", "intervals",
                                             "prediction_sd")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
