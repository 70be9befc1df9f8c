"""Wrappers: layers that apply another layer (or a whole model) in a new way."""

from __future__ import annotations

from lamina.graph import KerasTensor, map_structure
from lamina.layers.layer import Layer
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


class Wrapper(Layer):
    """Base class of layers that wrap another layer (held as ``self.layer``)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__} expects a Layer instance, received "
                             f"{type(layer).__name__}: {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize_keras_object(config["layer"],
                                                   custom_objects=custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Applies a layer (or model) to every temporal slice of the input.

    Inputs of shape ``(batch, time, ...)`` are folded to ``(batch * time, ...)``, passed
    through the wrapped layer once, and unfolded, so weights are shared across time.

    Args:
        layer: the layer or model to apply at each timestep.
    """

    supports_masking = True

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            raise ValueError(f"Layer '{self.name}' (TimeDistributed) expects an input of rank "
                             f">= 3 (batch, time, ...), received shape {input_shape}.")
        if not self.layer.built:
            self.layer._maybe_build((KerasTensor((None,) + tuple(input_shape[2:])),), {})
        self.built = True

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = inputs.reshape((batch * steps,) + inputs.shape[2:])
        kwargs = {}
        if training is not None:
            kwargs["training"] = training
        out = self.layer(folded, **kwargs)
        return map_structure(lambda y: y.reshape((batch, steps) + y.shape[1:]), out)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask
