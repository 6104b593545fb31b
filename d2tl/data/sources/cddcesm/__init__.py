"""CDD-CESM, the public CEDM data set closest to the paper's, as a case table.

CDD-CESM (Khaled R. et al., "Categorized contrast enhanced mammography dataset for diagnostic
and artificial intelligence research", Scientific Data 9, 122 (2022); The Cancer Imaging
Archive, DOI 10.7937/29kw-ae92; CC BY 4.0). What a download holds (folder names as TCIA gives
them; they may sit one or two folders deep under the folder given as ``--root``)::

    Low energy images of CDD-CESM/        P1_L_DM_MLO.jpg ...  (DM = low energy, LE)
    Subtracted images of CDD-CESM/        P1_L_CM_MLO.jpg ...  (CM = subtracted = recombined)
    Radiology-manual-annotations.xlsx     sheet "all": one row per image, with its pathology
    Radiology_hand_drawn_segmentations_v2.csv   VGG Image Annotator export of lesion outlines

The rules below are the adapter's readings; each is a named option (``BuildOptions``).

* **Case** = one breast (patient + side) whose four images (DM-CC, DM-MLO, CM-CC, CM-MLO) are
  all listed in the spreadsheet and found on disk. ``id`` is ``P<n>_<side>``, ``group`` is
  the patient ``P<n>``: some patients have one benign and one malignant breast, and a split
  must never put a person on both sides. Laterality comes from the image name (checked
  against the ``Side`` column). ``scale`` is 1.
* **Label** (``label_rule``): ``any`` (default) -- malignant if any of the breast's images is
  malignant, else benign if any is benign, else normal; ``subtracted`` -- the same on the
  two CM images only; ``all`` -- all four images must carry the same label (breasts whose
  images disagree are left out). Normal breasts are left out of the benign-vs-malignant task
  and counted in the report.
* **Box centre** of a view: from the lesion outlines of the view's CM image
  (``outline_source="cm"``, default), reused for the DM image of that view;
  ``cm-then-dm`` falls back to the DM image's outline, moved into the CM image's frame.
  Of several outlines on an image, ``region`` picks the ``largest`` (default; area of the
  polygon, ellipse, circle or rectangle; a point has area 0, so any drawn outline beats a
  point) or the ``first`` (lowest ``region_id``). The centre is the centre of the region's
  enclosing axis-aligned rectangle (for an ellipse or circle, its centre; for a point, the
  point). A breast without an outline on a view is left out.
* **Lesion mask** per view, for the conventional baseline: the same region rasterised in the
  CM image's frame (``skimage.draw``: polygon, ellipse incl. VIA's ``theta``, disk, rectangle)
  and written as a 0/255 PNG under ``masks/`` beside the case table; ``mask_regions="all"``
  draws every outline of the image instead. A point carries no extent: its mask is a disc of
  ``point_radius`` px (default 10), a placeholder, not a segmentation.
* **Low energy vs subtracted frame**: the two JPEGs of one view are framed differently
  (different crops, hence different sizes; the outlines drawn on both differ by a pure
  translation, e.g. P6_L_MLO by (82, -96) px), while the case table needs one frame per view.
  ``align="register"`` (default) estimates the DM-to-CM translation from the breast's skin
  line (the boundary of the pixels above the air/breast threshold of ``check-data``;
  phase correlation of the skin-line edges at 1/4 resolution, refined at full
  resolution) and, where it is not zero or the sizes differ, writes the DM image moved into
  the CM frame as a PNG under ``le-aligned/`` (uncovered pixels 0 = air). The report lists
  every estimated offset, its score, and the offset implied by outlines drawn on both images
  where there are some. ``align="none"`` uses the JPEGs as they are and leaves out breasts
  whose DM and CM sizes differ.
* **Irregular names**: names are matched after removing surrounding spaces and a space
  before ``.jpg`` (``P3_L_CM_CC .jpg``, a trailing space in the spreadsheet). Several files
  for one image (``P99_L_DM_MLO.jpg`` and ``P99_L_DM_MLO_2.jpg``, ``P281_L_CM_MLO2.jpg``):
  ``duplicates="first"`` (default) takes the one without a copy number (else the lowest),
  which is the name the spreadsheet and the outlines use; ``last`` the highest copy number.
  In the current release both such breasts are normal, so the rule changes no case.
  Images listed but missing on disk are reported (their breasts are left out), not fatal.
* Segmentation coordinates are original JPEG pixels; a centre that falls outside its image
  is reported and the breast left out.

Writes ``cases.csv`` (via :func:`d2tl.data.cases.write_cases`), ``cases-report.json`` and
``cases-report.md`` beside it (every count and every left-out breast with its reason), and a
``dataset.json`` naming the data set for provenance.

Modules: :mod:`.options` (names and rules), :mod:`.names` (image names), :mod:`.annotations`
(the spreadsheet, labels), :mod:`.image_files` (the folders), :mod:`.outlines` (the
segmentation CSV), :mod:`.align` (LE into the CM frame), :mod:`.build` (the case table),
:mod:`.report` (the adapter's report), :mod:`.command` (``python -m d2tl cdd-cesm``).
"""

from __future__ import annotations

from .align import estimate_offset, move_into_frame  # noqa: F401
from .annotations import breast_label, read_annotations  # noqa: F401
from .build import Sources, build_cases  # noqa: F401
from .command import add_arguments, run  # noqa: F401
from .image_files import ImageFile, choose_file, index_images  # noqa: F401
from .names import ImageName, canonical_stem, parse_name  # noqa: F401
from .options import (ALIGN_MODES, ANNOTATIONS_PATTERN, CITATION, CM_FOLDER, DUPLICATE_RULES,  # noqa: F401
                      LABEL_RULES, LE_FOLDER, MASK_REGIONS, OUTLINE_SOURCES, REGION_RULES, SEGMENTATIONS_PATTERN,
                      SHEET, BuildOptions)
from .outlines import Region, choose_region, read_segmentations  # noqa: F401
from .report import report_markdown  # noqa: F401
