# SHIM (issue 16): moved to d2tl.data.sources.cddcesm; removed by the coordinator at merge
"""Old path of :mod:`d2tl.data.sources.cddcesm` (cli.py's ``cdd-cesm``)."""

from .sources.cddcesm import add_arguments, run  # noqa: F401
