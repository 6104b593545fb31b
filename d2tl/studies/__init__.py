"""Studies beyond the paper: what the paper's protocol does not measure but a reader needs.

- :mod:`~d2tl.studies.transfer`: the default configuration from synthetic-pre-trained,
  formula-pre-trained and random weights, compared in pairs on the external set.
- :mod:`~d2tl.studies.transfer_command`: ``python -m d2tl transfer`` (experiments/transfer.py).
- :mod:`~d2tl.studies.scaling`: the default configuration against the number of training
  patients, and the positive control (``python -m d2tl data-scaling``, experiments/positive_control.py).
- :mod:`~d2tl.studies.box_signal`: where a synthetic set's class signal is lost before the box.
- :mod:`~d2tl.studies.records`: finished arms kept as committed records, so a study resumes anywhere.
"""
