"""Rescaling: ``inputs * scale + offset`` (e.g. pixel values from [0, 255] to [0, 1])."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.layer import Layer
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


class Rescaling(Layer):
    """Multiplies inputs by ``scale`` and adds ``offset``, in the layer's compute dtype.

    Args:
        scale: a float, or an array broadcastable to the inputs (e.g. per channel).
        offset: a float or broadcastable array (default 0).
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        dtype = self.compute_dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        return inputs.astype(dtype) * scale + offset

    def get_config(self):
        config = super().get_config()
        config.update({"scale": serialize_keras_object(self.scale),
                       "offset": serialize_keras_object(self.offset)})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = deserialize_keras_object(config[key],
                                                       custom_objects=custom_objects)
        return cls(**config)
