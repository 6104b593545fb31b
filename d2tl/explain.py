# SHIM (issue 16): moved to d2tl.interpret.command, d2tl.interpret.experiment, d2tl.interpret.experiment_args; removed by the coordinator at merge
"""Old path of ``python -m d2tl explain`` and of the interpretation experiment's entry points."""

from .interpret.command import add_arguments, explain_case, run  # noqa: F401  (d2tl.cli)
from .interpret.experiment import PRESET_SETTINGS, find_default_model, run_interpretation  # noqa: F401
from .interpret.experiment_args import add_experiment_arguments, run_experiment_args  # noqa: F401
