"""Precise BatchNormalization statistics: population mean and variance with the current weights.

Keras's BatchNormalization keeps running averages at momentum 0.99. From random weights they
need hundreds of steps to forget their initial 0/1 values, so a briefly trained InceptionV3 in
inference mode normalises with statistics of no real input and gives (nearly) constant outputs.
``bn_stats="precise"`` re-estimates them instead (Wu & Johnson 2021, "Rethinking 'Batch' in
BatchNorm"; fvcore's ``update_bn_stats``, pycls's ``compute_precise_bn_stats``): run the
training set through each backbone in training mode, with no weight update, exactly as a
training step calls it (one call per image of the backbone, ``batch_size`` cases per call), and
set every trained BN layer's statistics to the population values over all those calls:

    mean = E[x],   variance = E[var_b + mean_b^2] - E[mean_b]^2 = E[x^2] - E[x]^2,

where each BN layer's input x is what it sees in training mode (earlier BN layers normalise with
their batch statistics). Per sample the probe returns the spatial mean and (two-pass) variance of
each BN input, combined here in float64, so the cancellation in E[x^2] - E[x]^2 costs no float32
precision.

Only BN layers that are trained are re-estimated: a frozen backbone (semi-tune, either
``frozen_bn`` semantics) keeps the statistics it was loaded with. Written by hand because Keras
has no precise-BN utility; it uses ``keras.ops`` and runs under TensorFlow and JAX.
"""

from __future__ import annotations

import time

import numpy as np


def _is_bn(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def trained_bn_layers(model) -> list:
    """Every BatchNormalization layer under ``model`` whose parameters are trained."""
    found = []
    for layer in getattr(model, "layers", []):
        if _is_bn(layer):
            if layer.trainable and layer.trainable_weights:
                found.append(layer)
        else:
            found += trained_bn_layers(layer)
    return found


def _backbone_calls(model) -> list:
    """(nested model, [symbolic input of each of its calls in ``model``'s graph]) for every nested
    model that holds trained BN layers, found from the graph itself (so every architecture works)."""
    import keras

    calls = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model) and trained_bn_layers(layer):
            calls[layer.name] = (layer, [])
    if not calls:
        return []
    # Walk the graph from the outputs back, collecting each nested model's call nodes.
    seen, stack = set(), list(model.outputs)
    while stack:
        tensor = stack.pop()
        operation, node_index, _ = tensor._keras_history
        key = (id(operation), node_index)
        if key in seen:
            continue
        seen.add(key)
        node = operation._inbound_nodes[node_index]
        if operation.name in calls and calls[operation.name][0] is operation:
            calls[operation.name][1].append((node_index, node.input_tensors[0]))
        stack.extend(node.input_tensors)
    return [(sub, [t for _, t in sorted(tensors, key=lambda item: item[0])]) for sub, tensors in calls.values()]


def _training_call(probe):
    """``probe`` called in training mode, compiled once (eager InceptionV3 is about 10x slower).

    The one backend-specific piece: ``tf.function`` under TensorFlow, ``jax.jit`` of the
    stateless call under JAX (its updated moving statistics are discarded, as here they are
    set afterwards anyway)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda x: probe([x], training=True), reduce_retracing=True)
    if keras.backend.backend() == "jax":
        import jax

        step = jax.jit(lambda tv, ntv, x: probe.stateless_call(tv, ntv, [x], training=True)[0])
        return lambda x: step([v.value for v in probe.trainable_variables],
                              [v.value for v in probe.non_trainable_variables], x)
    return lambda x: probe([x], training=True)


class PreciseBN:
    """Re-estimates the trained BN layers of one model; built once per model and reused
    (:meth:`d2tl.training.engine.Engine.precise_bn`)."""

    def __init__(self, model):
        import keras
        from keras import ops

        self.model = model
        self.calls = _backbone_calls(model)
        self.layers = [trained_bn_layers(sub) for sub, _ in self.calls]
        feeds = [t for _, tensors in self.calls for t in tensors]
        # The model's inputs -> each backbone call's input (the in-model grey-to-RGB and scaling).
        self.feeder = keras.Model(model.inputs, feeds) if feeds else None
        self.probes = []
        for (sub, _), bns in zip(self.calls, self.layers):
            outputs = []
            for bn in bns:
                x = bn.input
                axis = bn.axis if bn.axis >= 0 else len(x.shape) + bn.axis
                spatial = tuple(i for i in range(1, len(x.shape)) if i != axis)
                if spatial:
                    outputs += [ops.mean(x, axis=spatial), ops.var(x, axis=spatial)]
                else:
                    outputs += [x, ops.zeros_like(x)]
            self.probes.append(_training_call(keras.Model(sub.inputs, outputs, name=f"{sub.name}_bn_probe")))

    def __bool__(self):
        return bool(self.calls)

    def update(self, x: dict, batch_size: int) -> float:
        """Set the statistics from the samples ``x`` (the model's input arrays by name); seconds taken."""
        if not self:
            return 0.0
        start = time.perf_counter()
        n = len(next(iter(x.values())))
        sums = [[None] * len(bns) for bns in self.layers]
        count = 0
        for begin in range(0, n, batch_size):
            batch = {k: v[begin:begin + batch_size] for k, v in x.items()}
            feeds = self.feeder.predict_on_batch(batch)
            feeds = feeds if isinstance(feeds, (list, tuple)) else [feeds]
            i = 0
            rows = len(next(iter(batch.values())))
            for b, ((sub, tensors), probe) in enumerate(zip(self.calls, self.probes)):
                for _ in tensors:  # one call per image the backbone sees, as in a training step
                    out = probe(feeds[i])
                    i += 1
                    for j in range(len(self.layers[b])):
                        mean = np.asarray(out[2 * j], dtype=np.float64)
                        var = np.asarray(out[2 * j + 1], dtype=np.float64)
                        s = np.stack([mean.sum(0), (var + mean ** 2).sum(0)])
                        sums[b][j] = s if sums[b][j] is None else sums[b][j] + s
            count += rows
        for b, bns in enumerate(self.layers):
            calls = len(self.calls[b][1])
            for j, bn in enumerate(bns):
                mean = sums[b][j][0] / (count * calls)
                var = np.maximum(sums[b][j][1] / (count * calls) - mean ** 2, 0.0)
                bn.moving_mean.assign(mean.astype("float32"))
                bn.moving_variance.assign(var.astype("float32"))
        return time.perf_counter() - start
