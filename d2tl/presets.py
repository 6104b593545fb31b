"""Presets: ``paper`` is the full protocol (for a GPU); ``quick`` runs the same code path with
fewer runs, epochs and repeats and smaller inputs, so the whole suite fits a 2-core CPU.

Every output records its preset; quick numbers are never paper numbers.

Why ``quick`` is what it is (``experiments/run_all.py --preset quick`` must finish in about
15 minutes on 2 CPU cores, where compiling the training step of a new model graph costs about
two minutes and a training step at 75 px one to three seconds):

- ``input_scale`` = 75/512: every box, 64 to 512 px, becomes InceptionV3's smallest input (75 px),
  so all dual-mode, full-tune configurations (four box sizes, every shift, the D2TL side of the
  pooling and tuning comparisons, both initialisations) share one compiled graph. The price:
  the box-size study then compares fields of view at equal input resolution, and its training
  times no longer grow with the box.
- ``alternatives`` = 1 augmented copy per image instead of 5: an epoch is a fifth as long.
- 1 run x 2 epochs, 2 repeats per shift (the fewest that give a p-value), and the random-init
  study at the same 2 epochs, so its ImageNet arm is the default configuration, trained once.
"""

from .errors import D2TLError
from .paper import AUGMENTATION, EPOCHS, MIN_INPUT, RANDOM_INIT_EPOCHS, RUNS, SHIFT_REPEATS

PRESETS = {
    "paper": {"runs": RUNS, "epochs": EPOCHS, "input_scale": 1.0, "shift_repeats": SHIFT_REPEATS,
              "random_init_epochs": RANDOM_INIT_EPOCHS, "batch_size": 16,
              "alternatives": AUGMENTATION["alternatives"]},
    "quick": {"runs": 1, "epochs": 2, "input_scale": MIN_INPUT / 512, "shift_repeats": 2,
              "random_init_epochs": 2, "batch_size": 16, "alternatives": 1},
}


def preset(name: str) -> dict:
    try:
        return dict(PRESETS[name])
    except KeyError:
        raise D2TLError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
