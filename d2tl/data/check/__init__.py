"""``python -m d2tl check-data CASES.csv [--split SPLIT.csv]``: a data set's integrity check.

In the spirit of nnU-Net's dataset integrity check: before any training, read *every* image
(decoding its pixels, not only its header) and list every problem found, not only the first:

* each row: id present and unique, person (group) present, label benign/malignant,
  laterality L/R, scale a positive number, box centres numbers, image paths present;
* each image: the file exists and decodes; it is not blank (all one value);
* each view: LE, recombined (or HE) and mask have one size; the box centre lies inside the
  image and inside the breast -- within ``tolerance`` full-resolution px (default 10) of a
  LE pixel above the LE image's air/breast threshold (:func:`breast_threshold`: Otsu, on a
  log scale where that is lower), i.e. not in the background air; a mask, when given, is
  not empty;
* one breast (person and laterality) in two cases with different labels (accepted, and
  listed apart, with ``--allow-two-labels-per-breast``: two lesions of one breast);
* with ``--split``: every case in exactly one part (train/val/test), no person in two parts;
* each DICOM image (:mod:`d2tl.data.dicom_tags`): its Image Type names at most one role, and
  that role (or, failing it, the kVp's) and its view agree with its column; ViewPosition and
  View Code Sequence agree; FOR PROCESSING and FOR PRESENTATION images are not mixed (unless
  ``--mixed-intent``). The summary counts which conventions the files follow (Image Type
  standard / vendor alias / kVp fallback, view source, pixel spacing, presentation intent)
  and lists cases whose ``scale`` differs from 0.07 mm / their pixel pitch.

Prints a summary (cases per label, persons, lateralities, image sizes and bit depths per
image, masks, high-energy views, what was skipped and why, and the counts a CDD-CESM adapter
report beside the table left out), then every problem. Exit status 0 when clean, 1 when
there are problems; an unreadable case table or split file is bad input (one-line error,
exit 2).

Modules: :mod:`.integrity` (rows and images: :func:`check_cases`), :mod:`.duplicates` (images
used twice, one breast with two labels), :mod:`.dicom_conventions` (DICOM tags),
:mod:`.split_check` (``--split``), :mod:`.summary` (the printed summary), :mod:`.command`
(``python -m d2tl check-data``).
"""

from __future__ import annotations

from ..breast import breast_threshold, in_breast  # noqa: F401  (the box-centre test, as before)
from .command import add_arguments, run  # noqa: F401
from .integrity import DEFAULT_TOLERANCE, CheckResult, bit_depth, check_cases  # noqa: F401
from .split_check import PARTS  # noqa: F401
from .summary import format_summary  # noqa: F401
