"""Diagnostic (docs/learning.md): how much of the class signal a fixed representation of the ROIs holds,
read by a linear classifier instead of a trained network.

A representation is either a backbone's pooled features (``--weights random``, ``fractal``,
``imagenet`` or a file; both views, both modes: 4 x 2048 values per sample) or, with ``--weights
none``, 28 plain statistics of the model-ready ROI arrays (per image: mean, SD and 90th
percentile of the box centre, mean and SD of the whole box, centre minus box mean, fraction at the
top of the range). It is computed for the default configuration's ROIs (box 256 px, 75 px input)
of the training patients (split seed 0), augmented as the quick preset augments them, and for the
200 cases of the tuning set (seed 2; never the test or the external cases). An L2 logistic
regression on standardised values is fitted on the training samples for each ``C`` and scored on
the tuning set. Random weights get precise BN statistics from the training samples first (their
initial 0/1 statistics give near-constant features); pass ``--precise-bn`` for other weights.

    python experiments/probe_features.py --weights random
    python experiments/probe_features.py --weights fractal
    python experiments/probe_features.py --weights none

Prints one line per ``C`` and appends the rows to ``OUT/probe.csv``. Reduced-preset settings on
synthetic data: not a paper number.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

C_VALUES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def box_statistics(arrays: dict) -> np.ndarray:
    """Seven statistics per image of each sample: (n, 28)."""
    from d2tl.protocol.views import IMAGES

    cols = []
    for key in IMAGES:
        a = arrays[key][..., 0]
        n = a.shape[1]
        centre = a[:, n // 4:3 * n // 4, n // 4:3 * n // 4].reshape(len(a), -1)
        whole = a.reshape(len(a), -1)
        cols += [centre.mean(1), centre.std(1), np.percentile(centre, 90, axis=1), whole.mean(1), whole.std(1),
                 centre.mean(1) - whole.mean(1), (whole >= 0.999).mean(1)]
    return np.stack(cols, 1)


def backbone_features(config, weights, x_train: dict, others: list, precise: bool) -> list:
    """Pooled backbone features of the training samples and of each array dict in ``others``."""
    from d2tl.model import build_model
    from d2tl.model.precise_bn import PreciseBN
    from d2tl.training.features import build_feature_model, features_of
    from d2tl.protocol.views import IMAGES

    model, _ = build_model(config.model, weights)
    if precise:
        PreciseBN(model).update(x_train, 32)
    extractor = build_feature_model(model)
    out = []
    for x in (x_train, *others):
        f = features_of(extractor, x)
        out.append(np.concatenate([f[k] for k in IMAGES], axis=1))
    return out


def main(argv=None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from d2tl.io.atomic import write_csv
    from d2tl.io.provenance import portable
    from d2tl.training.config import preset_base
    from d2tl.data.augment import augment_cases
    from d2tl.data.cases import load_cases
    from d2tl.data.roi_cache import RoiCache
    from d2tl.data.split import split_cases
    from d2tl.io.errors import D2TLError
    from d2tl.training.run_folder import resolve_weights
    from d2tl.protocol.presets import preset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default="random", help="random, fractal, imagenet, a weights file, or none")
    p.add_argument("--cases", default="data/synthetic/cases.csv")
    p.add_argument("--tuning-set", default="data/synthetic-tuning/cases.csv")
    p.add_argument("--precise-bn", action="store_true", help="re-estimate BN statistics for non-random weights too")
    p.add_argument("--out", default="results/search")
    a = p.parse_args(argv)
    try:
        for option, path in (("--cases", a.cases), ("--tuning-set", a.tuning_set)):
            if not Path(path).is_file():
                raise D2TLError(f"{option} {path} does not exist")
        start = time.perf_counter()
        config = preset_base({**preset("quick"), "weights": "random" if a.weights == "none" else a.weights}, "quick")
        cache = Path(a.out) / "cache"
        table = load_cases(a.cases)
        rois = RoiCache(cache, a.cases, table).get(config.roi, 0)
        train = rois.subset(list(table["id"][split_cases(table, seed=0) == "train"]))
        x, y, _ = augment_cases(train.arrays, train.labels, config.augment, seed=config.augment_seed * 10)
        tuning_table = load_cases(a.tuning_set)
        tuning = RoiCache(cache, a.tuning_set, tuning_table).get(config.roi, 0)
        if a.weights == "none":
            source, (f_train, f_tuning) = "none (box statistics)", (box_statistics(x), box_statistics(tuning.arrays))
        else:
            weights = resolve_weights(config.model.weights)
            source = portable(weights.description)  # no path of this machine in the committed table
            precise = a.precise_bn or weights.kind == "random"
            f_train, f_tuning = backbone_features(config, weights, x, [tuning.arrays], precise)
            source += ", precise BN" if precise else ""
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = []
    for c in C_VALUES:
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(f_train, y)
        auc = roc_auc_score(tuning.labels, clf.predict_proba(f_tuning)[:, 1])
        rows.append({"weights": a.weights, "source": source, "features": f_train.shape[1],
                     "train_samples": len(y), "C": c, "tuning_auc": auc,
                     "seconds": time.perf_counter() - start})
        print(f"{a.weights}: C={c:g} tuning-set AUC {auc:.3f}")
    target = Path(a.out) / "probe.csv"
    old = pd.read_csv(target) if target.is_file() else pd.DataFrame()
    write_csv(target, pd.concat([old, pd.DataFrame(rows)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
