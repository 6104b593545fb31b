# SHIM (issue 16): moved to d2tl.data.sources.synthetic; removed by the coordinator at merge
"""Old path of :mod:`d2tl.data.sources.synthetic` (cli.py's ``synth``, d2tl/external.py, tests outside d2tl/data)."""

from .sources.synthetic import GENERATOR, SynthConfig, add_arguments, run, write_dataset  # noqa: F401
