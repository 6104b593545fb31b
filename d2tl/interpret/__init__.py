"""Interpretation of a trained D2TL model (Sec. 3.4, 4.5 of the paper), one job per module:

- :mod:`.gradients`: input gradients on TensorFlow (``tf.GradientTape``) or JAX (``jax.value_and_grad``);
- :mod:`.inputs`: a case's four ROIs and lesion masks, cut exactly as for training;
- :mod:`.influence`: eq. (2), pixel influence w = d f / d X;
- :mod:`.gradcam`: Grad-CAM at a backbone layer (beyond the paper);
- :mod:`.representation`: eq. (1), class representations by gradient descent on the input;
- :mod:`.explanation`: influence and Grad-CAM of a batch of cases together;
- :mod:`.lesion_check`: the share of each map inside the lesion, against the lesion's area;
- :mod:`.figures`: Fig. 11 and the layout of Figs. 12/13;
- :mod:`.experiment`: the whole interpretation experiment of one model, written to one folder;
- :mod:`.experiment_args`: its command-line arguments (``experiments/interpretation.py``);
- :mod:`.command`: ``python -m d2tl explain``, the maps of one case.

f is always the malignant softmax score (index 1) of a model saved by ``d2tl train``.
"""
