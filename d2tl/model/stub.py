"""The test stand-in for InceptionV3 (``D2TL_TEST_BACKBONE=stub``).

For tests only: with the variable set, every model this process builds has a tiny CNN in
InceptionV3's place, so subprocess tests (shards, kills) can run many model graphs quickly.
It is recorded in the run's provenance (``execution.test_backbone``, :func:`d2tl.training.execution.describe`)
and never set by d2tl itself.
"""

from __future__ import annotations

import os

TEST_BACKBONE_ENV = "D2TL_TEST_BACKBONE"


def stand_in_backbone() -> str | None:
    """The test stand-in this process is asked for (``"stub"``), or None."""
    return os.environ.get(TEST_BACKBONE_ENV) or None


def stub_backbone(input_size: int, weights: str | None, name: str):
    """A tiny CNN with InceptionV3's inputs (Conv + BatchNormalization, an 8-D pooled feature
    instead of 2048-D): same heads, training and evaluation; for tests only."""
    import keras
    from keras import layers

    inputs = keras.Input((input_size, input_size, 3))
    x = layers.Conv2D(4, 3, strides=4, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(8)(x), name=name)
