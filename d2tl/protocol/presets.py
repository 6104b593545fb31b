"""Presets: ``paper`` is the full protocol (for a GPU); ``quick`` is the CPU preset that learns;
``smoke`` checks the whole code path (run_all: 23.1 min on 2 CPU cores, docs/performance.md) and
learns nothing.

Every output records its preset; quick and smoke numbers are never paper numbers.

``quick`` (the README's main job, ``experiments/run_all.py --preset quick``, 2 CPU cores) was
chosen by measurement (docs/learning.md; ``experiments/search_quick.py``, every trial in
``results/search/trials.csv``, tuned on a synthetic set of another generator seed, never on the
test cases or the external set):

- ``bn_stats`` precise: with Keras's moving averages a briefly trained InceptionV3 from random
  weights gives constant outputs in inference mode (p_malignant SD across cases 1e-5 to 1e-4;
  tests/test_bn_stats.py: 1.7e-5, precise 0.41); re-estimated statistics make its outputs depend
  on the case.
- Adam at ``learning_rate`` 1e-3 with cosine decay over the run, batch 32 cases (at 75 px
  InceptionV3's last blocks are 1 x 1, so each BN layer there normalises over the batch alone),
  5 augmented alternatives per image (the paper's), 75 px inputs for every box (InceptionV3's minimum: the 256 px box is 64 image px at
  the synthetic set's 0.28 mm pixels, so 75 px loses nothing there), so that every dual-mode,
  full-tune configuration shares one compiled graph.
- 1 run of ``epochs`` epochs; 2 repeats per shift (the fewest that give a p-value); the
  random-init study at the same epochs (its ImageNet arm is then the default configuration).
- ``epochs`` 4, chosen so that the whole ``run_all --preset quick`` (14 trainings with the
  formula-pre-trained arm) fits 120 min on 2 cores: an epoch of 300 augmented samples took 72-93 s
  here (trial 4, 2026-12-02), plus about 3 min of graph tracing per process. Longer training was
  measured not to help (docs/learning.md): 25 epochs selected epoch 5 (tuning-set AUC 0.621),
  8 epochs selected epoch 2 (0.592, intervals overlapping), and 300 patients x 36 epochs were no
  better than x 12.
- ``external_synthetic``: every selected model is also scored on 200 synthetic cases of another
  generator seed (written beside the case table when missing), with 95% intervals.

Weights: ``paper`` starts from ``imagenet`` and refuses to run without the file; the reduced
presets use ``auto`` (ImageNet when available, else random, said in every output).

``smoke`` is the earlier quick preset (1 run x 2 epochs, 1 augmented alternative), kept to check
the code path; its models do not learn.

Why input 75 px for every box (both reduced presets): the box-size study then compares fields
of view at equal input resolution, and its training times no longer grow with the box.
"""

from ..io.errors import D2TLError
from .paper import AUGMENTATION, EPOCHS, MIN_INPUT, RANDOM_INIT_EPOCHS, RUNS, SHIFT_REPEATS

QUICK_EPOCHS = 4

PRESETS = {
    "paper": {"runs": RUNS, "epochs": EPOCHS, "input_scale": 1.0, "shift_repeats": SHIFT_REPEATS,
              "random_init_epochs": RANDOM_INIT_EPOCHS, "batch_size": 16,
              "alternatives": AUGMENTATION["alternatives"], "learning_rate": 1e-4, "bn_stats": "moving",
              "bn_samples": 0, "weights": "imagenet"},
    "quick": {"runs": 1, "epochs": QUICK_EPOCHS, "input_scale": MIN_INPUT / 512, "shift_repeats": 2,
              "random_init_epochs": QUICK_EPOCHS, "batch_size": 32, "alternatives": AUGMENTATION["alternatives"],
              "learning_rate": 1e-3, "schedule": "cosine", "bn_stats": "precise", "bn_samples": 0,
              "weights": "auto", "external_synthetic": {"cases": 200, "seed": 1}},
    "smoke": {"runs": 1, "epochs": 2, "input_scale": MIN_INPUT / 512, "shift_repeats": 2,
              "random_init_epochs": 2, "batch_size": 16, "alternatives": 1, "learning_rate": 1e-3,
              "bn_stats": "precise", "bn_samples": 0, "weights": "auto",
              "external_synthetic": {"cases": 200, "seed": 1}},
}


# Preset keys passed to TrainConfig when present (else TrainConfig's defaults), by
# d2tl.training.config.preset_base, the configuration every preset starts from.
TRAIN_SETTINGS = ("learning_rate", "schedule", "optimizer", "bn_stats", "bn_samples")


def preset(name: str) -> dict:
    try:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in PRESETS[name].items()}
    except KeyError:
        raise D2TLError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


# The options every training command takes to deviate from its preset: option -> settings key.
OVERRIDES = {"--runs": "runs", "--epochs": "epochs", "--batch-size": "batch_size", "--learning-rate": "learning_rate"}


def with_overrides(settings: dict, given: dict) -> tuple[dict, dict]:
    """``settings`` with ``given`` (settings key -> value, None for not given) in place of the
    preset's values, and the deviations: key -> ``{"preset": value, "used": value}`` (a value
    equal to the preset's is no deviation). ``epochs`` scales ``random_init_epochs`` by the same
    factor, so the random-initialisation study keeps its ratio to the others (paper: 200 / 100;
    reduced presets: 1, which keeps its ImageNet arm the default configuration)."""
    settings, deviations = dict(settings), {}
    for key, value in given.items():
        if value is None or value == settings[key]:
            continue
        scaled = max(1, round(settings["random_init_epochs"] * value / settings["epochs"])) if key == "epochs" else None
        deviations[key] = {"preset": settings[key], "used": value}
        settings[key] = value
        if scaled is not None and scaled != settings["random_init_epochs"]:
            deviations["random_init_epochs"] = {"preset": settings["random_init_epochs"], "used": scaled}
            settings["random_init_epochs"] = scaled
    return settings, deviations


def deviation_text(deviations: dict) -> str:
    """``epochs 50 (preset 100), batch size 8 (preset 16)``."""
    return ", ".join(f"{key.replace('_', ' ')} {d['used']:g} (preset {d['preset']:g})"
                     for key, d in deviations.items())
