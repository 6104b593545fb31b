"""Memory of one training step, predicted from the Keras model: what a configuration needs on a GPU.

A training step holds, in bytes (docs/gpu.md, "Memory"):

- weights: every variable of the model (float32 under every precision policy; a mixed policy adds
  a float16 copy of each trained weight, cast for compute and kept for the backward pass);
- gradients: one float32 value per trained weight;
- optimiser state: the slots Keras's optimiser builds per trained weight (Adam: 2 moments; a
  gradient accumulator more when accumulating), counted by building the optimiser itself;
- activations: full-tune keeps every layer call's output of the step's images for backprop
  (the sum of the layers' output shapes, per case, from the model's own graph) except
  BatchNormalization's, which no gradient reads, plus the largest call's inputs and output
  again as the backward pass's working set; a frozen backbone (semi-tune)
  keeps nothing for backprop, only the largest call's working set (every backbone call at once).
  Activations are in the compute dtype (float32, or 2 bytes under mixed and bfloat16).

The per-side facts come from one backbone build (:func:`d2tl.model.build_backbone`, so the test
stand-in when it is set) and the head's; the architectures differ by how many backbones there are
and how many images each sees (:mod:`d2tl.model.wiring`). :mod:`d2tl.training.memory_fit` turns
a prediction into micro-batches, :mod:`d2tl.training.memory_measure` measures a step.
"""

from __future__ import annotations

import dataclasses
import math

from ..protocol.views import IMAGES

FLOAT32 = 4
COMPUTE_BYTES = {"float32": 4, "mixed": 2, "bfloat16": 2}


@dataclasses.dataclass(frozen=True)
class BackboneFacts:
    """Per image through one backbone: elements kept for backprop (every layer call's output),
    the largest call's working set (its inputs and output), and the backbone's parameters."""

    kept: int
    working: int
    params: int
    feature_dim: int = 0


@dataclasses.dataclass(frozen=True)
class StepMemory:
    """Bytes of one training step, by part; ``total`` is the predicted peak."""

    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "total": self.total}


def _elements(shape) -> int:
    return math.prod(d for d in shape[1:] if d is not None)


def _freed(layer) -> bool:
    """Whether backprop drops this call's output: BatchNormalization's, which its gradient does
    not read (it reads its input, the convolution's output) nor does the ReLU after it (it reads
    its own output). Measured: counting them over-predicted a step's activations by half."""
    from keras import layers

    return isinstance(layer, layers.BatchNormalization)


def graph_facts(model) -> BackboneFacts:
    """Walk ``model``'s functional graph (nested models included, each call counted) for the
    elements per sample kept for backprop and the largest call's working set."""
    kept, working = 0, 0
    for nodes in model._nodes_by_depth.values():  # Keras's own graph of calls, as d2tl.model.flops
        for node in nodes:
            layer = node.operation
            if hasattr(layer, "_nodes_by_depth"):
                inner = graph_facts(layer)
                kept, working = kept + inner.kept, max(working, inner.working)
                continue
            out = sum(_elements(t.shape) for t in node.outputs)
            kept += 0 if _freed(layer) else out
            working = max(working, out + sum(_elements(t.shape) for t in node.input_tensors))
    params = sum(math.prod(w.shape) for w in model.weights)
    return BackboneFacts(kept, working, params, int(model.outputs[0].shape[-1]))


def backbone_facts(input_size: int) -> BackboneFacts:
    """Facts of one backbone at ``input_size`` px, from a randomly initialised build."""
    from ..model import build_backbone

    return graph_facts(build_backbone(input_size, None, "backbone"))


def head_params(model_config, feature_dim: int) -> int:
    """Parameters of the head (:func:`d2tl.model.head`) on ``feature_dim``-D backbone features."""
    import keras

    from ..model import head

    features = {key: keras.Input((feature_dim,), name=key) for key in IMAGES}
    model = keras.Model(features, head(features, model_config))
    return sum(math.prod(w.shape) for w in model.weights)


def optimizer_slots(train, accumulation: int = 1) -> int:
    """Optimiser values per trained weight, counted on Keras's own optimiser built for a
    1000-value variable (scalars such as the step count left out)."""
    import keras

    from .optimizers import make_optimizer

    optimizer = make_optimizer(dataclasses.replace(train, accumulation=accumulation), 1)
    optimizer.build([keras.Variable(keras.ops.zeros((1000,)))])
    return sum(math.prod(v.shape) for v in optimizer.variables) // 1000


def feature_batch() -> int:
    """Cases per call of the semi-tune feature pass (:meth:`d2tl.training.engine.Engine.cached_features`)."""
    import inspect

    from .engine import Engine

    return inspect.signature(Engine.cached_features).parameters["batch_size"].default


class MemoryModel:
    """Predicts :class:`StepMemory` per configuration; builds each backbone side once (a test or
    a command holds one object, so the cache lives with it)."""

    def __init__(self, facts=backbone_facts):
        self._facts_of = facts
        self._facts: dict = {}
        self._slots: dict = {}
        self._head: dict = {}

    def facts(self, input_size: int) -> BackboneFacts:
        if input_size not in self._facts:
            self._facts[input_size] = self._facts_of(input_size)
        return self._facts[input_size]

    def step(self, config, cases: int | None = None, accumulation: int | None = None) -> StepMemory:
        """The step of ``config`` with ``cases`` cases per (micro-)batch (default: its batch
        over its accumulation steps)."""
        from ..model.wiring import backbone_count

        train, model = config.train, config.model
        k = accumulation or train.accumulation
        cases = cases or -(-train.batch_size // k)
        facts = self.facts(model.input_size)
        head = self._head_params(model, facts.feature_dim)
        backbones = backbone_count(model.architecture) * facts.params
        trained = head + (backbones if model.tuning == "full" else 0)
        act = COMPUTE_BYTES[train.precision]
        cast = trained * act if train.precision != "float32" else 0
        images = cases * len(IMAGES)
        if model.tuning == "full":
            activations = images * (facts.kept + facts.working)
        else:  # frozen backbones: only the working set, every image's call at once
            activations = max(images, feature_batch() * len(IMAGES)) * facts.working
        slots = self._optimizer_slots(train, k)
        return StepMemory(weights=(backbones + head) * FLOAT32 + cast, gradients=trained * FLOAT32,
                          optimizer=trained * slots * FLOAT32, activations=activations * act)

    def _head_params(self, model_config, feature_dim: int) -> int:
        key = (model_config.dense_units, feature_dim)
        if key not in self._head:
            self._head[key] = head_params(model_config, feature_dim)
        return self._head[key]

    def _optimizer_slots(self, train, accumulation: int) -> int:
        key = (train.optimizer, train.schedule, accumulation)
        if key not in self._slots:
            self._slots[key] = optimizer_slots(train, accumulation)
        return self._slots[key]
