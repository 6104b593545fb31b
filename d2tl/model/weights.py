"""Which InceptionV3 weights a configuration starts from, resolved once and identified by hash.

A configuration names its weights with a word or a path (``ModelConfig.weights``):

- ``imagenet``: Keras's published ImageNet file for InceptionV3 without its top, from Keras's
  cache (``$KERAS_HOME/models/``, default ``~/.keras/models/``) or downloaded there by Keras. The
  file must match its published MD5 (:data:`IMAGENET_MD5`, a parameter so a test can stand in a
  file it writes); a file that fails the check is an error naming it, never a fallback to random.
- ``random``: Keras's random initialisation under the run's seed.
- a path: a weights file of InceptionV3 without its top, identified by its SHA-256.
- ``fractal`` (or ``fractal:SCALE``): InceptionV3 pre-trained on formula-generated images by
  ``python -m d2tl pretrain`` (:mod:`d2tl.pretrain.store`), identified by its SHA-256 and named
  by its recipe hash; refused, with the command that makes it, until it has been made. A path to
  such a file (its sidecar beside it) resolves to the same ``fractal`` weights.
- ``synthetic``: InceptionV3 pre-trained on synthetic CEDM ROIs with proxy labels that are not
  the diagnosis (``python -m d2tl pretrain --source synthetic``, :mod:`d2tl.pretrain.synthetic_train`),
  identified and refused the same way.
- ``auto`` (reduced presets only): ImageNet when its file is there and valid, else random, said
  loudly.

Each word is an entry of one registry, :data:`SOURCES` (like timm's ``register_model``): this
module registers ``random``, ``imagenet``, ``auto`` and ``file`` (any path); a pre-training
recipe registers its own source (``fractal``, ``synthetic``: :mod:`d2tl.pretrain.sources`, run
when :mod:`d2tl.pretrain.sources` is imported), so the model never imports a recipe. A command resolves
its weights once through :func:`d2tl.training.run_folder.resolve_weights`, which imports them.

What enters a configuration's hash is :attr:`Weights.identity`, never the word: ImageNet is its
published MD5 (so a plan or dry run on a machine without the file names the same configurations
as a cluster that has it), a file is its SHA-256, random is ``random``. A folder trained from
random under ``auto`` is therefore never reused once ImageNet is there.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
import hashlib
import os
import sys
from pathlib import Path

from ..io.errors import D2TLError

# Keras's own ImageNet file for InceptionV3 without its top (keras.applications.inception_v3).
IMAGENET_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + IMAGENET_FILE
IMAGENET_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"  # as published in keras.applications.inception_v3


@dataclasses.dataclass(frozen=True)
class Weights:
    """A resolved weights source: ``kind`` imagenet | fractal | synthetic | file | random."""

    kind: str
    path: str | None = None
    digest: str | None = None  # "md5:..." for ImageNet (published), "sha256:..." for a file
    note: str = ""  # e.g. why ``auto`` gave random; a fractal file's recipe

    @property
    def argument(self) -> str | None:
        """What ``keras.applications.InceptionV3(weights=...)`` takes."""
        return self.path

    @property
    def identity(self) -> str:
        """What a configuration hash holds for these weights."""
        return "random" if self.kind == "random" else f"{self.kind} {self.digest}"

    def require(self) -> Weights:
        """These weights, when there is a file to start from (or none is needed); an error when
        ImageNet was only identified (:func:`d2tl.training.run_folder.resolve_weights`)."""
        if self.kind == "imagenet" and self.path is None:
            raise _missing_imagenet()
        return self

    @property
    def description(self) -> str:
        """The human-readable source written into every output (starts with ``random`` when random)."""
        if self.kind == "random":
            return f"random ({self.note})" if self.note else "random"
        return f"{self.kind} ({self.note + '; ' if self.note else ''}{self.path}, {self.digest})"


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded files: ``$KERAS_HOME`` or ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def imagenet_target() -> Path:
    """Where the ImageNet file is looked for (and where a user puts it)."""
    return keras_cache_dir() / "models" / IMAGENET_FILE


def file_digest(path, algorithm: str = "sha256") -> str:
    """``"<algorithm>:<hex>"`` of a file, read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{algorithm}:{h.hexdigest()}"


@functools.lru_cache(maxsize=8)
def _md5_of(path: str, size: int, mtime_ns: int) -> str:
    """The file's MD5 digest, memoised by path, size and modification time: a large file is
    hashed once per process (a pure function of the file, not state)."""
    return file_digest(path, "md5")


def _check_imagenet(path: Path, expected_md5: str) -> None:
    stat = path.stat()
    found = _md5_of(str(path), stat.st_size, stat.st_mtime_ns)
    if found != f"md5:{expected_md5}":
        raise D2TLError(f"ImageNet weights file {path} fails its hash check ({found}, expected md5:{expected_md5}): "
                        f"it is damaged or not Keras's {IMAGENET_FILE}. Replace it with a fresh download of "
                        f"{IMAGENET_URL}, or pass --weights random or --weights PATH explicitly")


def find_imagenet(expected_md5: str = IMAGENET_MD5) -> Path | None:
    """The checked ImageNet file, or None when it is not there and cannot be downloaded.

    A cached file is checked here, not by ``keras.utils.get_file`` (which would try to download
    over a bad file, and offline turn a damaged file into "unavailable").
    """
    target = imagenet_target()
    if not target.is_file():
        try:
            import keras

            keras.utils.get_file(IMAGENET_FILE, IMAGENET_URL, cache_subdir="models", file_hash=expected_md5)
        except Exception:  # urllib, HTTP and hash errors all mean "not available here"
            return None
        if not target.is_file():
            return None
    _check_imagenet(target, expected_md5)
    return target


def _missing_imagenet() -> D2TLError:
    return D2TLError(f"ImageNet weights for InceptionV3 are not available: put Keras's {IMAGENET_FILE} "
                     f"(from {IMAGENET_URL}) at {imagenet_target()} (or set KERAS_HOME), or pass --weights PATH "
                     "to that file, or --weights random")


@dataclasses.dataclass(frozen=True)
class Source:
    """One entry of the weights registry. ``resolve(spec, expected_md5, warn) -> Weights`` serves
    the spec ``name`` (and ``name:ARGUMENT`` when ``argument``); ``recognise(path, sha256) ->
    (kind, note) | None`` names a file of this source that is given by its path."""

    name: str
    resolve: Callable
    argument: bool = False
    recognise: Callable | None = None

    def serves(self, spec: str) -> bool:
        return spec == self.name or (self.argument and spec.startswith(self.name + ":"))


def register(name: str, resolve, argument: bool = False, recognise=None) -> Source:
    """Add the weights source ``name`` to :data:`SOURCES` (see :class:`Source`)."""
    SOURCES[name] = Source(name, resolve, argument, recognise)
    return SOURCES[name]


def resolve(spec: str, expected_md5: str = IMAGENET_MD5, warn=True) -> Weights:
    """The weights ``spec`` gives on this machine (see the module docstring); checks every file.
    A word no registered source serves is a path (the ``file`` source)."""
    source = next((s for s in SOURCES.values() if s.serves(spec)), SOURCES["file"])
    return source.resolve(spec, expected_md5, warn)


def _random(spec: str, expected_md5: str, warn: bool) -> Weights:
    return Weights("random")


def _imagenet(spec: str, expected_md5: str, warn: bool) -> Weights:
    """``imagenet``: the checked file or an error; ``auto``: the file, else random, said loudly."""
    path = find_imagenet(expected_md5)
    if path is not None:
        return Weights("imagenet", str(path), f"md5:{expected_md5}")
    if spec == "imagenet":
        raise _missing_imagenet()
    if warn:
        print(f"WARNING: --weights auto: using RANDOM initialisation, not ImageNet. {_missing_imagenet()}",
              file=sys.stderr, flush=True)
    return Weights("random", note="auto: ImageNet weights unavailable")


def _file(spec: str, expected_md5: str, warn: bool) -> Weights:
    """A weights file by path, identified by its SHA-256; a registered source that recognises it
    (a finished pre-training's sidecar) names its kind."""
    path = Path(spec).expanduser()
    if not path.is_file():
        words = ", ".join(name for name in SOURCES if name != "file")
        raise D2TLError(f"weights file {path} does not exist (use {words} or a path)")
    digest = file_digest(path)
    found = (s.recognise(path, digest) for s in SOURCES.values() if s.recognise is not None)
    kind, note = next((f for f in found if f is not None), ("file", ""))
    return Weights(kind, str(path.resolve()), digest, note)


# filled at import time only: these four here, the pre-trained ones by d2tl/pretrain/sources.py
SOURCES: dict[str, Source] = {s.name: s for s in (Source("imagenet", _imagenet), Source("random", _random),
                                                   Source("auto", _imagenet), Source("file", _file))}


def identity(spec: str, expected_md5: str = IMAGENET_MD5) -> str:
    """:attr:`Weights.identity` of ``spec`` without needing the ImageNet file for ``imagenet``
    (plans and dry runs); ``auto`` depends on whether this machine has the file."""
    if spec == "imagenet":
        return f"imagenet md5:{expected_md5}"
    return resolve(spec, expected_md5, warn=False).identity


def check_allowed(spec: str, preset: str) -> None:
    """``auto`` is for reduced presets: a paper run names its weights."""
    if spec == "auto" and preset == "paper":
        raise D2TLError("--weights auto is for reduced presets only; the paper preset starts from imagenet "
                        "(or name --weights random or --weights PATH explicitly)")
