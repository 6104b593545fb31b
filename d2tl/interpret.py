"""Interpretation (Sec. 3.4, 4.5): class representations, pixel influence, Grad-CAM, and a check.

Everything here works on a trained model as saved by ``d2tl train`` (inputs ``le_cc``,
``le_mlo``, ``rec_cc``, ``rec_mlo``, each (s, s, 1) in [0, 1]; output ``output``, a 2-class
softmax whose index 1 is malignant) and on ROIs cut exactly as for training.

**Class representation, eq. (1).** For each class c a set of four images I_c minimising

    L(I) = (y_c - f(I))^2 + lambda * ||I||_2^2

by gradient descent on the input through the trained model (weights fixed, inference mode).
Our reading of the paper's loose notation: f is the *malignant* softmax score, y = 0 for the
benign and y = 1 for the malignant representation. Since the two softmax scores sum to 1,
this is the same loss as "f_c = score of class c, y_c = 1" for both classes, so the two
readings agree. ||I||_2^2 is taken in the network's input space (``penalty="network"``, the
default): the model maps ROIs in [0, 1] to InceptionV3's [-1, 1] (x' = 2I - 1), where a neutral,
mid-grey image is 0, so the penalty pulls towards mid-grey, not towards black, as Simonyan et
al.'s l2 term pulls towards the (zero) mean image. ``penalty="pixel"`` penalises ||I||^2 on the
[0, 1] ROIs instead (a black image is neutral there; the literal reading of the paper's I). The
norm is the sum of squares over every pixel of the four images (the paper's l2 norm, not a
mean), so a given lambda weighs more at larger inputs: at our default 1e-5 a set whose pixels
are all 0.25 from mid-grey costs 0.66 at 256 px and 0.06 at 77 px, against a data term of at
most 1. The reading is recorded with every result (``penalty`` in the summary).
Defaults and why (:class:`RepresentationConfig`): start at mid-grey 0.5 (the paper does not say;
Simonyan et al. start from the zero, i.e. mean, image; a flat grey start favours no location);
normalised gradient descent, I <- I - eta * g / max|g| (g the gradient of the loss over the
set's four images), i.e. the paper's back-propagation with the step scaled so the largest pixel
change is eta = 0.01: a trained network's input gradients are tiny and vary over orders of
magnitude between models, so a fixed factor (plain gradient descent, ``optimizer="sgd"``,
available) would need tuning per model, while the normalised step keeps the gradient's
spatial pattern. (``"adam"`` is available too; it moves every pixel by about eta whatever its
gradient, which turns the images into uniform noise.) 100 steps (quick preset; 500 for the
paper preset) took our quickly trained 77 px model's scores to 0.12 (benign) and 0.94 (malignant). Images are kept in
[0, 1] by projection (``parametrisation="clip"``: clip after every step, i.e. projected gradient
descent on the box constraint, which solves eq. (1) on the valid image range) or by
``"sigmoid"`` (I = sigmoid(z), descent on z). Both classes are optimised in one batch of two
(independent in inference mode). The figure shows all eight images on one grey window (the
0.5th to 99.5th percentile of their pixels), so the two classes can be compared.

**Pixel influence, eq. (2).** w = d f / d X at a patient's four ROIs X0 (f the malignant score);
|w| is shown as a colour map beside each image, on one colour scale per patient so the four
images can be compared (the paper: "influential pixels concentrate on the tumour mass, in
particular on the recombined-MLO and LE-CC sub-images"). This is the "vanilla gradient"
saliency of Simonyan et al. (2013); tf-keras-vis's ``Saliency`` computes the same thing but
needs tf-keras (Keras 2), so it is written here with ``tf.GradientTape`` (the one place
besides training where we need gradients; the project's backend is TensorFlow).

**Grad-CAM (beyond the paper).** Selvaraju et al. (2017): for image k, A = the activations of
the backbone's last convolutional block (InceptionV3 ``mixed10``) on that image, alpha =
spatial mean of d f / d A, map = ReLU(sum_channels alpha * A), bilinearly resized to the ROI.
The backbones are nested models, so :func:`gradcam_model` rebuilds the outer graph with the
functional API from the trained layers (shared weights), with each backbone split into "up
to ``mixed10``" and its pooled output, giving the score and the four feature maps in one
pass. Caution: ``mixed10`` is 1x1 for inputs under ~107 px (the quick preset's 77 px), where
Grad-CAM is a constant map and cannot localise; an earlier block (``mixed7``: 3x3 at 77 px,
14x14 at 256 px; ``mixed2``: 7x7 at 77 px) can be asked for with ``layer``.

**The check.** The lesion mask is put through the very cut and resize of its view's ROI
(:func:`case_inputs`), giving each input pixel's lesion fraction m in [0, 1]. For a
non-negative map M, the share inside the lesion is sum(M m) / sum(M), against the lesion's
share of the box area, mean(m) (what a map spread evenly would score). Per patient both are
pooled over the four images; their ratio is the enrichment (1: no better than uniform).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .data.images import load_view
from .data.roi import RoiConfig, box_side_px, cut_box, extract_case, resize_square
from .errors import D2TLError
from .views import IMAGES, LABELS, MODES, VIEWS, image_title, split_key

MALIGNANT = LABELS.index("malignant")
GRADCAM_LAYER = "mixed10"
STARTS = ("grey", "zeros", "noise", "mean")
PARAMETRISATIONS = ("clip", "sigmoid")
OPTIMIZERS = ("adam", "normalised", "sgd")
PENALTIES = ("network", "pixel")  # where eq. (1)'s l2 norm is taken (module docstring)
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
SIGMOID_MARGIN = 1e-3  # a start of exactly 0 or 1 has no finite logit


# ----------------------------------------------------------------------------------- inputs

def as_batch(images: dict) -> dict[str, np.ndarray]:
    """Four images as model input: each (n, s, s, 1) float32; accepts (s, s), (s, s, 1), (n, s, s)
    or (n, s, s, 1) arrays."""
    missing = [k for k in IMAGES if k not in images]
    if missing:
        raise D2TLError(f"images lack {', '.join(missing)} (need {', '.join(IMAGES)})")
    out = {}
    for key in IMAGES:
        a = np.asarray(images[key], dtype=np.float32)
        if a.ndim == 2:  # (s, s)
            a = a[None, :, :, None]
        elif a.ndim == 3:  # (s, s, 1) or (n, s, s)
            a = a[None] if a.shape[-1] == 1 and a.shape[0] == a.shape[1] else a[..., None]
        if a.ndim != 4 or a.shape[-1] != 1:
            raise D2TLError(f"image {key}: expected (n, s, s, 1), got {np.shape(images[key])}")
        out[key] = a
    return out


@dataclasses.dataclass
class CaseInputs:
    """One case's four ROIs (s, s) and, where the table has masks, each ROI's lesion fraction."""

    case_id: str
    label: str
    images: dict[str, np.ndarray]
    masks: dict[str, np.ndarray] | None


def roi_mask(mask: np.ndarray, centre_xy, side: int, input_size: int) -> np.ndarray:
    """A full-image lesion mask cut and resized exactly as the ROI is: each ROI pixel's lesion
    fraction in [0, 1] (bilinear, anti-aliased when shrinking, as :func:`d2tl.data.roi.resize_square`)."""
    box = cut_box(mask.astype(np.float32), centre_xy, side)
    return np.clip(resize_square(box, input_size), 0.0, 1.0)


def case_inputs(row, config: RoiConfig, with_masks: bool = True) -> CaseInputs:
    """The ROIs of one case-table row (by :func:`d2tl.data.roi.extract_case`, so identical to
    the model's inputs) and its lesion masks in ROI coordinates (same box, same resize)."""
    images = extract_case(row, config)
    masks = None
    if with_masks:
        masks = {}
        for view in VIEWS:
            v = load_view(row, view, recombine_weight=config.recombine_weight, with_mask=True)
            if v.mask is None:
                masks = None
                break
            m = roi_mask(v.mask, v.centre, box_side_px(config, v.scale), config.input_size)
            for mode in MODES:
                masks[f"{mode}_{view}"] = m
    return CaseInputs(case_id=str(row["id"]), label=str(row["label"]), images=images, masks=masks)


def stack_cases(cases: list[CaseInputs]) -> dict[str, np.ndarray]:
    """Model input (n, s, s, 1) of several cases."""
    return {key: np.stack([c.images[key] for c in cases])[..., None].astype(np.float32) for key in IMAGES}


# ------------------------------------------------------------------------- eq. (2): influence

def _tf():
    import tensorflow as tf  # GradientTape: gradients with respect to inputs need the backend

    return tf


def pixel_influence(model, images: dict, class_index: int = MALIGNANT) -> tuple[dict, np.ndarray]:
    """Eq. (2): w = d f / d X for each case of the batch, and the scores f.

    Returns ({key: (n, s, s) signed gradients}, (n,) scores of ``class_index``). Cases are
    independent in inference mode, so the gradient of the summed scores gives every case's own
    gradient in one pass. An input the output does not depend on gets an exactly zero map.
    """
    tf = _tf()
    x = {k: tf.constant(v) for k, v in as_batch(images).items()}
    with tf.GradientTape() as tape:
        tape.watch(list(x.values()))
        score = model(x, training=False)[:, class_index]
        total = tf.reduce_sum(score)
    grads = tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return {k: grads[k].numpy()[..., 0] for k in IMAGES}, score.numpy()


# ---------------------------------------------------------------------------------- Grad-CAM

def input_shapes(model) -> dict[str, tuple]:
    """{input name: shape without the batch axis} of a model with d2tl's four named inputs."""
    shapes = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    missing = [k for k in IMAGES if k not in shapes]
    if missing:
        raise D2TLError(f"the model has no input {', '.join(missing)} (inputs: {', '.join(shapes)})")
    return shapes


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


def gradcam_model(model, layer: str = GRADCAM_LAYER):
    """A model with the same weights whose outputs are [softmax, A_le_cc, A_le_mlo, A_rec_cc, A_rec_mlo],
    A being the activations of ``layer`` inside the image's backbone.

    Rebuilt with the functional API following :func:`d2tl.model.build_model`'s graph and layer
    names (grey_to_rgb, inception_scaling, backbone*, feature_<mode>, dropout_<mode>,
    abstraction_<mode>, abstraction, dropout_head, output); :func:`check_gradcam_model` confirms
    it reproduces the model's output.
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
    split = {}
    for name in dict.fromkeys(backbone_of.values()):
        backbone = model.get_layer(name)
        try:
            feature = backbone.get_layer(layer).output
        except ValueError:
            raise D2TLError(f"Grad-CAM: backbone {name} has no layer {layer!r}") from None
        split[name] = keras.Model(backbone.inputs, [feature, backbone.outputs[0]], name=f"{name}_split")
    shapes = input_shapes(model)
    inputs = {key: keras.Input(shapes[key], name=key) for key in IMAGES}
    maps, pooled = {}, {}
    for key in IMAGES:
        x = scaling(to_rgb([inputs[key]] * 3))
        maps[key], pooled[key] = split[backbone_of[key]](x)
    abstractions = []
    for mode in MODES:
        x = head[f"feature_{mode}"]([pooled[f"{mode}_{view}"] for view in VIEWS])
        x = head[f"dropout_{mode}"](x)
        abstractions.append(head[f"abstraction_{mode}"](x))
    x = head["dropout_head"](head["abstraction"](abstractions))
    out = head["output"](x)
    return keras.Model(inputs, [out, *(maps[k] for k in IMAGES)], name=f"{model.name}_gradcam_{layer}")


def check_gradcam_model(model, cam_model, images: dict, atol: float = 1e-5) -> float:
    """Largest difference between the two models' softmax outputs on ``images`` (raises if > atol)."""
    x = as_batch(images)
    a = np.asarray(model(x, training=False))
    b = np.asarray(cam_model(x, training=False)[0])
    diff = float(np.max(np.abs(a - b)))
    if diff > atol:
        raise D2TLError(f"Grad-CAM model differs from the model by {diff:g}; the graph is not d2tl's")
    return diff


def grad_cam(cam_model, images: dict, class_index: int = MALIGNANT) -> tuple[dict, np.ndarray, dict]:
    """Grad-CAM maps ({key: (n, s, s) >= 0}), scores (n,), and each feature map's (h, w)."""
    tf = _tf()
    x = {k: tf.constant(v) for k, v in as_batch(images).items()}
    size = next(iter(x.values())).shape[1]
    with tf.GradientTape() as tape:
        out, *features = cam_model(x, training=False)
        for a in features:
            tape.watch(a)  # intermediate tensors of the taped pass: gradients are defined
        score = out[:, class_index]
        total = tf.reduce_sum(score)
    grads = tape.gradient(total, features, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    maps, shapes = {}, {}
    for key, a, g in zip(IMAGES, features, grads):
        alpha = tf.reduce_mean(g, axis=(1, 2), keepdims=True)  # (n, 1, 1, K)
        cam = tf.nn.relu(tf.reduce_sum(alpha * a, axis=-1)).numpy()  # (n, h, w)
        shapes[key] = tuple(int(d) for d in cam.shape[1:])
        maps[key] = np.stack([upsample(c, size) for c in cam])
    return maps, score.numpy(), shapes


def upsample(cam: np.ndarray, size: int) -> np.ndarray:
    """A (h, w) map bilinearly resized to (size, size), the usual Grad-CAM upsampling."""
    from skimage.transform import resize

    if cam.shape == (size, size):
        return cam.astype(np.float32)
    return resize(cam.astype(np.float64), (size, size), order=1, mode="edge", anti_aliasing=False).astype(np.float32)


# ---------------------------------------------------------------------------- eq. (1): classes

@dataclasses.dataclass(frozen=True)
class RepresentationConfig:
    """Eq. (1)'s solver; see the module docstring for why these defaults."""

    lam: float = 1e-5  # lambda on the sum of squares of all pixels of the four images
    penalty: str = "network"  # network: ||2I - 1||^2 (InceptionV3's input; mid-grey is 0) | pixel: ||I||^2
    steps: int = 100
    step_size: float = 0.01  # the largest pixel change (normalised); Adam's learning rate; or the factor (sgd)
    optimizer: str = "normalised"
    start: str = "grey"  # grey (0.5) | zeros | noise (0.5 +- 0.1 uniform, seeded) | mean (given images)
    parametrisation: str = "clip"  # clip (projected descent) | sigmoid (I = sigmoid(z))
    seed: int = 0

    def __post_init__(self):
        if self.lam < 0 or self.steps < 0 or not self.step_size > 0:
            raise D2TLError("eq. (1): lambda and steps must be >= 0 and the step size > 0")
        for name, allowed in (("start", STARTS), ("parametrisation", PARAMETRISATIONS),
                              ("optimizer", OPTIMIZERS), ("penalty", PENALTIES)):
            if getattr(self, name) not in allowed:
                raise D2TLError(f"eq. (1): {name} {getattr(self, name)!r} is not one of {', '.join(allowed)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Representation:
    """Eq. (1)'s solutions: ``images[key]`` is (len(targets), s, s); ``history`` one row per step
    and target (step, target, score, data, reg, loss), step 0 being the start."""

    targets: tuple
    images: dict
    scores: np.ndarray
    history: pd.DataFrame
    config: RepresentationConfig

    def final(self) -> pd.DataFrame:
        return self.history[self.history["step"] == self.history["step"].max()].reset_index(drop=True)


def _start_images(config: RepresentationConfig, n: int, size: int, mean_images: dict | None) -> np.ndarray:
    """(n, 4, s, s) start point in [0, 1]."""
    shape = (n, len(IMAGES), size, size)
    if config.start == "grey":
        return np.full(shape, 0.5, np.float32)
    if config.start == "zeros":
        return np.zeros(shape, np.float32)
    if config.start == "noise":
        rng = np.random.default_rng(config.seed)
        return (0.5 + rng.uniform(-0.1, 0.1, size=shape)).astype(np.float32)
    if mean_images is None:
        raise D2TLError("eq. (1): start 'mean' needs the images to average (mean_images)")
    mean = np.stack([np.asarray(mean_images[k], np.float32).reshape(size, size) for k in IMAGES])
    return np.broadcast_to(np.clip(mean, 0, 1), shape).copy()


def class_representations(model, config: RepresentationConfig = RepresentationConfig(),
                          targets=(0.0, 1.0), size: int | None = None,
                          mean_images: dict | None = None, log=None, compile: bool = True) -> Representation:
    """Solve eq. (1) for each target y (default: 0 benign, 1 malignant) with f = malignant score.

    ``size`` defaults to the model's input side; ``mean_images`` ({key: (s, s)}) is the start
    for ``start="mean"``. Returns the images, final scores and the loss history. ``compile``
    runs the forward and backward pass as one ``tf.function`` (traced once, about 15 s for two
    InceptionV3s at 77 px on a CPU, then about 8x faster per step than eager execution).
    """
    tf = _tf()
    if size is None:
        size = int(input_shapes(model)[IMAGES[0]][0])
    n = len(targets)
    y = tf.constant(np.asarray(targets, np.float32))
    start = _start_images(config, n, size, mean_images)
    if config.parametrisation == "sigmoid":
        p = np.clip(start, SIGMOID_MARGIN, 1 - SIGMOID_MARGIN)
        param = tf.Variable(np.log(p / (1 - p)).astype(np.float32))
        to_image = tf.sigmoid
    else:
        param = tf.Variable(start)
        to_image = tf.identity
    lam = tf.constant(config.lam, tf.float32)
    network_space = config.penalty == "network"

    def evaluate():
        with tf.GradientTape() as tape:
            images = to_image(param)  # (n, 4, s, s)
            inputs = {k: images[:, i, :, :, None] for i, k in enumerate(IMAGES)}
            f = model(inputs, training=False)[:, MALIGNANT]
            data = tf.square(y - f)
            penalised = 2.0 * images - 1.0 if network_space else images  # the model's own [0,1] -> [-1,1]
            reg = lam * tf.reduce_sum(tf.square(penalised), axis=(1, 2, 3))
            loss = data + reg
            total = tf.reduce_sum(loss)  # the targets are independent: one gradient serves all
        return tape.gradient(total, param), f, data, reg, loss

    if compile:
        evaluate = tf.function(evaluate)
    rows = []
    m = tf.zeros_like(param)
    v = tf.zeros_like(param)
    b1, b2 = ADAM_BETAS
    for step in range(config.steps + 1):
        grad, f, data, reg, loss = evaluate()
        for i, target in enumerate(targets):
            rows.append({"step": step, "target": float(target), "score": float(f[i]), "data": float(data[i]),
                         "reg": float(reg[i]), "loss": float(loss[i])})
        if log and (step % max(1, config.steps // 5) == 0 or step == config.steps):
            log(f"eq. (1) step {step}/{config.steps}: " + ", ".join(
                f"y={t:g}: f={float(f[i]):.3f} loss={float(loss[i]):.4f}" for i, t in enumerate(targets)))
        if step == config.steps:
            break
        if config.optimizer == "adam":
            m = b1 * m + (1 - b1) * grad
            v = b2 * v + (1 - b2) * tf.square(grad)
            t = step + 1
            update = (m / (1 - b1 ** t)) / (tf.sqrt(v / (1 - b2 ** t)) + ADAM_EPSILON)
        elif config.optimizer == "normalised":  # each set's largest pixel step is step_size
            update = grad / (tf.reduce_max(tf.abs(grad), axis=(1, 2, 3), keepdims=True) + 1e-12)
        else:
            update = grad
        new = param - config.step_size * update
        param.assign(tf.clip_by_value(new, 0.0, 1.0) if config.parametrisation == "clip" else new)
    final = to_image(param).numpy()
    history = pd.DataFrame(rows)
    return Representation(targets=tuple(float(t) for t in targets),
                          images={k: final[:, i] for i, k in enumerate(IMAGES)},
                          scores=history[history["step"] == config.steps]["score"].to_numpy(),
                          history=history, config=config)


# ------------------------------------------------------------------------------------ check

def lesion_share(heat: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(share of ``heat``'s total inside the lesion, lesion's share of the area).

    ``heat`` >= 0 (take |w| first); ``mask`` is each pixel's lesion fraction in [0, 1]. The share
    is NaN when the map is all zero.
    """
    heat = np.asarray(heat, np.float64)
    mask = np.asarray(mask, np.float64)
    if heat.shape != mask.shape:
        raise D2TLError(f"map {heat.shape} and mask {mask.shape} differ in shape")
    if np.any(heat < 0):
        raise D2TLError("lesion_share needs a non-negative map (use |w|)")
    total = heat.sum()
    share = float((heat * mask).sum() / total) if total > 0 else math.nan
    return share, float(mask.mean())


def pooled_share(maps: dict, masks: dict) -> tuple[float, float]:
    """:func:`lesion_share` over the four images of a case together."""
    return lesion_share(np.stack([maps[k] for k in IMAGES]), np.stack([masks[k] for k in IMAGES]))


def share_rows(cases: list[CaseInputs], scores: np.ndarray, methods: dict[str, dict]) -> pd.DataFrame:
    """One row per case with masks: area share, and per method the pooled share inside the lesion,
    its ratio to the area share, and per image share (``methods``: name -> {key: (n, s, s) >= 0})."""
    rows = []
    for i, case in enumerate(cases):
        if case.masks is None:
            continue
        row = {"id": case.case_id, "label": case.label, "p_malignant": float(scores[i])}
        heat0 = {k: next(iter(methods.values()))[k][i] for k in IMAGES}
        row["area_share"] = pooled_share(heat0, case.masks)[1]
        for name, maps in methods.items():
            per_case = {k: maps[k][i] for k in IMAGES}
            share, area = pooled_share(per_case, case.masks)
            row[f"{name}_share"] = share
            row[f"{name}_ratio"] = share / area if area > 0 else math.nan
        for key in IMAGES:
            row[f"area_share_{key}"] = float(case.masks[key].mean())
            for name, maps in methods.items():
                row[f"{name}_share_{key}"] = lesion_share(maps[key][i], case.masks[key])[0]
        rows.append(row)
    return pd.DataFrame(rows)


SMALL_LESION = 0.5  # "small": the lesion covers less than half of the box (the check has room: ratio up to >= 2)


def _mean(values) -> float | None:
    values = pd.Series(values, dtype=float).dropna()
    return float(values.mean()) if len(values) else None


def summarise_shares(table: pd.DataFrame, methods) -> dict:
    """Means over patients, over all and over those whose lesion covers < 50 % of the box (a
    lesion filling the box makes every map score share = area = 1), and how many patients' share
    beats their area share. Means skip undefined shares (a map that is zero everywhere)."""
    if table.empty:
        return {"n_cases": 0}
    small = table["area_share"] < SMALL_LESION
    out = {"n_cases": int(len(table)), "n_small_lesion": int(small.sum()), "small_lesion_below": SMALL_LESION,
           "area_share_mean": _mean(table["area_share"]), "area_share_mean_small": _mean(table.loc[small, "area_share"])}
    for name in methods:
        share = table[f"{name}_share"]
        out[f"{name}_share_mean"] = _mean(share)
        out[f"{name}_ratio_mean"] = _mean(table[f"{name}_ratio"])
        out[f"{name}_share_mean_small"] = _mean(share[small])
        out[f"{name}_ratio_mean_small"] = _mean(table.loc[small, f"{name}_ratio"])
        out[f"{name}_above_area"] = int((share > table["area_share"]).sum())
        out[f"{name}_share_mean_by_image"] = {k: _mean(table[f"{name}_share_{k}"]) for k in IMAGES}
    out["area_share_mean_by_image"] = {k: _mean(table[f"area_share_{k}"]) for k in IMAGES}
    return out


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def shares_markdown(table: pd.DataFrame, methods, title: str = "Share of each map inside the lesion") -> str:
    """The means per map, the per-patient shares and the means per image, as Markdown."""
    if table.empty:
        return f"# {title}\n\nNo case has lesion masks; nothing to measure.\n"
    s = summarise_shares(table, methods)
    n, n_small = s["n_cases"], s["n_small_lesion"]
    lines = [f"# {title}", "",
             "share = the map's total inside the lesion / its total over the four ROIs (lesion mask cut and "
             "resized like the ROI); area = the lesion's share of the ROI area, what a uniform map scores; "
             "ratio = share / area (per patient, then averaged). \"small\" = lesion under "
             f"{SMALL_LESION:.0%} of the box ({n_small} of {n} patients; a lesion filling the box gives "
             "share = area = 1 whatever the map). n/a: the map is zero everywhere (Grad-CAM's ReLU).", "",
             f"| map | mean share | mean ratio | share > area | mean share, small | mean ratio, small |",
             "|---|---|---|---|---|---|",
             f"| lesion area | {_fmt(s['area_share_mean'])} | 1 | | {_fmt(s['area_share_mean_small'])} | 1 |"]
    for name in methods:
        lines.append(f"| {name} | {_fmt(s[f'{name}_share_mean'])} | {_fmt(s[f'{name}_ratio_mean'])} | "
                     f"{s[f'{name}_above_area']}/{n} | {_fmt(s[f'{name}_share_mean_small'])} | "
                     f"{_fmt(s[f'{name}_ratio_mean_small'])} |")
    cols = ["id", "label", "p_malignant", "area_share", *(f"{name}_share" for name in methods)]
    lines += ["", "Per patient (share inside the lesion):", "",
              "| " + " | ".join(c.removesuffix("_share") if c != "area_share" else "area" for c in cols) + " |",
              "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    lines += ["", "Means per image (share inside the lesion):", "",
              "| map | " + " | ".join(image_title(k) for k in IMAGES) + " |", "|---|" + "---|" * len(IMAGES),
              "| lesion area | " + " | ".join(_fmt(s["area_share_mean_by_image"][k]) for k in IMAGES) + " |"]
    for name in methods:
        cells = []
        for k in IMAGES:
            defined = int(table[f"{name}_share_{k}"].notna().sum())
            cells.append(_fmt(s[f"{name}_share_mean_by_image"][k]) + (f" ({defined} of {n})" if defined < n else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "(k of n): the mean over the k patients whose map for that image is not zero everywhere."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- figures

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> Path:
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    _plt().close(fig)
    return out


def _influence_cmap():
    """Black to blue to pale blue: "a brighter blue colour signifies higher influence" (Sec. 4.5)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("influence_blue", ["#000000", "#0b3aa8", "#2f7bff", "#dff0ff"])


def plot_representations(rep: Representation, out, title: str | None = None, dpi: int = 110) -> Path:
    """Fig. 11: one row per target (benign, malignant), the four images on [0, 1] grey."""
    plt = _plt()
    final = rep.final()
    pixels = np.concatenate([rep.images[k].ravel() for k in IMAGES])
    lo, hi = (float(v) for v in np.percentile(pixels, (0.5, 99.5)))
    lo, hi = (lo, hi) if hi - lo > 1e-6 else (0.0, 1.0)
    fig, axes = plt.subplots(len(rep.targets), len(IMAGES), figsize=(2.6 * len(IMAGES), 2.8 * len(rep.targets) + 0.4),
                             squeeze=False, layout="constrained", dpi=dpi)
    for r, target in enumerate(rep.targets):
        name = LABELS[int(round(target))] if target in (0.0, 1.0) else f"y={target:g}"
        for c, key in enumerate(IMAGES):
            ax = axes[r, c]
            ax.imshow(rep.images[key][r], cmap="gray", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(image_title(key), fontsize=10)
            if c == 0:
                ax.set_ylabel(f"{name}\nf = {final['score'][r]:.3f}", fontsize=10)
    cfg = rep.config
    fig.suptitle(title or (f"Class representations, eq. (1): lambda {cfg.lam:g}, {cfg.steps} {cfg.optimizer} steps "
                           f"of {cfg.step_size:g}, start {cfg.start}, {cfg.parametrisation}; "
                           f"grey window {lo:.3f} to {hi:.3f} for all"), fontsize=10)
    return _save(fig, out)


def roi_window(image: np.ndarray, percentiles=(0.5, 99.5)) -> tuple[float, float]:
    """Display range of one ROI: its own percentiles. Recombined ROIs, normalised over the whole
    image (air to breast), often span only a few hundredths of [0, 1]; on a fixed [0, 1] scale
    they would look flat."""
    lo, hi = (float(v) for v in np.percentile(image, percentiles))
    return (lo, hi) if hi - lo > 1e-6 else (0.0, 1.0)


def plot_maps(case: CaseInputs, maps: dict, out, kind: str = "influence", score: float | None = None,
              detail: str = "", dpi: int = 110) -> Path:
    """Figs. 12/13 layout: the four ROIs (top) and their maps (bottom), the lesion outlined in red.

    ``kind="influence"``: |w| as a colour map on one scale for the four images; ``"gradcam"``:
    the map over the ROI, on one scale for the four images.
    """
    plt = _plt()
    fig, axes = plt.subplots(2, len(IMAGES), figsize=(2.6 * len(IMAGES), 5.8), squeeze=False,
                             layout="constrained", dpi=dpi)
    vmax = max(float(np.max(maps[k])) for k in IMAGES) or 1.0
    im = None
    for c, key in enumerate(IMAGES):
        image, heat = case.images[key], maps[key]
        top, bottom = axes[0, c], axes[1, c]
        lo, hi = roi_window(image)
        top.imshow(image, cmap="gray", vmin=lo, vmax=hi)
        top.set_title(image_title(key), fontsize=10)
        if kind == "gradcam":
            bottom.imshow(image, cmap="gray", vmin=lo, vmax=hi)
            im = bottom.imshow(heat, cmap="jet", vmin=0.0, vmax=vmax, alpha=0.45)
        else:
            im = bottom.imshow(heat, cmap=_influence_cmap(), vmin=0.0, vmax=vmax)
        for ax in (top, bottom):
            if case.masks is not None and case.masks[key].max() > 0.5:
                ax.contour(case.masks[key], levels=[0.5], colors="red", linewidths=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("ROI (own grey window)", fontsize=10)
    axes[1, 0].set_ylabel("|df/dX|, eq. (2)" if kind == "influence" else f"Grad-CAM {detail}".strip(), fontsize=10)
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="one scale for the four images")
    p = "" if score is None else f", malignant score f = {score:.3f}"
    if case.masks is not None and all(case.masks[k].min() > 0.5 for k in IMAGES):
        p += "; the lesion covers every ROI"
    what = "pixel influence |w| = |df/dX|" if kind == "influence" else f"Grad-CAM ({detail})" if detail else "Grad-CAM"
    fig.suptitle(f"patient {case.case_id} ({case.label}{p}): {what}; lesion outline red", fontsize=10)
    return _save(fig, out)


# ----------------------------------------------------------------------------- explanations

@dataclasses.dataclass
class Explanation:
    """Maps of a batch of cases: influence |w| and Grad-CAM per layer, scores, feature sizes."""

    cases: list[CaseInputs]
    scores: np.ndarray
    influence: dict  # key -> (n, s, s) |w|
    signed: dict  # key -> (n, s, s) w
    gradcam: dict  # layer -> key -> (n, s, s)
    feature_shapes: dict  # layer -> key -> (h, w)

    def methods(self) -> dict:
        return {"influence": self.influence, **{f"gradcam_{layer}": m for layer, m in self.gradcam.items()}}

    def case(self, i: int) -> tuple[CaseInputs, dict]:
        return self.cases[i], {name: {k: m[k][i] for k in IMAGES} for name, m in self.methods().items()}


def explain(model, cases: list[CaseInputs], layers=(GRADCAM_LAYER,), batch_size: int = 16,
            cam_models: dict | None = None) -> Explanation:
    """Influence and Grad-CAM maps of ``cases``, in batches."""
    if not cases:
        raise D2TLError("no cases to explain")
    cam_models = {} if cam_models is None else cam_models
    for layer in layers:
        if layer not in cam_models:
            cam_models[layer] = gradcam_model(model, layer)
    signed = {k: [] for k in IMAGES}
    cams = {layer: {k: [] for k in IMAGES} for layer in layers}
    shapes, scores = {}, []
    for start in range(0, len(cases), batch_size):
        x = stack_cases(cases[start:start + batch_size])
        w, s = pixel_influence(model, x)
        scores.append(s)
        for k in IMAGES:
            signed[k].append(w[k])
        for layer in layers:
            maps, s_cam, shapes[layer] = grad_cam(cam_models[layer], x)
            if not np.allclose(s_cam, s, atol=1e-4):
                raise D2TLError(f"Grad-CAM model ({layer}) scores differ from the model's")
            for k in IMAGES:
                cams[layer][k].append(maps[k])
    signed = {k: np.concatenate(v) for k, v in signed.items()}
    return Explanation(cases=cases, scores=np.concatenate(scores), signed=signed,
                       influence={k: np.abs(v) for k, v in signed.items()},
                       gradcam={layer: {k: np.concatenate(v) for k, v in m.items()} for layer, m in cams.items()},
                       feature_shapes=shapes)


def write_case_figures(expl: Explanation, i: int, out_dir, prefix: str = "", dpi: int = 110) -> list[Path]:
    """The influence figure and one Grad-CAM figure per layer for case ``i``."""
    case, maps = expl.case(i)
    out_dir = Path(out_dir)
    name = f"{prefix}{case.label}_{case.case_id}"
    paths = [plot_maps(case, maps["influence"], out_dir / f"influence_{name}.png", "influence", expl.scores[i],
                       dpi=dpi)]
    for layer in expl.gradcam:
        h, w = expl.feature_shapes[layer][IMAGES[0]]
        paths.append(plot_maps(case, maps[f"gradcam_{layer}"], out_dir / f"gradcam_{layer}_{name}.png", "gradcam",
                               expl.scores[i], detail=f"{layer}, {h}x{w} feature map", dpi=dpi))
    return paths


def confident_correct(predictions: pd.DataFrame, ids=None) -> dict[str, str]:
    """The most confidently correct benign and malignant case of ``predictions``
    (columns id, label, p_malignant); where a class has no correct case, its most confident one."""
    table = predictions if ids is None else predictions[predictions["id"].isin(list(ids))]
    chosen = {}
    for label in LABELS:
        rows = table[table["label"] == label]
        if rows.empty:
            continue
        confidence = rows["p_malignant"] if label == "malignant" else 1 - rows["p_malignant"]
        chosen[label] = str(rows.loc[confidence.idxmax(), "id"])
    return chosen
