"""Counted FLOPs of a Keras model and this machine's measured matrix-multiply rate.

Keras has no FLOP counter, so this one is written here: it walks the (nested) functional
graph and counts 2 FLOPs per multiply-add of every convolution and dense layer, from the
shapes Keras itself infers. Batch normalisation, activations and pooling are a fraction of a
percent of InceptionV3's work and are left out. Training costs forward + backward = 3 x
forward (the gradient with respect to both the input and the weights of each layer).
"""

from __future__ import annotations

import math
import time

import numpy as np

TRAIN_FACTOR = 3  # forward + backward (input and weight gradients) per multiply-add


def _layer_flops(layer, input_shape, output_shape) -> int:
    from keras import layers

    if isinstance(layer, (layers.Conv2D,)) and not isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        c_in = input_shape[-1]
        _, h, w, c_out = output_shape
        return 2 * h * w * kh * kw * (c_in // layer.groups) * c_out
    if isinstance(layer, layers.Dense):
        return 2 * math.prod(input_shape[1:]) * layer.units
    return 0


def forward_flops(model) -> int:
    """Forward FLOPs for one sample of a functional ``model`` (all inputs). Every call counts:
    a nested model (InceptionV3) shared by CC and MLO is counted twice."""
    total = 0
    for nodes in model._nodes_by_depth.values():  # Keras's own graph of calls
        for node in nodes:
            layer = node.operation
            if hasattr(layer, "_nodes_by_depth"):
                total += forward_flops(layer)
            elif node.input_tensors:
                total += _layer_flops(layer, node.input_tensors[0].shape, node.outputs[0].shape)
    return total


def train_flops_per_sample(model) -> int:
    return TRAIN_FACTOR * forward_flops(model)


def matmul_rate(n: int = 2048, repeats: int = 5) -> float:
    """Measured float32 matrix-multiply rate of this machine through Keras (FLOP/s, best of
    ``repeats``): the peak a model could reach here, for model FLOP utilisation."""
    from keras import ops

    rng = np.random.default_rng(0)
    a = ops.convert_to_tensor(rng.random((n, n), dtype=np.float32))
    b = ops.convert_to_tensor(rng.random((n, n), dtype=np.float32))
    ops.convert_to_numpy(ops.matmul(a, b))  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ops.convert_to_numpy(ops.matmul(a, b))
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best
