"""One's own CEDM data as DICOM files plus a small label CSV -> a case table.

Layout: any folder tree of DICOM files (``.dcm``/``.dicom``/``.ima``, or any file that starts
like DICOM), one file per image, plus a CSV with one row per case::

    patient,label,cc_x,cc_y,mlo_x,mlo_y[,laterality][,group][,id][,cc_mask_path,mlo_mask_path]
    ANON0001,malignant,812,1630,744,1702,L
    ANON0002,benign,455,990,501,1210

* ``patient`` matches the files' PatientID tag (``--patient-from folder``: the first folder
  under the DICOM folder instead); ``label`` is benign or malignant; box centres are in the
  view's stored pixel coordinates (x = column, y = row, as the file stores them, before the
  mirroring of right breasts); ``laterality`` (L/R) is needed only when a patient has images
  of both breasts; ``group`` (the person) and ``id`` default to a pseudonym of the patient,
  ``P0001``, ``P0002`` ... in the sorted order of the CSV's patients (``<pseudonym>_<L|R>`` when
  the patient has two rows): a PatientID is an identifier and must not reach results/. The
  mapping is written beside the case table (``<stem>-pseudonyms.csv``: patient, id, group),
  never under a ``results`` folder. ``keep_patient_id`` (``--keep-patient-id``) uses the
  patient itself instead, and says so loudly.
* Each file's role comes from its tags (:mod:`d2tl.data.dicom_tags`): view from ViewPosition
  or the View Code Sequence (CC, MLO; other views are ignored), laterality from
  ImageLaterality (or Laterality; the two must agree), mode from Image Type values 4 and 5
  (vendor aliases accepted, kVp as a reported fallback). A view needs one LE image and one
  recombined image; a high-energy image stands in for a missing recombined one (the
  recombined image is then computed on reading, see :func:`d2tl.data.images.recombine`).
* A case's ``scale`` is 0.07 mm / the images' pixel pitch (ImagerPixelSpacing, else
  PixelSpacing; 1 when neither is given). FOR PROCESSING and FOR PRESENTATION images are not
  mixed unless ``allow_mixed_intent`` (``--mixed-intent``).
* Every problem -- an unreadable file (empty, not DICOM, truncated pixel data), a patient
  whose four images cannot be identified (missing, duplicated, contradictory tags), a centre
  outside its image -- is collected, and all are raised together as one :class:`DataError`
  naming the patients and files.

Modules: :mod:`.scan` (the folder's files and their roles), :mod:`.labels` (the label CSV),
:mod:`.build` (the case table and the pseudonym mapping), :mod:`.command`
(``python -m d2tl from-dicom``).
"""

from __future__ import annotations

from .build import build_cases, case_scale, conventions, pseudonyms_path  # noqa: F401
from .command import add_arguments, run  # noqa: F401
from .labels import CSV_OPTIONAL, CSV_REQUIRED, read_label_csv  # noqa: F401
from .scan import DICOM_SUFFIXES, DicomImage, read_dicom_file, scan_folder  # noqa: F401
