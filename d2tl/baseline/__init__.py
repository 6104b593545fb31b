"""The conventional baseline of Sec. 4.6: texture and shape features of the segmented lesion,
GLM-LASSO / SVM / random forest chosen on the same split as D2TL, with an intensity-only
control, perturbed (hand-drawn-like) masks beside the exact ones, and an optional external set.

Modules: :mod:`.features` (texture and shape features of a case, cached per case),
:mod:`.texture` (the GLCM, Haralick, LBP and Gabor families), :mod:`.shape` (compactness,
radial ratio, radial entropy, bending energy; mask perturbation), :mod:`.intensity`
(brightness statistics of the intensity-only control), :mod:`.classify` (pipelines,
validation-set selection, metrics), :mod:`.external` (intervals, external set,
:func:`best_external_baseline`), :mod:`.report` (table, Markdown, figure), :mod:`.d2tl_result`
(D2TL's result on the same split), :mod:`.experiment` (the experiment), :mod:`.result_files` (the files of its folder) and
:mod:`.run` (its documentation and the ``python -m d2tl baseline`` command).
"""

from .classify import MODELS, binary_metrics, make_pipeline, select_and_fit  # noqa: F401
from .external import best_external_baseline  # noqa: F401
from .features import FeatureConfig, case_features, extract_features, image_features  # noqa: F401
from .shape import MaskPerturbation, ShapeConfig, shape_features  # noqa: F401
