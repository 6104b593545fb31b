"""The optimiser factory: ``TrainConfig.optimizer``, ``learning_rate`` and ``schedule`` -> Keras."""

from __future__ import annotations


def make_optimizer(train, total_steps: int):
    """A fresh Keras optimiser for ``train`` (cosine decay over ``total_steps`` when asked)."""
    import keras

    lr = train.learning_rate
    if train.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, total_steps))
    return {"adam": keras.optimizers.Adam, "sgd": lambda learning_rate: keras.optimizers.SGD(
        learning_rate, momentum=0.9), "rmsprop": keras.optimizers.RMSprop}[train.optimizer](learning_rate=lr)
