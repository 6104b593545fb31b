"""Training: data preparation, the run loop, the protocol per configuration, the engine that
keeps compiled models, the cached-feature path, run state and leases, and ``python -m d2tl train``.

Modules: :mod:`~d2tl.training.data` (split, ROIs, augmentation), :mod:`~d2tl.training.selection`
(best checkpoint), :mod:`~d2tl.training.loop` (one run), :mod:`~d2tl.training.experiment`
(runs x epochs, resumable), :mod:`~d2tl.training.engine` (compiled models and caches),
:mod:`~d2tl.training.features` (semi-tune on cached features), :mod:`~d2tl.model.seeding`,
:mod:`~d2tl.training.optimizers`, :mod:`~d2tl.training.run_state`, :mod:`~d2tl.training.lease`,
:mod:`~d2tl.training.arg_checks`, :mod:`~d2tl.training.arguments` (the command),
:mod:`~d2tl.training.compare` (cached features against end to end).
"""
