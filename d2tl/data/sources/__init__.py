"""Data sources: each turns its own kind of input into a case table (:mod:`d2tl.data.cases`).

:mod:`.synthetic` generates the built-in phantom set, :mod:`.cddcesm` adapts a CDD-CESM download,
:mod:`.dicom` reads a folder of CEDM DICOM files with a label CSV.
"""
