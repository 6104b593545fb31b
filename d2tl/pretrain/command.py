"""``python -m d2tl pretrain``: InceptionV3 pre-trained on formula-generated images, no ImageNet.

It generates the FractalDB-style set of a recipe (:mod:`d2tl.pretrain.fractaldb`, :mod:`d2tl.pretrain.store`),
trains ``keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")`` with a
softmax layer over the fractal classes on it (Keras's ``fit``), drops that layer and writes, into
``results/pretrain/<recipe hash>/`` (atomically, the folder at once):

- ``inception_v3_fractal_notop.weights.h5``: the backbone's weights, loadable by
  ``keras.applications.InceptionV3(weights=PATH)`` at any input side >= 75 px, so
  ``--weights fractal`` (or this path) works wherever weights are chosen;
- ``pretrain.json``: the recipe, its hash, the file's SHA-256, the training history, times and
  provenance.

Inputs follow :mod:`d2tl.model`: a grey image in [0, 1], repeated to 3 channels, scaled to
[-1, 1]. A finished recipe is reused, never trained again; an interrupted one resumes from its
last epoch (``keras.callbacks.BackupAndRestore``). Progress is printed per epoch with an ETA.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from pathlib import Path

import numpy as np

from . import store
from .progress import duration as _duration, progress_callback
from ..io.atomic import atomic_path
from ..io.errors import D2TLError
from ..protocol.options import add_seed
from ..io.provenance import provenance, write_json

CACHE_GB = 4.0  # render the whole set once when it fits in this many GB (uint8), else per batch


def _keras():
    import keras

    return keras


def make_batches(images, batch_size: int, seed: int, cache_gb: float = CACHE_GB, workers: int = 1, log=print):
    """A ``keras.utils.PyDataset`` of batches of ``images`` (a :class:`d2tl.pretrain.fractaldb.FractalSet`)
    for ``fit``: grey float32 images in [0, 1] with their class, in a seeded order per epoch;
    rendered once when the set fits in ``cache_gb``, else per batch (``workers`` threads)."""
    keras = _keras()

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=workers, use_multiprocessing=False)
            self.epoch = 0
            self.cache = None
            self.labels = np.repeat(np.arange(images.classes), images.per_class)
            if len(images) * images.side ** 2 <= cache_gb * 1e9:
                start = time.perf_counter()
                self.cache = images.images(range(len(images)))
                log(f"generated {len(images)} images of {images.side} px in {time.perf_counter() - start:.1f} s")

        def __len__(self):
            return math.ceil(len(images) / batch_size)

        def order(self):
            return np.random.default_rng([seed, 6, self.epoch]).permutation(len(images))

        def __getitem__(self, index):
            chosen = self.order()[index * batch_size:(index + 1) * batch_size]
            grey = self.cache[chosen] if self.cache is not None else images.images(chosen)
            return (grey[..., None].astype(np.float32) / 255.0), self.labels[chosen]

        def on_epoch_end(self):
            self.epoch += 1

    return Batches()


def build(recipe: store.Recipe):
    """(training model, backbone): :func:`d2tl.pretrain.network.grey_inception` with a softmax
    layer over the fractal classes on its pooled feature."""
    keras = _keras()
    from .network import grey_inception

    inputs, backbone, feature = grey_inception(recipe.side, "fractal")
    outputs = keras.layers.Dense(recipe.classes, activation="softmax", name="fractal_classes",
                                 dtype="float32")(feature)
    return keras.Model(inputs, outputs, name="fractal_pretraining"), backbone


def pretrain(recipe: store.Recipe, root=None, log=print, workers: int = 1, cache_gb: float = CACHE_GB) -> Path:
    """Make ``recipe``'s weights file in the store (or find it made) and return its path."""
    done = store.finished(recipe, root)
    if done is not None:
        log(f"{recipe.describe()}: finished earlier, reused: {done}")
        return done
    keras = _keras()
    from . import fractaldb
    from ..model.weights import file_digest
    from ..model.seeding import seed_everything

    target = store.folder(recipe, root)
    work = target.with_name(f".{target.name}.partial")  # epoch backups and history rows while training
    work.mkdir(parents=True, exist_ok=True)
    log(f"{recipe.describe()} -> {target}")
    start = time.perf_counter()
    images = fractaldb.FractalSet(recipe.classes, recipe.per_class, recipe.side, recipe.seed)
    batches = make_batches(images, recipe.batch_size, recipe.seed, cache_gb, workers, log)
    generate_seconds = time.perf_counter() - start
    # weights' initialisation under the recipe's seed (TensorFlow's too, as a fresh process's first run)
    seed_everything(recipe.seed, deterministic=False, seed_tensorflow=True)
    model, backbone = build(recipe)
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=recipe.epochs * len(batches))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    progress = progress_callback(recipe.epochs, work / "history.json", log)
    backup = keras.callbacks.BackupAndRestore(str(work / "backup"))
    train_start = time.perf_counter()
    model.fit(batches, epochs=recipe.epochs, verbose=0, callbacks=[backup, progress])
    train_seconds = time.perf_counter() - train_start
    history = progress.rows
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        backbone.save_weights(tmp / store.WEIGHTS_FILE)  # the classification layer is dropped here
        digest = file_digest(tmp / store.WEIGHTS_FILE)
        sidecar = {
            "recipe_hash": recipe.hash, "description": recipe.describe(), "command": recipe.command(),
            "recipe": recipe.to_dict(), "weights_file": store.WEIGHTS_FILE, "weights_sha256": digest,
            "images": len(images), "chance_accuracy": 1 / recipe.classes,
            "classes": [{"class": k, "maps": int(len(m)), "filling_rate": r}
                        for k, (m, r) in enumerate(zip(images.systems, images.filling_rates))],
            "history": history,
            "final_train_accuracy": history[-1].get("accuracy") if history else None,
            "seconds": {"generate": generate_seconds, "train": train_seconds,
                        "total": time.perf_counter() - start},
            "provenance": provenance(config=recipe.to_dict(), seed=recipe.seed, preset="fractal-pretrain",
                                     weights_source="random (Keras's initialisation under the recipe's seed)",
                                     backend=keras.backend.backend(), workers=workers),
        }
        write_json(tmp / store.SIDECAR, sidecar)
    shutil.rmtree(work, ignore_errors=True)
    log(f"pre-trained in {_duration(time.perf_counter() - start)} (train accuracy "
        f"{sidecar['final_train_accuracy']:.3f}, chance {1 / recipe.classes:.3f}): {target / store.WEIGHTS_FILE}")
    return target / store.WEIGHTS_FILE


# --------------------------------------------------------------------------------- command line

def add_arguments(parser) -> None:
    parser.add_argument("--source", default="fractal", choices=("fractal", "synthetic"),
                        help="fractal (default): formula-generated images (FractalDB-style); synthetic: ROIs of "
                             "synthetic CEDM cases labelled by lesion presence, density, enhancement and size, "
                             "never the diagnosis (docs/pretrain.md; what --weights synthetic uses)")
    parser.add_argument("--source-cases", type=int, help="synthetic source: cases in the source set (default 1000)")
    parser.add_argument("--source-seed", type=int, help="synthetic source: the source set's generator seed "
                        "(default 1000; 100 or above, disjoint from every data set's seed)")
    parser.add_argument("--source-data", help="synthetic source: folder of source sets (default "
                        "$D2TL_SOURCE_DATA or data/pretrain-source); a missing set is written there")
    parser.add_argument("--scale", default="cpu", choices=list(store.SCALES),
                        help="a recipe's sizes (d2tl/pretrain/store.py): cpu (default: 40 classes x 100 images, "
                             "75 px, 8 epochs, 45 min measured on 2 shared CPU cores; what --weights fractal uses), "
                             "fractaldb-100 or fractaldb-1k (GPU; --weights fractal:NAME)")
    helps = {"classes": "IFS classes", "per_class": "images per class", "side": "image side, px (>= 75)",
             "epochs": "training epochs", "batch_size": "images per step",
             "learning_rate": "Adam's initial learning rate (cosine decay)"}
    add_seed(parser)  # the image set's and the initialisation's; every scale's recipe has seed 0
    for name in (f.name for f in dataclasses.fields(store.Recipe) if f.name != "seed"):
        flag = "--lr" if name == "learning_rate" else f"--{name.replace('_', '-')}"
        parser.add_argument(flag, dest=name, type=float if name == "learning_rate" else int,
                            help=f"{helps[name]} (scale's if omitted)")
    parser.add_argument("--store", help=f"the store (default ${store.STORE_ENV} or {store.DEFAULT_STORE})")
    parser.add_argument("--workers", type=int, default=1, help="threads rendering batches when the set is not "
                        f"cached (it is when it fits in {CACHE_GB:g} GB)")
    parser.add_argument("--dry-run", action="store_true", help="print the recipe, its hash, its folder and whether "
                        "it is finished; train nothing")


def synthetic_recipe_from_args(args):
    from .synthetic_recipe import SyntheticRecipe

    for flag, value in (("--classes", args.classes), ("--per-class", args.per_class)):
        if value is not None:
            raise D2TLError(f"{flag} {value}: only for --source fractal")
    if args.scale != "cpu":
        raise D2TLError(f"--scale {args.scale}: only for --source fractal")
    changes = {name: getattr(args, name) for name in ("side", "epochs", "seed", "batch_size", "learning_rate")
               if getattr(args, name, None) is not None}
    if args.source_cases is not None:
        changes["cases"] = args.source_cases
    if args.source_seed is not None:
        changes["source_seed"] = args.source_seed
    return SyntheticRecipe(**changes)


def recipe_from_args(args):
    if getattr(args, "source", "fractal") == "synthetic":
        return synthetic_recipe_from_args(args)
    for flag, value in (("--source-cases", args.source_cases), ("--source-seed", args.source_seed),
                        ("--source-data", args.source_data)):
        if value is not None:
            raise D2TLError(f"{flag} {value}: only for --source synthetic")
    base = store.scale(args.scale)
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(store.Recipe)
               if getattr(args, f.name, None) is not None}
    return dataclasses.replace(base, **changes)


def run(args) -> int:
    from ..io.checks import count

    count("--seed", args.seed, low=0, high=2**32 - 1)
    recipe = recipe_from_args(args)
    if args.workers < 1:
        raise D2TLError(f"--workers {args.workers}: must be at least 1")
    if args.dry_run:
        done = store.finished(recipe, args.store)
        print(f"{recipe.describe()}\nfolder: {store.folder(recipe, args.store)}\n"
              f"state: {'finished: ' + str(done) if done else 'not made yet'}\ncommand: {recipe.command()}\n"
              f"recipe: {json.dumps(recipe.to_dict(), sort_keys=True)}")
        return 0
    log = lambda line: print(line, flush=True)  # noqa: E731
    if args.source == "synthetic":
        from .synthetic_recipe import SyntheticRecipe
        from .synthetic_train import pretrain as pretrain_synthetic

        path = pretrain_synthetic(recipe, args.store, args.source_data, log=log)
        named = " (or --weights synthetic)" if recipe == SyntheticRecipe() else ""
    else:
        path = pretrain(recipe, args.store, log=log, workers=args.workers)
        named = " (or --weights fractal)" if recipe == store.Recipe() else ""
    print(f"weights: {path}\nuse: --weights {path}{named}")
    return 0
