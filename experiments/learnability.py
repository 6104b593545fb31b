"""Diagnostic (docs/learning.md): how much a learner from random weights can take from the default
configuration's ROIs at all, measured with a small CNN that trains to convergence here.

InceptionV3 from random weights stays near a tuning-set AUC of 0.6 in every setting measured
(docs/learning.md). This separates "InceptionV3 cannot be optimised on 2 CPU cores" from "60
patients' box ROIs do not teach a learner from scratch more than that": it trains a network
small enough (a VGG-style CNN, far fewer parameters than InceptionV3) to run many epochs in
minutes, on exactly the quick preset's default-configuration inputs (box 256 px, 75 px, the
same split, Table 2's augmentation), with

- the dual-mode wiring and D2TL's head (:func:`d2tl.model.head`): one small CNN for both LE views,
  one for both recombined views;
- a fresh draw of the augmentation every epoch (the same number of alternatives per image), the
  strongest from-scratch regime for small data that we know, instead of the paper's fixed set;
- Adam at ``--lr`` with cosine decay, batch 32, BN statistics re-estimated from the epoch's
  training samples before every evaluation (:class:`d2tl.model.precise_bn.PreciseBN`).

Every ``--eval-every`` epochs the model is scored on the validation cases (the paper's
selection) and on the tuning set (seed 2; never the test or the external cases). Each arm's
history goes to ``OUT/<slug>/history.csv`` with its provenance, and its rows replace earlier
rows of the same ``--label`` in ``OUT/learnability.csv``; ``OUT/learnability.png`` plots every
arm. Run it on the paper-sized set and on a larger one (same generator, another seed) to see what
more training patients give:

    python experiments/learnability.py --label "60 patients"
    python -m d2tl synth --seed 3 --n 480 --out data/synthetic-480
    python experiments/learnability.py --cases data/synthetic-480/cases.csv --label "300 patients"

``--network inception_v3`` trains D2TL's own model (two InceptionV3s, random weights) under the
same regime, for a like-for-like comparison.

Not the paper's method (the small network is not InceptionV3, the augmentation is redrawn) and
not a paper number.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def small_cnn(input_size: int, width: int, name: str):
    """Four stages of two 3 x 3 conv-BN-ReLU layers (``width`` .. 8 ``width`` filters), max-pooled
    between stages, global-average pooled: a from-scratch learner sized for small data."""
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, 1))
    x = inputs
    for stage, filters in enumerate(width * 2 ** np.arange(4)):
        for _ in range(2):
            x = layers.Conv2D(int(filters), 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        if stage < 3:
            x = layers.MaxPooling2D(2)(x)
    return keras.Model(inputs, layers.GlobalAveragePooling2D()(x), name=name)


def build(config, width: int, network: str = "small_cnn"):
    """The dual-mode model with small CNNs in InceptionV3's place (same wiring and head), or with
    ``network="inception_v3"`` the D2TL model itself from random weights (the same regime for both)."""
    import keras

    from d2tl.model import build_model, head
    from d2tl.model.weights import Weights

    if network == "inception_v3":
        return build_model(config.model, Weights("random"))[0]
    from d2tl.model.wiring import backbone_names, backbone_of
    from d2tl.protocol.views import IMAGES

    s = config.model.input_size
    inputs = {key: keras.Input((s, s, 1), name=key) for key in IMAGES}
    wiring = backbone_of(config.model.architecture)
    nets = {name: small_cnn(s, width, name) for name in backbone_names(config.model.architecture)}
    features = {key: nets[wiring[key]](inputs[key]) for key in IMAGES}
    return keras.Model(inputs, head(features, config.model), name="small_cnn_dual_mode")


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "arm"


def train_arm(a, config, table, rois, tuning, log=print) -> pd.DataFrame:
    """Train one arm; one row per evaluated epoch."""
    import keras

    from d2tl.data.augment import augment_cases
    from d2tl.stats.evaluate import auc_interval
    from d2tl.model.precise_bn import PreciseBN
    from d2tl.training.data import one_hot, prepare_data
    from d2tl.training.loop import predict_proba
    from d2tl.model.seeding import seed_everything
    from sklearn.metrics import roc_auc_score

    data = prepare_data(table, config, rois=rois)
    train_ids = list(dict.fromkeys(data.train.ids))
    train_rois = rois.subset(train_ids)
    seed_everything(a.seed, True, seed_tensorflow=True)
    model = build(config, a.width, a.network)
    steps = a.epochs * int(np.ceil(len(data.train) / a.batch_size))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(a.lr, steps)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    stats = PreciseBN(model)
    order_rng = np.random.default_rng(a.seed)
    x, y = data.train.x, data.train.y
    rows, fit_seconds = [], 0.0
    for epoch in range(1, a.epochs + 1):
        if epoch > 1:  # a fresh draw of Table 2's augmentation every epoch
            x, y, _ = augment_cases(train_rois.arrays, train_rois.labels, config.augment, seed=a.seed * 1000 + epoch)
        order = order_rng.permutation(len(y))
        start = time.perf_counter()
        history = model.fit({k: v[order] for k, v in x.items()}, one_hot(y[order]), batch_size=a.batch_size,
                            epochs=1, shuffle=False, verbose=0)
        fit_seconds += time.perf_counter() - start
        if epoch % a.eval_every and epoch != a.epochs:
            continue
        stats.update(x, a.batch_size)
        p_val = predict_proba(model, data.val.x)
        p_tuning = predict_proba(model, tuning.arrays)
        low, high = auc_interval(tuning.labels, p_tuning)
        rows.append({"label": a.label, "network": a.network, "cases": a.cases, "training_patients": len(train_ids),
                     "parameters": model.count_params(), "epoch": epoch,
                     "train_accuracy": history.history["accuracy"][0], "train_loss": history.history["loss"][0],
                     "val_accuracy": float(np.mean((p_val > 0.5) == data.val.y)),
                     "tuning_auc": roc_auc_score(tuning.labels, p_tuning), "tuning_auc_low": low,
                     "tuning_auc_high": high, "tuning_accuracy": float(np.mean((p_tuning > 0.5) == tuning.labels)),
                     "tuning_prediction_sd": float(np.std(p_tuning)), "fit_seconds": fit_seconds})
        r = rows[-1]
        log(f"{a.label}: epoch {epoch}: train acc {r['train_accuracy']:.2f}, val acc {r['val_accuracy']:.2f}, "
            f"tuning-set AUC {r['tuning_auc']:.3f} ({low:.3f}-{high:.3f}), {fit_seconds:.0f} s of training")
    return pd.DataFrame(rows)


NETWORK_NAMES = {"small_cnn": "small CNN", "inception_v3": "InceptionV3"}
DIAGNOSTIC = {"small_cnn": "small CNN in InceptionV3's place, augmentation redrawn every epoch: "
                           "not the paper's method, not a paper number",
              "inception_v3": "D2TL's InceptionV3 model, augmentation redrawn every epoch: "
                              "not the paper's protocol, not a paper number"}
FIGURE_NOTE = ("random weights; box 256 px, 75 px inputs; AUC on a tuning set of another generator seed; "
               "a diagnostic, not a paper number")


def figure(table: pd.DataFrame, path: Path, note: str) -> None:
    from d2tl.reporting.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, arm in table.groupby("label", sort=False):
        network = NETWORK_NAMES[arm["network"].iloc[0]] if "network" in arm else NETWORK_NAMES["small_cnn"]
        name = label if label.startswith(network) else f"{network}: {label}"
        ax.plot(arm["epoch"], arm["tuning_auc"], marker="o", label=name)
        ax.fill_between(arm["epoch"], arm["tuning_auc_low"], arm["tuning_auc_high"], alpha=0.15)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="epoch", ylabel="tuning-set ROC AUC (95% CI)", ylim=(0.3, 1.0),
           title="Learning from random weights on the default configuration's ROIs")
    ax.legend(title="arm", fontsize=8)
    fig.text(0.01, 0.01, note, fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    from d2tl.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    from d2tl.io import checks
    from d2tl.io.atomic import write_csv
    from d2tl.training.config import preset_base
    from d2tl.data.cases import load_cases
    from d2tl.data.roi_cache import RoiCache
    from d2tl.io.errors import D2TLError
    from d2tl.protocol.presets import preset
    from d2tl.io.provenance import dataset_info, provenance, write_json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default="data/synthetic/cases.csv")
    p.add_argument("--tuning-set", default="data/synthetic-tuning/cases.csv")
    p.add_argument("--label", default="60 patients", help="the arm's name in the table and figure")
    p.add_argument("--network", default="small_cnn", choices=("small_cnn", "inception_v3"),
                   help="small_cnn (default), or inception_v3: D2TL's own model under the same regime")
    p.add_argument("--width", type=int, default=16, help="small_cnn: filters of the first stage (x2 per stage)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--eval-every", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/learnability")
    p.add_argument("--report-only", action="store_true", help="redraw the figure from OUT/learnability.csv")
    a = p.parse_args(argv)
    if a.report_only:
        target = Path(a.out) / "learnability.csv"
        if not target.is_file():
            print(f"error: --report-only: {target} does not exist", file=sys.stderr)
            return 2
        figure(pd.read_csv(target), Path(a.out) / "learnability.png", FIGURE_NOTE)
        return 0
    try:
        for option, path in (("--cases", a.cases), ("--tuning-set", a.tuning_set)):
            checks.input_file(option, path, "case table")
        for option in ("width", "epochs", "eval_every", "batch_size"):
            checks.count(f"--{option.replace('_', '-')}", getattr(a, option), low=1)
        if not a.lr > 0:
            raise D2TLError(f"--lr must be positive, got {a.lr}")
        settings = preset("quick")
        config = preset_base({**settings, "weights": "random"}, "quick")
        out = Path(a.out)
        table = load_cases(a.cases)
        rois = RoiCache(out / "cache", a.cases, table).get(config.roi, 0)
        tuning_table = load_cases(a.tuning_set)
        tuning = RoiCache(out / "cache", a.tuning_set, tuning_table).get(config.roi, 0)
    except D2TLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    rows = train_arm(a, config, table, rois, tuning)
    arm_dir = out / slug(a.label)
    arm_dir.mkdir(parents=True, exist_ok=True)
    write_csv(arm_dir / "history.csv", rows)
    write_json(arm_dir / "provenance.json", {
        **provenance(config={"roi": config.roi.to_dict(), "augment": {**config.augment.to_dict(),
                                                                      "redrawn": "every epoch"},
                             "network": {"kind": a.network,
                                         "width": a.width if a.network == "small_cnn" else None,
                                         "wiring": "dual_mode",
                                         "head": config.model.to_dict()},
                             "train": {"epochs": a.epochs, "learning_rate": a.lr, "schedule": "cosine",
                                       "optimizer": "adam", "batch_size": a.batch_size, "bn_stats": "precise"}},
                     seed=a.seed, preset="quick", dataset=dataset_info(a.cases, table), weights_source="random",
                     diagnostic=DIAGNOSTIC[a.network]),
        "tuning_set": dataset_info(a.tuning_set, tuning_table),
        "command": shlex.join(["python", "experiments/learnability.py", *(argv if argv is not None else sys.argv[1:])]),
        "wall_seconds": time.perf_counter() - start})
    target = out / "learnability.csv"
    if target.is_file():
        old = pd.read_csv(target)
        if "network" not in old:  # tables written before --network existed
            old.insert(1, "network", "small_cnn")
        table_all = pd.concat([old[old["label"] != a.label], rows], ignore_index=True)
    else:
        table_all = rows
    write_csv(target, table_all)
    figure(table_all, out / "learnability.png", FIGURE_NOTE)
    last = rows.iloc[-1]
    best = rows.loc[rows["val_accuracy"].idxmax()]
    print(f"{a.label}: last epoch {int(last['epoch'])} tuning-set AUC {last['tuning_auc']:.3f}; "
          f"best-validation epoch {int(best['epoch'])}: {best['tuning_auc']:.3f}; "
          f"highest over epochs {rows['tuning_auc'].max():.3f} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
