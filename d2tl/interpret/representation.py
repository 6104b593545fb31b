"""Class representations, eq. (1) of the paper (Sec. 3.4): for each class c a set of four images
I_c minimising

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
paper preset) took our quickly trained 77 px model's scores to 0.12 (benign) and 0.94
(malignant). Images are kept in [0, 1] by projection (``parametrisation="clip"``: clip after
every step, i.e. projected gradient descent on the box constraint, which solves eq. (1) on the
valid image range) or by ``"sigmoid"`` (I = sigmoid(z), descent on z). Both classes are
optimised in one batch of two (independent in inference mode).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .gradients import compiled, numpy, tensor, value_and_grad
from .inputs import MALIGNANT, input_shapes
from ..io.errors import D2TLError
from ..protocol.views import IMAGES

STARTS = ("grey", "zeros", "noise", "mean")
PARAMETRISATIONS = ("clip", "sigmoid")
OPTIMIZERS = ("adam", "normalised", "sgd")
PENALTIES = ("network", "pixel")  # where eq. (1)'s l2 norm is taken (module docstring)
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8
SIGMOID_MARGIN = 1e-3  # a start of exactly 0 or 1 has no finite logit


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
    runs the forward and backward pass as one compiled function (``tf.function`` or ``jax.jit``;
    traced once, about 15 s for two InceptionV3s at 77 px on a CPU under TensorFlow, then about
    8x faster per step than eager execution).
    """
    from keras import ops

    if size is None:
        size = int(input_shapes(model)[IMAGES[0]][0])
    y = tensor(targets)
    param, to_image = _parametrised(_start_images(config, len(targets), size, mean_images), config.parametrisation)
    evaluate = _evaluator(model, y, to_image, config)
    if compile:
        evaluate = compiled(evaluate)
    rows, moments = [], (ops.zeros_like(param), ops.zeros_like(param))
    for step in range(config.steps + 1):
        grad, *terms = evaluate(param)
        f, data, reg, loss = (numpy(t) for t in terms)
        for i, target in enumerate(targets):
            rows.append({"step": step, "target": float(target), "score": float(f[i]), "data": float(data[i]),
                         "reg": float(reg[i]), "loss": float(loss[i])})
        if log and (step % max(1, config.steps // 5) == 0 or step == config.steps):
            log(f"eq. (1) step {step}/{config.steps}: " + ", ".join(
                f"y={t:g}: f={float(f[i]):.3f} loss={float(loss[i]):.4f}" for i, t in enumerate(targets)))
        if step == config.steps:
            break
        update, moments = _update(config.optimizer, grad, moments, step)
        new = param - config.step_size * update
        param = ops.clip(new, 0.0, 1.0) if config.parametrisation == "clip" else new
    final = numpy(to_image(param))
    history = pd.DataFrame(rows)
    return Representation(targets=tuple(float(t) for t in targets),
                          images={k: final[:, i] for i, k in enumerate(IMAGES)},
                          scores=history[history["step"] == config.steps]["score"].to_numpy(),
                          history=history, config=config)


def _parametrised(start: np.ndarray, parametrisation: str):
    """(parameter tensor, parameter -> image): the images themselves (``clip``) or their logits (``sigmoid``)."""
    from keras import ops

    if parametrisation == "sigmoid":
        p = np.clip(start, SIGMOID_MARGIN, 1 - SIGMOID_MARGIN)
        return tensor(np.log(p / (1 - p))), ops.sigmoid
    return tensor(start), (lambda z: z)


def _evaluator(model, y, to_image, config: RepresentationConfig):
    """parameter -> (gradient of the summed loss, f, data term, penalty, loss per target): eq. (1)."""
    from keras import ops

    lam = tensor(config.lam)
    network_space = config.penalty == "network"

    def loss_terms(z):
        images = to_image(z)  # (n, 4, s, s)
        inputs = {k: images[:, i, :, :, None] for i, k in enumerate(IMAGES)}
        f = model(inputs, training=False)[:, MALIGNANT]
        data = ops.square(y - f)
        penalised = 2.0 * images - 1.0 if network_space else images  # the model's own [0,1] -> [-1,1]
        reg = lam * ops.sum(ops.square(penalised), axis=(1, 2, 3))
        loss = data + reg
        return ops.sum(loss), (f, data, reg, loss)  # the targets are independent: one gradient serves all

    def evaluate(z):
        (f, data, reg, loss), grad = value_and_grad(loss_terms, z)
        return grad, f, data, reg, loss

    return evaluate


def _update(optimizer: str, grad, moments: tuple, step: int):
    """(the step direction, the Adam moments after it) of gradient step ``step`` (0-based)."""
    from keras import ops

    if optimizer == "adam":
        b1, b2 = ADAM_BETAS
        m = b1 * moments[0] + (1 - b1) * grad
        v = b2 * moments[1] + (1 - b2) * ops.square(grad)
        t = step + 1
        return (m / (1 - b1 ** t)) / (ops.sqrt(v / (1 - b2 ** t)) + ADAM_EPSILON), (m, v)
    if optimizer == "normalised":  # each set's largest pixel step is step_size
        return grad / (ops.max(ops.abs(grad), axis=(1, 2, 3), keepdims=True) + 1e-12), moments
    return grad, moments
