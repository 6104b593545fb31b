# SHIM (issue 16): moved to d2tl.data.sources.dicom; removed by the coordinator at merge
"""Old path of :mod:`d2tl.data.sources.dicom` (cli.py's ``from-dicom``)."""

from .sources.dicom import add_arguments, run  # noqa: F401
