"""Data: files -> case table -> images -> ROI arrays, one way.

``sources/`` turns each kind of input into a case table (synthetic phantom, CDD-CESM, a DICOM
folder); ``case_columns``, ``case_rules`` and ``cases`` define, validate, read and write it;
``dicom_io``, ``dicom_tags``, ``images`` and ``breast`` read its images; ``check/`` is
check-data; ``roi``, ``roi_cache``, ``augment`` and ``split`` make the model's inputs;
``oracle`` gives the synthetic set's best possible accuracy.
"""
