"""The network every pre-training trains: InceptionV3 without its top, fed as d2tl.model feeds it
(a grey image in [0, 1], repeated to 3 channels, scaled to [-1, 1]), so that its weights load
into D2TL's backbones unchanged."""

from __future__ import annotations


def grey_inception(side: int, input_name: str):
    """(grey input, backbone, its 2048-D pooled feature of the input): the heads go on the feature;
    the backbone's weights are what a pre-training saves."""
    import keras
    from keras import layers

    inputs = keras.Input((side, side, 1), name=input_name)
    x = layers.Concatenate(axis=-1, name="grey_to_rgb")([inputs] * 3)
    x = layers.Rescaling(2.0, offset=-1.0, name="inception_scaling")(x)  # [0, 1] -> [-1, 1], as d2tl.model
    backbone = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                              input_shape=(side, side, 3))
    return inputs, backbone, backbone(x)
