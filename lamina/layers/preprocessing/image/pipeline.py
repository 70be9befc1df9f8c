"""Pipeline: preprocessing layers applied in sequence."""

from __future__ import annotations

from lamina.layers.layer import Layer
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


class Pipeline(Layer):
    """Applies ``layers`` one after the other, passing ``training`` on to those whose
    ``call`` takes it. Unlike ``Sequential`` it is a plain layer (no model, no graph)
    and accepts any input structure, e.g. the image layers' dicts.

    Args:
        layers: a list of layers.
        name: the layer's name.
    """

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(
                isinstance(layer, Layer) for layer in layers):
            raise TypeError(f"Pipeline expects a list of layers. Received: layers={layers!r}")
        # Tracked as sub-layers (weights, training flags), in order.
        self._layers.extend(layers)

    def call(self, inputs, training=True):
        for layer in self._layers:
            inputs = layer(inputs, training=training)
        return inputs

    def _saveable_children(self) -> list:
        # Keras's weights walk reaches the sublayers through its `layers` property.
        return [("layers", list(self._layers))]

    def get_config(self):
        return {"layers": serialize_keras_object(list(self._layers)), "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"A Pipeline config must map `layers` to a list of serialized "
                             f"layers. Received: layers={layers!r}")
        config = dict(config)
        config["layers"] = [deserialize_keras_object(x, custom_objects=custom_objects)
                            for x in layers]
        return cls(**config)
