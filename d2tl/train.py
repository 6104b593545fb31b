# SHIM (issue 16): moved to d2tl.training.experiment (and .arguments, .loop, .data, .engine, .seeding); removed by the coordinator at merge
"""Old import path of the training protocol and of ``python -m d2tl train`` (see :mod:`d2tl.training`)."""

from .training.arguments import add_arguments, config_from_args, log_to_stdout, run  # noqa: F401
from .training.data import Arrays, Data, prepare_data  # noqa: F401
from .training.experiment import FINISHED, finish, hashed_config, run_dir_for, run_experiment  # noqa: F401
from .training.loop import bn_sample, predict_proba, train_run  # noqa: F401
from .training.seeding import seed_everything
from .training.selection import better, select_best  # noqa: F401


def _seed_everything(seed: int, deterministic: bool) -> None:
    """Seed one run as a fresh process's first run did (TensorFlow's global seed included)."""
    seed_everything(seed, deterministic, seed_tensorflow=True)


def compiled_model(config, total_steps: int):
    """``config``'s compiled model in a fresh engine (:meth:`d2tl.training.engine.Engine.compiled_model`)."""
    from .training.engine import Engine

    return Engine().compiled_model(config, total_steps)


def weights_only(model):
    """An uncompiled view of ``model`` to save and load (:meth:`d2tl.training.engine.Engine.weights_only`)."""
    from .training.engine import Engine

    return Engine().weights_only(model)
