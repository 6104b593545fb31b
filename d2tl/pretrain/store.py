"""Formula-driven pre-training recipes and their store, ``results/pretrain/<recipe hash>/``.

A recipe says everything that makes a pre-trained InceptionV3 (image set, training, generator
constants of :mod:`d2tl.pretrain.fractaldb`); its hash names the folder, so a finished recipe is found,
never trained again. This module needs neither Keras nor the weights: :mod:`d2tl.model.weights` uses it
to resolve ``--weights fractal`` and to recognise a pre-trained file given by path.

Scales (``python -m d2tl pretrain --scale NAME``; any option overrides one value):

- ``cpu`` (the default, what ``--weights fractal`` means): 40 classes x 100 images, 75 px (the
  quick preset's input side), 8 epochs; 45 min on this project's 2-core CPU, measured with other
  jobs sharing it (docs/pretrain.md).
- ``fractaldb-100``: 100 classes x 1,000 images, 128 px, 30 epochs: for one GPU.
- ``fractaldb-1k``: FractalDB-1k, 1,000 classes x 1,000 images, 224 px, 90 epochs (the FractalDB
  paper's size and schedule): for a GPU node; ``--weights fractal:fractaldb-1k`` then uses it.

The store is ``$D2TL_PRETRAIN_STORE``, or ``results/pretrain`` under the working directory.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..io.errors import D2TLError
from ..io.provenance import config_hash

STORE_ENV = "D2TL_PRETRAIN_STORE"
DEFAULT_STORE = "results/pretrain"
WEIGHTS_FILE = "inception_v3_fractal_notop.weights.h5"  # Keras 3 wants ".weights.h5"
SIDECAR = "pretrain.json"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One pre-training: ``classes`` x ``per_class`` images of ``side`` px from ``seed``, trained
    for ``epochs`` with Adam at ``learning_rate`` (cosine decay) in batches of ``batch_size``."""

    classes: int = 40
    per_class: int = 100
    side: int = 75
    epochs: int = 8
    seed: int = 0
    batch_size: int = 32
    learning_rate: float = 1e-3

    def __post_init__(self):
        for name in ("classes", "per_class", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise D2TLError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be at least 1")
        if self.classes < 2:
            raise D2TLError(f"--classes {self.classes}: pre-training needs at least 2 classes")
        if self.side < 75:
            raise D2TLError(f"--side {self.side}: InceptionV3 needs at least 75 px")
        if not self.learning_rate > 0:
            raise D2TLError(f"--lr {self.learning_rate}: must be positive")

    def to_dict(self) -> dict:
        """The recipe as hashed: its fields and the generator's constants."""
        from . import fractaldb

        return {**dataclasses.asdict(self), "model": "InceptionV3(include_top=False, pooling=avg) + dense softmax",
                "input": "grey, repeated to 3 channels, [0, 1] -> [-1, 1] (as d2tl.model)",
                "optimizer": "adam, cosine decay", "images": fractaldb.settings()}

    @property
    def hash(self) -> str:
        return config_hash(self.to_dict())

    @property
    def weights_file(self) -> str:
        return WEIGHTS_FILE

    def describe(self) -> str:
        return (f"FractalDB-style recipe {self.hash}: {self.classes} classes x {self.per_class} images, "
                f"{self.side} px, {self.epochs} epochs, seed {self.seed}")

    def command(self) -> str:
        """The exact command that makes this recipe's weights."""
        default = Recipe()
        parts = ["python -m d2tl pretrain"]
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value != getattr(default, field.name):
                flag = "--lr" if field.name == "learning_rate" else f"--{field.name.replace('_', '-')}"
                parts.append(f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
        return " ".join(parts)


SCALES = {
    "cpu": Recipe(),
    "fractaldb-100": Recipe(classes=100, per_class=1000, side=128, epochs=30, batch_size=128),
    "fractaldb-1k": Recipe(classes=1000, per_class=1000, side=224, epochs=90, batch_size=256),
}


def scale(name: str) -> Recipe:
    try:
        return SCALES[name]
    except KeyError:
        raise D2TLError(f"pre-training scale {name!r} is not one of {', '.join(SCALES)}") from None


def store_root() -> Path:
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def folder(recipe: Recipe, root=None) -> Path:
    return Path(root or store_root()) / recipe.hash


def finished(recipe, root=None) -> Path | None:
    """The weights file of ``recipe`` (a formula or a synthetic-source recipe) when its
    pre-training has finished (its sidecar written)."""
    where = folder(recipe, root)
    if (where / SIDECAR).is_file() and (where / recipe.weights_file).is_file():
        return where / recipe.weights_file
    return None


def read_sidecar(weights_path) -> dict | None:
    """The sidecar beside a pre-trained weights file, or None when there is none (any other file)."""
    from .synthetic_recipe import WEIGHTS_FILE as SYNTHETIC_WEIGHTS_FILE

    path = Path(weights_path).with_name(SIDECAR)
    if Path(weights_path).name not in (WEIGHTS_FILE, SYNTHETIC_WEIGHTS_FILE) or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise D2TLError(f"pre-training sidecar {path} is not valid JSON ({exc})") from None


def spec_recipe(spec: str) -> Recipe:
    """The recipe of a weights spec ``fractal`` (the ``cpu`` scale) or ``fractal:SCALE``."""
    name = spec.partition(":")[2] or "cpu"
    return scale(name)


def resolve_fractal(spec: str, digest) -> tuple[str, str, str]:
    """(path, sha256 digest, description) of ``fractal`` / ``fractal:SCALE``; refuses, naming the
    command that makes the file, when it has not been made (pre-training never starts here).
    ``digest``: d2tl.model.weights.file_digest."""
    recipe = spec_recipe(spec)
    path = finished(recipe)
    if path is None:
        raise D2TLError(f"--weights {spec}: no pre-trained file for {recipe.describe()} in "
                        f"{folder(recipe)}; make it first (45 min at the cpu scale on 2 CPU cores) with: {recipe.command()}"
                        f" (or set {STORE_ENV} to the store that holds it)")
    return str(path.resolve()), digest(path), recipe.describe()


def resolve_synthetic(spec: str, digest) -> tuple[str, str, str]:
    """(path, sha256 digest, description) of ``synthetic`` (the default synthetic-source recipe);
    refuses, naming the command that makes the file, when it has not been made."""
    from .synthetic_recipe import SyntheticRecipe

    if spec != "synthetic":
        raise D2TLError(f"--weights {spec}: the synthetic source has one named recipe, 'synthetic'; "
                        "pass another recipe's weights file by its path")
    recipe = SyntheticRecipe()
    path = finished(recipe)
    if path is None:
        raise D2TLError(f"--weights synthetic: no pre-trained file for {recipe.describe()} in {folder(recipe)}; "
                        f"make it first with: {recipe.command()} (or set {STORE_ENV} to the store that holds it)")
    return str(path.resolve()), digest(path), recipe.describe()


def recognise(path, found_digest: str) -> tuple[str, str] | None:
    """(kind ``fractal`` or ``synthetic``, description) of a weights file given by path when it is
    a finished pre-training whose sidecar names this very file (its SHA-256), else None."""
    sidecar = read_sidecar(path)
    if not sidecar or sidecar.get("weights_sha256") != found_digest:
        return None
    kind = "synthetic" if sidecar.get("recipe", {}).get("source") == "synthetic" else "fractal"
    return kind, sidecar.get("description") or f"FractalDB-style recipe {sidecar.get('recipe_hash')}"
