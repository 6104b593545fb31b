"""How many augmented training samples the precise-BN pass needs (docs/learning.md): statistics and
predictions from a subset against those from the whole augmented training set.

Loads a finished configuration's selected weights, re-estimates the BN statistics from all of
its augmented training samples and from seeded subsets, and reports per subset the largest
difference in predicted probability on a case table (the tuning set by default) and the
largest relative difference of the BN statistics. Writes results/search/bn_samples.csv.

    python experiments/bn_samples_check.py results/search/runs/<hash>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None) -> int:
    from d2tl.io.atomic import write_csv
    from d2tl.training.config import experiment_config
    from d2tl.data.cases import load_cases
    from d2tl.data.roi_cache import RoiCache
    from d2tl.model.precise_bn import trained_bn_layers
    from d2tl.training.data import prepare_data
    from d2tl.training.engine import Engine
    from d2tl.training.loop import bn_sample, predict_proba

    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0])
    scored = argv[1] if len(argv) > 1 else "data/synthetic-tuning/cases.csv"
    saved = json.loads((folder / "config.json").read_text())
    config = saved["config"]
    config = experiment_config(model=config["model"] | {}, roi={k: v for k, v in config["roi"].items()
                                                               if k != "input_size"},
                               augment=config["augment"], train=config["train"],
                               **{k: config[k] for k in ("split_seed", "shift_seed", "augment_seed", "preset")})
    config = config.replace(roi={"intensity_percentiles": tuple(config.roi.intensity_percentiles)})
    cases = saved["dataset"]["cases"]
    table = load_cases(cases)
    rois = RoiCache(Path("results/search/cache"), cases, table).get(config.roi, 0)
    data = prepare_data(table, config, rois)
    metrics = json.loads((folder / "metrics.json").read_text())
    engine = Engine()
    model, _ = engine.compiled_model(config, metrics.get("total_steps", 1))
    engine.weights_only(model).load_weights(folder / f"run_{metrics['selected']['run']:02d}" / "best.weights.h5")
    other = load_cases(scored)
    x_other = RoiCache(Path("results/search/cache"), scored, other).get(config.roi, 0).arrays
    pbn = engine.precise_bn(model)
    layers = trained_bn_layers(model)
    rows, reference = [], None
    for samples in (0, 256, 128, 64, 32):
        x = bn_sample(data.train.x, len(data.train), samples, 0)
        seconds = pbn.update(x, config.train.batch_size)
        stats = [(np.array(b.moving_mean), np.array(b.moving_variance)) for b in layers]
        p = predict_proba(model, x_other)
        if reference is None:
            reference = (stats, p)
        mean_diff = max(float(np.max(np.abs(m - rm) / (np.sqrt(rv) + 1e-3))) for (m, _), (rm, rv) in zip(stats, reference[0]))
        var_diff = max(float(np.max(np.abs(v - rv) / (rv + 1e-3))) for (_, v), (_, rv) in zip(stats, reference[0]))
        rows.append({"samples": samples or len(data.train), "seconds": seconds,
                     "max_mean_diff_in_sd": mean_diff, "max_relative_var_diff": var_diff,
                     "max_probability_diff": float(np.max(np.abs(p - reference[1]))),
                     "mean_probability_diff": float(np.mean(np.abs(p - reference[1])))})
        print(rows[-1], flush=True)
    out = Path("results/search/bn_samples.csv")
    write_csv(out, pd.DataFrame(rows))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
