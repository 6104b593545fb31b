"""The training engine: what one process keeps between runs and configurations, in one object.

Tracing the training step of two InceptionV3s takes minutes on a CPU, far more than a quick
run's epochs, so one compiled model serves every run (and every configuration) with the same
graph (:func:`d2tl.model.graph.graph_key`). Each run then copies in the weights of a freshly
built model and resets the optimiser and dropout seed states, which is exactly "a new model per
run" without re-tracing (:meth:`Engine.fresh_start`). The engine also keeps the saving views,
the precise-BN estimators, the cached-feature path's feature models, compiled heads and features,
and whether TensorFlow's global seed was set (:mod:`d2tl.model.seeding`).

One engine per command (or per caller that trains many configurations); a fresh engine gives
the same results as a used one, only with its graphs traced again.
"""

from __future__ import annotations

import collections
import dataclasses
import time

import numpy as np

from . import execution
from ..io.errors import D2TLError
from ..model.graph import graph_key, head_key
from ..model.precise_bn import PreciseBN
from ..model.weights import Weights
from . import features as F
from .optimizers import make_optimizer
from ..model.seeding import seed_everything


class Engine:
    """Compiled models, views, precise-BN estimators and the cached-feature store of one process
    (or one caller); ``optimizer_factory(train, total_steps)`` makes every optimiser."""

    def __init__(self, optimizer_factory=make_optimizer, max_cached_features: int = F.MAX_CACHED):
        self.optimizer_factory = optimizer_factory
        self.max_cached_features = max_cached_features
        self.compiled: dict = {}  # (graph key, strategy key) -> (compiled model, optimiser's initial state)
        self.views: dict = {}  # id(compiled model) -> (model, its uncompiled view)
        self.bn: dict = {}  # id(model) -> (model, its PreciseBN)
        self.feature_models: dict = {}  # id(full model) -> (full model, its feature model)
        self.heads: dict = {}  # (head key, strategy key) -> (compiled head, its optimiser's initial state)
        self.features: collections.OrderedDict = collections.OrderedDict()  # fingerprint -> feature dicts
        self.tensorflow_seeded = False

    @property
    def graphs(self) -> int:
        """How many full-model graphs this engine has compiled."""
        return len(self.compiled)

    # -- seeding --
    def seed(self, seed: int, deterministic: bool) -> None:
        """Seed one run (:func:`d2tl.model.seeding.seed_everything`); TensorFlow's global seed
        only on the engine's first run."""
        seed_everything(seed, deterministic, seed_tensorflow=not self.tensorflow_seeded)
        self.tensorflow_seeded = True

    # -- the full model --
    def compiled_model(self, config, total_steps: int):
        """The engine's compiled model for ``config``'s graph (built once), and its optimiser's
        initial state.

        Built under the configuration's dtype policy and, inside :func:`d2tl.training.execution.distribution`,
        under the strategy's scope (variables mirrored on every device). Under a mixed_float16
        policy ``compile`` wraps the optimiser in a ``LossScaleOptimizer``; its state is
        ``model.optimizer``'s, loss scale included.
        """
        from ..model import build_model

        execution.check_support(config.train)
        key = (graph_key(config, total_steps), execution.strategy_key())
        if key not in self.compiled:
            with execution.strategy_scope(), execution.precision_scope(config.train.precision):
                model, _ = build_model(dataclasses.replace(config.model, weights="random"), Weights("random"))
                optimizer = self.optimizer_factory(config.train, total_steps)
                jit = execution.effective_jit(config.train.jit_compile)
                model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"],
                              jit_compile=jit)
                if jit and not model.jit_compile:
                    raise D2TLError("Keras turned XLA off for this model (under TensorFlow: op determinism is on "
                                    "in this process, set by an earlier deterministic run); run --jit with "
                                    "--nondeterministic in a new process")
                model.optimizer.build(model.trainable_variables)
            self.compiled[key] = (model, [np.array(v) for v in model.optimizer.variables])
        return self.compiled[key]

    def fresh_start(self, config, seed: int, total_steps: int, weights):
        """The compiled model, set to the state a newly built model would have under ``seed``
        (backbones from ``weights``, the resolved :class:`d2tl.model.weights.Weights`).

        The fresh model only supplies values (variables are float32 under every precision), so it
        is built outside any strategy scope, under the global dtype policy.
        """
        from ..model import build_model

        self.seed(seed, config.train.deterministic)
        fresh, weights_source = build_model(config.model, weights)
        model, optimizer_state = self.compiled_model(config, total_steps)
        model.set_weights(fresh.get_weights())
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
        for layer in fresh.layers:
            if hasattr(layer, "seed_generator"):
                model.get_layer(layer.name).seed_generator.state.assign(layer.seed_generator.state.value)
        del fresh
        return model, weights_source

    def weights_only(self, model):
        """An uncompiled functional model over ``model``'s own layers (no copy), to save and load.

        Saving the compiled model writes Adam's two moments beside every weight (3x the size:
        575 MB instead of 191 MB per file for dual-mode); the optimiser is reset every run, so its
        state is never needed again.
        """
        import keras

        owner, view = self.views.get(id(model), (None, None))
        if owner is not model:
            view = keras.Model(model.inputs, model.outputs, name=model.name)
            self.views[id(model)] = (model, view)
        return view

    def precise_bn(self, model) -> PreciseBN:
        """The :class:`d2tl.model.precise_bn.PreciseBN` of ``model`` (built on first use)."""
        owner, value = self.bn.get(id(model), (None, None))
        if owner is not model:
            value = PreciseBN(model)
            self.bn[id(model)] = (model, value)
        return value

    # -- the cached-feature path (semi-tune; d2tl.training.features) --
    def feature_model(self, model):
        """The full model's inputs -> its four backbone outputs, built once per full model (so
        its predict function is traced once per engine and graph)."""
        entry = self.feature_models.get(id(model))
        if entry is None or entry[0] is not model:
            entry = self.feature_models[id(model)] = (model, F.build_feature_model(model))
        return entry[1]

    def backbone_features(self, model, x: dict, batch_size: int = 32) -> dict:
        """Image key -> (n, 2048) backbone features of the full ``model`` for inputs ``x`` (one pass)."""
        return F.features_of(self.feature_model(model), x, batch_size)

    def cached_features(self, model, arrays: list, batch_size: int = 32) -> tuple[list, float, bool]:
        """Backbone features of each inputs dict in ``arrays``: (features, seconds, reused).

        Computed with one pass per dict, or reused from memory when the backbone weights and the
        images are those of an earlier call (ImageNet or file weights: every run of a configuration).
        """
        start = time.perf_counter()
        key = F.fingerprint(model, arrays)
        if key in self.features:
            self.features.move_to_end(key)
            return self.features[key], time.perf_counter() - start, True
        found = [self.backbone_features(model, x, batch_size) for x in arrays]
        self.features[key] = found
        while len(self.features) > self.max_cached_features:
            self.features.popitem(last=False)
        return found, time.perf_counter() - start, False

    def compiled_head(self, config, total_steps: int, feature_dim: int = F.FEATURE_DIM):
        """The engine's compiled head for ``config`` (built once), and its optimiser's initial state."""
        import keras

        key = (head_key(config, total_steps, feature_dim), execution.strategy_key())
        if key not in self.heads:  # built like compiled_model: same dtype policy, strategy and XLA setting
            with execution.strategy_scope(), execution.precision_scope(config.train.precision):
                head = F.head_model(config.model, feature_dim)
                head.compile(optimizer=self.optimizer_factory(config.train, total_steps),
                             loss="categorical_crossentropy", metrics=["accuracy"],
                             jit_compile=execution.effective_jit(config.train.jit_compile))
                head.optimizer.build(head.trainable_variables)
            self.heads[key] = (head, [keras.ops.convert_to_numpy(v) for v in head.optimizer.variables])
        return self.heads[key]

    def start_head(self, model, config, total_steps: int):
        """The compiled head in the state of ``model``'s head: weights, dropout seeds, fresh optimiser."""
        head, optimizer_state = self.compiled_head(config, total_steps, F.feature_dim_of(model))
        for variable, value in zip(head.optimizer.variables, optimizer_state):
            variable.assign(value)
        F.copy_head(model, head)
        return head
