"""A run's folder, named from (configuration, resolved weights, case table), and the one way a
command resolves its weights, once, at its edge (docs/architecture.md).

Below a command, every function takes the resolved :class:`d2tl.model.weights.Weights`; nothing
resolves a weights word again.
"""

from __future__ import annotations

from pathlib import Path

from ..pretrain import sources  # noqa: F401  registers the fractal and synthetic weights sources
from ..io.provenance import config_hash, dataset_info
from ..model.weights import IMAGENET_MD5, Weights, resolve
from .config import ExperimentConfig


def resolve_weights(spec: str, expected_md5: str = IMAGENET_MD5, warn: bool = True,
                    locate: bool = True) -> Weights:
    """The weights ``spec`` gives on this machine, every registered source included. With
    ``locate`` false, ``imagenet`` is identified by its published hash without looking for its
    file (path None): enough to name a folder (a plan, a dry run, a finished result), and refused
    by training (:meth:`Weights.require`)."""
    if spec == "imagenet" and not locate:
        return Weights("imagenet", None, f"md5:{expected_md5}")
    return resolve(spec, expected_md5, warn)


def hashed_config(config: ExperimentConfig, weights: Weights) -> dict:
    """The configuration as its hash sees it: the weights word (``auto``, ``imagenet``, a path)
    replaced by the identity of the source it resolves to (:mod:`d2tl.model.weights`)."""
    d = config.to_dict()
    d["model"]["weights"] = weights.identity
    return d


def run_folder(config: ExperimentConfig, weights: Weights, cases_csv, store) -> Path:
    """``store/<hash of the configuration (weights by identity) and the case table's content>``:
    the one name of a configuration's folder (a repeated command finds and resumes it)."""
    key = {"config": hashed_config(config, weights), "cases_sha256": dataset_info(cases_csv)["cases_sha256"]}
    return Path(store) / config_hash(key)
