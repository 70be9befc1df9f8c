"""Sequential: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from lamina.graph import KerasTensor
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer, _tuplify
from lamina.models.functional import Functional
from lamina.models.model import Model
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object
from lamina.utils.naming import uniquify


class Sequential(Model):
    """A model whose layers are applied one after the other.

    Args:
        layers: optional list of layers (an ``Input``/``InputLayer`` first fixes the
            input shape; otherwise the model is built on its first call).
        name: the model's name.
    """

    _keras_module = "keras.src.models.sequential"
    _compiles_eager_calls = True

    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or uniquify("sequential"), trainable=trainable)
        self._init_model_state()
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    def add(self, layer, rebuild: bool = True) -> None:
        """Appends a layer (or an ``Input`` tensor) to the stack."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer instance, received "
                            f"{type(layer).__name__}: {layer!r}.")
        if isinstance(layer, InputLayer) and self._layers:
            raise ValueError(f"Sequential model '{self.name}': an InputLayer can only be the "
                             "first layer.")
        if any(layer.name == x.name for x in self._layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name {layer.name!r} is already the name of a layer in this model.")
        self._layers.append(layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Removes and returns the last layer."""
        if not self.layers:
            raise TypeError(f"Sequential model '{self.name}' has no layers to pop.")
        layer = self._layers.pop()
        if rebuild:
            self._maybe_rebuild()
        return layer

    @property
    def layers(self) -> list:
        return [x for x in self._layers if not isinstance(x, InputLayer)]

    def _maybe_rebuild(self) -> None:
        self.built = False
        self._functional = None
        if not self._layers:
            return
        first = self._layers[0]
        if isinstance(first, InputLayer):
            if len(self._layers) > 1:
                self.build(first.batch_shape)
            return
        if first._batch_input_shape is not None:
            self._layers.insert(0, InputLayer(batch_shape=first._batch_input_shape))
            self.build(first._batch_input_shape)

    def build(self, input_shape=None) -> None:
        if self._layers and isinstance(self._layers[0], InputLayer):
            inputs = self._layers[0].output_tensor
        else:
            if input_shape is None:
                raise ValueError(f"Sequential model '{self.name}' cannot be built without an "
                                 "input shape.")
            layer = InputLayer(batch_shape=tuple(input_shape))
            self._layers.insert(0, layer)
            inputs = layer.output_tensor
        x = inputs
        for layer in self._layers[1:]:
            x = layer(x)
            if isinstance(x, (list, tuple, dict)):
                raise ValueError(f"Sequential model '{self.name}': layer '{layer.name}' returns "
                                 "several tensors; every layer of a Sequential model must "
                                 "return exactly one. Use the functional API instead.")
        self._functional = Functional(inputs, x, name=self.name)
        self._build_shapes = {"input_shape": tuple(inputs.shape)}
        self.built = True

    def call(self, inputs, training=None, mask=None):
        return self._functional.call(inputs, training=training, mask=mask)

    def _run_graph(self, inputs, training=None, mask=None):
        return self._functional._run_graph(inputs, training=training, mask=mask)

    @property
    def inputs(self):
        return self._functional.inputs if self._functional else None

    @property
    def outputs(self):
        return self._functional.outputs if self._functional else None

    @property
    def input_names(self):
        return self._functional.input_names

    @property
    def output_names(self):
        return self._functional.output_names

    @property
    def input(self):
        return self._functional.input

    @property
    def output(self):
        return self._functional.output

    @property
    def input_shape(self):
        return self._functional.input_shape

    @property
    def output_shape(self):
        return self._functional.output_shape

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": serialize_keras_object(self.dtype_policy),
                  "layers": [serialize_keras_object(x) for x in self._layers]}
        if self.built:
            config["build_input_shape"] = list(self._functional.inputs[0].shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_conf in config["layers"]:
            layer = deserialize_keras_object(layer_conf, custom_objects=custom_objects)
            model.add(layer, rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape"):
            model.build(_tuplify(config["build_input_shape"]))
        return model
