"""Pixel influence, eq. (2) of the paper (Sec. 3.4): w = d f / d X at a patient's four ROIs X0.

f is the malignant softmax score. |w| is shown as a colour map beside each image, on one colour
scale per patient so the four images can be compared (the paper: "influential pixels
concentrate on the tumour mass, in particular on the recombined-MLO and LE-CC sub-images").
This is the "vanilla gradient" saliency of Simonyan et al. (2013); tf-keras-vis's ``Saliency``
computes the same thing but needs tf-keras (Keras 2), so it is written here on
:func:`d2tl.interpret.gradients.value_and_grad` (TensorFlow or JAX).
"""

from __future__ import annotations

import numpy as np

from .gradients import numpy, tensor, value_and_grad
from .inputs import MALIGNANT, as_batch
from ..protocol.views import IMAGES


def pixel_influence(model, images: dict, class_index: int = MALIGNANT) -> tuple[dict, np.ndarray]:
    """Eq. (2): w = d f / d X for each case of the batch, and the scores f.

    Returns ({key: (n, s, s) signed gradients}, (n,) scores of ``class_index``). Cases are
    independent in inference mode, so the gradient of the summed scores gives every case's own
    gradient in one pass. An input the output does not depend on gets an exactly zero map.
    """
    import keras

    x = {k: tensor(v) for k, v in as_batch(images).items()}

    def summed_score(inputs):
        score = model(inputs, training=False)[:, class_index]
        return keras.ops.sum(score), score

    score, grads = value_and_grad(summed_score, x)
    return {k: numpy(grads[k])[..., 0] for k in IMAGES}, numpy(score)
