"""The trained folder of a preset's default configuration (dual-mode, full-tune, default
weights, box 256 px, no shift: :func:`d2tl.training.config.preset_base`), found by its configuration
hash in the results store, ``OUT/runs/<hash>/``.

Interpretation (Sec. 4.5) and the conventional baseline (Sec. 4.6) compare against this model.
Looking it up by hash, never as the newest matching file, means a later run of another
configuration (another seed, preset, weights or learning rate) can never take its place; a
missing default is an error that names the hash and the command that trains it.
"""

from __future__ import annotations

from pathlib import Path

from ..io.errors import D2TLError


def default_folder(cases, preset: str, store) -> Path:
    """``store/<hash>`` of ``preset``'s default configuration on the case table ``cases``, with
    default execution settings (float32, no XLA, deterministic) and the default --gpu-memory, as
    the sections train it (:meth:`d2tl.sections.context.Context.directory`)."""
    from .run_folder import resolve_weights, run_folder
    from ..protocol.defaults import missing_cases_hint
    from ..protocol.presets import preset as preset_settings
    from .config import preset_base
    from .memory import MemoryModel
    from .memory_fit import DEFAULT_GPU_MEMORY, fit, parse_size

    if not Path(cases).is_file():
        raise D2TLError(f"case table {cases} does not exist{missing_cases_hint(cases)}")
    config = preset_base(preset_settings(preset), preset)
    config = fit(MemoryModel(), config, parse_size(DEFAULT_GPU_MEMORY), strict=False)
    return run_folder(config, resolve_weights(config.model.weights, locate=False), cases, store)


def train_command(cases, preset: str, store) -> str:
    """A command that trains the default configuration into ``store`` (``OUT/runs``): the
    pooling section, whose dual-mode arm is the default configuration."""
    return f"python experiments/pooling.py --preset {preset} --cases {cases} --out {Path(store).parent}"


def require_default(cases, preset: str, store, name: str = "model.keras") -> Path:
    """``default_folder(...) / name``; a :class:`D2TLError` naming the hash, the folder and the
    command to train it when that file is missing."""
    folder = default_folder(cases, preset, store)
    path = folder / name
    if not path.is_file():
        raise D2TLError(f"the {preset} preset's default configuration (dual-mode, full-tune, box 256 px, no shift; "
                        f"configuration hash {folder.name}) has no {name} in {folder}; train it with "
                        f"`{train_command(cases, preset, store)}`, or name a file explicitly")
    return path
