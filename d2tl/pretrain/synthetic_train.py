"""``python -m d2tl pretrain --source synthetic``: InceptionV3 pre-trained on synthetic CEDM ROIs.

Steps: write the recipe's source set when missing (the project's generator, ``python -m d2tl
synth`` under the recipe's source seed), cut its labelled ROIs
(:mod:`d2tl.pretrain.synthetic_source`), measure how each proxy label goes with malignancy, train
``keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")`` with one softmax
head per proxy task (Keras's ``fit``, the summed sparse cross-entropies; the size head weighted 0
on lesion-free boxes), drop the heads and write into the store, atomically:
``inception_v3_synthetic_notop.weights.h5`` and ``pretrain.json`` (recipe, hash, the file's
SHA-256, corpus size, label association, history, times, provenance). Resumable per epoch
(``keras.callbacks.BackupAndRestore``), with a progress line and ETA per epoch.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path

import numpy as np

from . import store
from .synthetic_recipe import SyntheticRecipe
from .synthetic_source import TASKS, Corpus, build_corpus, case_truth, label_association


def source_set(recipe: SyntheticRecipe, root=None, log=print) -> Path:
    """The source set's case table, written by the generator when the folder does not hold it."""
    import json

    from ..data.sources.synthetic.dataset import write_dataset

    folder = recipe.source_folder(root)
    meta = folder / "dataset.json"
    if meta.is_file() and json.loads(meta.read_text()).get("config") == json.loads(
            json.dumps(recipe.synth_config().to_dict())):
        return folder / "cases.csv"
    log(f"writing the source set: {recipe.cases} synthetic cases of seed {recipe.source_seed} -> {folder}")
    start = time.perf_counter()
    csv = write_dataset(recipe.synth_config(), folder, overwrite=True, workers=2)
    log(f"source set written in {time.perf_counter() - start:.0f} s")
    return csv


def corpus_of(recipe: SyntheticRecipe, cases_csv: Path, log=print) -> Corpus:
    import json

    from ..data.cases import load_cases

    table = load_cases(cases_csv)
    truth = case_truth(json.loads((cases_csv.parent / "dataset.json").read_text()))
    return build_corpus(table, truth, recipe.roi(), recipe.seed, log)


def batches(corpus: Corpus, batch_size: int, seed: int):
    """A ``keras.utils.PyDataset``: (images, labels per task, sample weights per task), in a
    seeded order per epoch."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0

        def __len__(self):
            return math.ceil(len(corpus) / batch_size)

        def __getitem__(self, index):
            order = np.random.default_rng([seed, 27, self.epoch]).permutation(len(corpus))
            chosen = order[index * batch_size:(index + 1) * batch_size]
            return (corpus.images[chosen], {t: corpus.labels[t][chosen] for t in TASKS},
                    {t: corpus.weights[t][chosen] for t in TASKS})

        def on_epoch_end(self):
            self.epoch += 1

    return Batches()


def build(recipe: SyntheticRecipe):
    """(training model, backbone): :func:`d2tl.pretrain.network.grey_inception` with one softmax
    head per proxy task on its pooled feature."""
    import keras

    from .network import grey_inception

    inputs, backbone, feature = grey_inception(recipe.side, "roi")
    outputs = {t: keras.layers.Dense(k, activation="softmax", name=t, dtype="float32")(feature)
               for t, k in TASKS.items()}
    return keras.Model(inputs, outputs, name="synthetic_cedm_pretraining"), backbone


def _fit(recipe: SyntheticRecipe, corpus: Corpus, work: Path, log):
    import keras

    from ..model.seeding import seed_everything
    from .progress import progress_callback

    data = batches(corpus, recipe.batch_size, recipe.seed)
    seed_everything(recipe.seed, deterministic=False, seed_tensorflow=True)
    model, backbone = build(recipe)
    schedule = keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=recipe.epochs * len(data))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss={t: "sparse_categorical_crossentropy" for t in TASKS},
                  weighted_metrics={t: ["accuracy"] for t in TASKS})
    progress = progress_callback(recipe.epochs, work / "history.json", log)
    backup = keras.callbacks.BackupAndRestore(str(work / "backup"))
    model.fit(data, epochs=recipe.epochs, verbose=0, callbacks=[backup, progress])
    return backbone, progress.rows


def pretrain(recipe: SyntheticRecipe, root=None, source_root=None, log=print) -> Path:
    """Make ``recipe``'s weights file in the store (or find it made) and return its path."""
    done = store.finished(recipe, root)
    if done is not None:
        log(f"{recipe.describe()}: finished earlier, reused: {done}")
        return done
    import keras

    from ..io.atomic import atomic_path
    from ..model.weights import file_digest
    from ..io.provenance import dataset_info, provenance, write_json

    target = store.folder(recipe, root)
    work = target.with_name(f".{target.name}.partial")
    work.mkdir(parents=True, exist_ok=True)
    log(f"{recipe.describe()} -> {target}")
    start = time.perf_counter()
    cases_csv = source_set(recipe, source_root, log)
    corpus = corpus_of(recipe, cases_csv, log)
    association = label_association(corpus.table)
    corpus_seconds = time.perf_counter() - start
    log(f"source corpus: {len(corpus)} ROIs of {corpus.table['id'].nunique()} cases ({corpus_seconds:.0f} s); "
        + "; ".join(f"{a['task']} vs malignancy: Cramer's V {a['cramers_v']:.3f}, AUC {a['auc_for_malignancy']:.3f}"
                    for a in association))
    train_start = time.perf_counter()
    backbone, history = _fit(recipe, corpus, work, log)
    train_seconds = time.perf_counter() - train_start
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        backbone.save_weights(tmp / recipe.weights_file)  # the task heads are dropped here
        sidecar = {
            "recipe_hash": recipe.hash, "description": recipe.describe(), "command": recipe.command(),
            "recipe": recipe.to_dict(), "weights_file": recipe.weights_file,
            "weights_sha256": file_digest(tmp / recipe.weights_file),
            "source_set": dataset_info(cases_csv), "images": len(corpus),
            "samples_by_box": {k: int(v) for k, v in corpus.table["box"].value_counts().items()},
            "label_association": association, "history": history,
            "final_train_accuracy": {t: history[-1].get(f"{t}_accuracy") for t in TASKS} if history else None,
            "seconds": {"corpus": corpus_seconds, "train": train_seconds, "total": time.perf_counter() - start},
            "provenance": provenance(config=recipe.to_dict(), seed=recipe.seed, preset="synthetic-pretrain",
                                     weights_source="random (Keras's initialisation under the recipe's seed)",
                                     backend=keras.backend.backend()),
        }
        write_json(tmp / store.SIDECAR, sidecar)
    shutil.rmtree(work, ignore_errors=True)
    log(f"pre-trained in {time.perf_counter() - start:.0f} s: {target / recipe.weights_file}")
    return target / recipe.weights_file
