"""The optimiser factory: ``TrainConfig.optimizer``, ``learning_rate`` and ``schedule`` -> Keras.

With ``accumulation`` k > 1 the optimiser is Keras's own gradient accumulation
(``gradient_accumulation_steps``): k micro-batch gradients are averaged and applied once. Keras
evaluates a learning-rate schedule at the micro-step count, so the schedule is wrapped in
:class:`PerUpdate`: every update gets the rate the same update gets without accumulation.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="d2tl")
class PerUpdate(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule`` at the update count (micro-step // ``steps``) rather than the micro-step."""

    def __init__(self, schedule, steps: int):
        self.schedule, self.steps = schedule, steps

    def __call__(self, step):
        return self.schedule(keras.ops.floor_divide(step, self.steps))

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "steps": self.steps}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config["schedule"]), config["steps"])


def make_optimizer(train, total_steps: int):
    """A fresh Keras optimiser for ``train`` (cosine decay over ``total_steps`` updates when asked)."""
    lr = train.learning_rate
    k = train.accumulation
    if train.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, total_steps))
        lr = PerUpdate(lr, k) if k > 1 else lr
    extra = {"gradient_accumulation_steps": k} if k > 1 else {}
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, **extra)
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[train.optimizer](
        learning_rate=lr, **extra)
