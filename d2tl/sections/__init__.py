"""The paper's experiments, Sec. 4.1-4.4, as library code behind ``experiments/<section>.py``:
one file per section (:mod:`.box_size`, :mod:`.box_shift`, :mod:`.pooling`, :mod:`.tuning`,
:mod:`.random_init`), each a :class:`~.spec.Section` (plan, analysis, figure, the paper's section,
figure, title and numbers), listed in :mod:`.registry`; the conventional baseline (Sec. 4.6) and
the interpretation (Sec. 4.5) as :mod:`.baseline` and :mod:`.interpretation`.

A section's configurations are trained with :func:`d2tl.training.experiment.run_experiment` (or read back) in
one :class:`~.context.Context` per process, analysed, and written to ``OUT/<section>/`` by
:mod:`d2tl.reporting` (:mod:`.run`). Sections, with what each varies from the default
configuration (:meth:`Context.base`):

=============  ===========================================================================
box_size       box 64, 128, 256, 512 px (Sec. 4.1, Fig. 7)
box_shift      box centre moved 10, 20, 40 px in a random direction shared by a view's two
               images, ``shift_repeats`` new directions each (``shift_seed`` = repeat); the
               original placement is the default (Sec. 4.2, Fig. 8)
pooling        simple pooling (one InceptionV3 for all four images) vs dual-mode (Sec. 4.3, Fig. 9)
tuning         semi-tune (only the three dense layers) vs full-tune (Sec. 4.4, Fig. 10)
random_init    ImageNet vs formula-pre-trained vs random initialisation, full-tune,
               ``random_init_epochs`` (Sec. 4.4; arms in :mod:`d2tl.sections.init_arms`)
=============  ===========================================================================

This package's names below are its public entry points (``from d2tl import sections``).
"""

from __future__ import annotations

from .box_shift import repeat_seed
from .command import add_arguments, make_context
from .context import CACHE_FOLDER, RUNS_FOLDER, Context, Record
from .estimate import measure_forward
from .plan_print import print_plan
from .planned import Planned
from .registry import FIGURES, INFO, ORDER, SECTIONS, get, plan
from .result import SectionResult
from .run import check_folder, run_section

__all__ = ["CACHE_FOLDER", "FIGURES", "INFO", "ORDER", "RUNS_FOLDER", "SECTIONS", "Context", "Planned", "Record",
           "SectionResult", "add_arguments", "check_folder", "get", "make_context", "measure_forward", "plan",
           "print_plan", "repeat_seed", "run_section"]
