"""Grad-CAM (Selvaraju et al. 2017; beyond the paper) on d2tl's D2TL graph.

For image k, A = the activations of a backbone layer (default InceptionV3's last block
``mixed10``) on that image, alpha = spatial mean of d f / d A (f the malignant score),
map = ReLU(sum_channels alpha * A), bilinearly resized to the ROI. The backbones are nested
models, so :func:`gradcam_model` rebuilds the outer graph with the functional API from the
trained layers (shared weights), each backbone split at ``layer`` into "up to the layer" and
"the layer to the pooled output": one part maps the four ROIs to the four A, the other the four
A to the score, which is what the gradient is taken through (on TensorFlow or JAX).
Caution: ``mixed10`` is 1x1 for inputs under ~107 px (the quick preset's 77 px), where Grad-CAM
is a constant map and cannot localise; an earlier block (``mixed7``: 3x3 at 77 px, 14x14 at
256 px; ``mixed2``: 7x7 at 77 px) can be asked for with ``layer``.
"""

from __future__ import annotations

import numpy as np

from .gradients import numpy, tensor, value_and_grad
from .inputs import MALIGNANT, as_batch, input_shapes
from ..io.errors import D2TLError
from ..protocol.views import IMAGES, MODES, VIEWS, split_key

GRADCAM_LAYER = "mixed10"
FEATURES, HEAD = "gradcam_features", "gradcam_head"  # the two parts inside the Grad-CAM model


def _backbone_of(model) -> dict[str, str]:
    """Which backbone layer each image goes through, from :func:`d2tl.model.build_model`'s names."""
    names = {layer.name for layer in model.layers}
    for candidate in ({k: f"backbone_{split_key(k)[0]}" for k in IMAGES},  # dual_mode
                      {k: "backbone" for k in IMAGES},  # simple_pooling
                      {k: f"backbone_{k}" for k in IMAGES}):  # separate
        if set(candidate.values()) <= names:
            return candidate
    raise D2TLError("Grad-CAM needs a model built by d2tl.model.build_model (nested backbone layers "
                    f"named backbone_le/backbone_rec, backbone or backbone_<image>); this one has {sorted(names)}")


def _split_backbone(backbone, layer: str):
    """(ROI -> activations of ``layer``, activations -> pooled output): the backbone in two."""
    import keras

    try:
        feature = backbone.get_layer(layer).output
    except ValueError:
        raise D2TLError(f"Grad-CAM: backbone {backbone.name} has no layer {layer!r}") from None
    up = keras.Model(backbone.inputs, feature, name=f"{backbone.name}_to_{layer}")
    try:
        tail = keras.Model([feature], backbone.outputs[0], name=f"{backbone.name}_from_{layer}")
    except ValueError as exc:  # a layer some later layer bypasses cannot carry the whole output
        raise D2TLError(f"Grad-CAM: backbone {backbone.name}'s output does not depend on {layer!r} "
                        f"alone ({exc})") from None
    return up, tail


def gradcam_model(model, layer: str = GRADCAM_LAYER):
    """A model with the same weights whose outputs are [softmax, A_le_cc, A_le_mlo, A_rec_cc, A_rec_mlo],
    A being the activations of ``layer`` inside the image's backbone.

    Rebuilt with the functional API following :func:`d2tl.model.build_model`'s graph and layer
    names (grey_to_rgb, inception_scaling, backbone*, feature_<mode>, dropout_<mode>,
    abstraction_<mode>, abstraction, dropout_head, output), as two nested models: ``gradcam_features``
    (the four ROIs to the four A) and ``gradcam_head`` (the four A to the softmax).
    :func:`check_gradcam_model` confirms it reproduces the model's output.
    """
    import keras

    backbone_of = _backbone_of(model)
    try:
        to_rgb, scaling = model.get_layer("grey_to_rgb"), model.get_layer("inception_scaling")
        head = {name: model.get_layer(name) for name in
                ("abstraction", "dropout_head", "output", *(f"{p}_{m}" for m in MODES
                                                           for p in ("feature", "dropout", "abstraction")))}
    except ValueError as exc:
        raise D2TLError(f"Grad-CAM: the model lacks a layer of d2tl's D2TL graph ({exc})") from None
    split = {name: _split_backbone(model.get_layer(name), layer) for name in dict.fromkeys(backbone_of.values())}
    shapes = input_shapes(model)
    inputs = {key: keras.Input(shapes[key], name=key) for key in IMAGES}
    maps = [split[backbone_of[key]][0](scaling(to_rgb([inputs[key]] * 3))) for key in IMAGES]
    features = keras.Model(inputs, maps, name=FEATURES)

    a_inputs = [keras.Input(tuple(a.shape[1:]), name=f"{key}_{layer}") for key, a in zip(IMAGES, maps)]
    pooled = {key: split[backbone_of[key]][1](a) for key, a in zip(IMAGES, a_inputs)}
    abstractions = []
    for mode in MODES:
        x = head[f"feature_{mode}"]([pooled[f"{mode}_{view}"] for view in VIEWS])
        x = head[f"dropout_{mode}"](x)
        abstractions.append(head[f"abstraction_{mode}"](x))
    x = head["dropout_head"](head["abstraction"](abstractions))
    score_model = keras.Model(a_inputs, head["output"](x), name=HEAD)

    activations = features(inputs)
    return keras.Model(inputs, [score_model(activations), *activations], name=f"{model.name}_gradcam_{layer}")


def check_gradcam_model(model, cam_model, images: dict, atol: float = 1e-5) -> float:
    """Largest difference between the two models' softmax outputs on ``images`` (raises if > atol)."""
    x = as_batch(images)
    a = numpy(model(x, training=False))
    b = numpy(cam_model(x, training=False)[0])
    diff = float(np.max(np.abs(a - b)))
    if diff > atol:
        raise D2TLError(f"Grad-CAM model differs from the model by {diff:g}; the graph is not d2tl's")
    return diff


def grad_cam(cam_model, images: dict, class_index: int = MALIGNANT) -> tuple[dict, np.ndarray, dict]:
    """Grad-CAM maps ({key: (n, s, s) >= 0}), scores (n,), and each feature map's (h, w)."""
    import keras

    x = {k: tensor(v) for k, v in as_batch(images).items()}
    size = int(next(iter(x.values())).shape[1])
    features = list(cam_model.get_layer(FEATURES)(x, training=False))
    score_model = cam_model.get_layer(HEAD)

    def summed_score(activations):
        score = score_model(activations, training=False)[:, class_index]
        return keras.ops.sum(score), score

    score, grads = value_and_grad(summed_score, features)
    maps, shapes = {}, {}
    for key, a, g in zip(IMAGES, features, grads):
        alpha = keras.ops.mean(g, axis=(1, 2), keepdims=True)  # (n, 1, 1, K)
        cam = numpy(keras.ops.relu(keras.ops.sum(alpha * a, axis=-1)))  # (n, h, w)
        shapes[key] = tuple(int(d) for d in cam.shape[1:])
        maps[key] = np.stack([upsample(c, size) for c in cam])
    return maps, numpy(score), shapes


def upsample(cam: np.ndarray, size: int) -> np.ndarray:
    """A (h, w) map bilinearly resized to (size, size), the usual Grad-CAM upsampling."""
    from skimage.transform import resize

    if cam.shape == (size, size):
        return cam.astype(np.float32)
    return resize(cam.astype(np.float64), (size, size), order=1, mode="edge", anti_aliasing=False).astype(np.float32)
