"""Studies beyond the paper: what the paper's protocol does not measure but a reader needs.

- :mod:`~d2tl.studies.transfer`: the default configuration from synthetic-pre-trained,
  formula-pre-trained and random weights, compared in pairs on the external set.
- :mod:`~d2tl.studies.transfer_command`: ``python -m d2tl transfer`` (experiments/transfer.py).
"""
