"""Sequential: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from lamina import user_frames
from lamina.graph import KerasTensor
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer, _tuplify
from lamina.models.functional import Functional, _at
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object
from lamina.utils.naming import uniquify


def _free_batch(shape) -> tuple:
    """``shape`` with its first (batch) dimension left unknown."""
    shape = tuple(shape)
    return (None,) + shape[1:] if shape else shape


def _single(value):
    """The one tensor of a Sequential's input (a one-element list or tuple is unwrapped)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


class Sequential(Functional):
    """A model whose layers are applied one after the other.

    A Sequential model is a functional model whose graph is a single chain: it
    runs, and passes masks, as one, and a Sequential nested in a model is handled
    as a nested functional model. Unlike ``Functional``, its graph can be built
    later: by ``build(input_shape)`` or by its first call. A build caused by
    calling the model on data (``model(x)``, ``predict``, ``fit``, ``evaluate``)
    leaves the batch dimension unknown. As in Keras, a batch size fixed by
    ``build`` or by an ``Input`` shows in the model's shapes but does not restrict
    the batch size of later calls.

    Args:
        layers: optional list of layers (an ``Input``/``InputLayer`` first fixes the
            input shape; otherwise the model is built on its first call).
        name: the model's name.
    """

    _keras_module = "keras"
    _compiles_eager_calls = True

    # Mistakes in the layers given are the user's: they leave with the user's frames
    # (a layer's own call error also carries the lines that created and called it).
    @user_frames.reported_from_user_code
    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or uniquify("sequential"), trainable=trainable)
        self._init_model_state()
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    @user_frames.reported_from_user_code
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
        # Compiled calls traced through the old stack must not be reused.
        self.__dict__.pop("_eager_call_cache", None)
        self._jit_cache = {}
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

    # -- building -------------------------------------------------------------
    @user_frames.reported_from_user_code
    def build(self, input_shape=None) -> None:
        """Builds the graph for inputs of ``input_shape`` (batch dimension included).

        A model that already has an input keeps it; ``input_shape`` must then agree
        with it (a built model is left as it is). Without ``input_shape``, an unbuilt
        model stays unbuilt, as in Keras.
        """
        if not self.layers:
            raise ValueError(f"Sequential model '{self.name}' cannot be built because it has "
                             "no layers. Call `model.add(layer)`.")
        first = self._layers[0]
        if isinstance(first, InputLayer):
            if input_shape is not None and not _compatible(first.batch_shape, input_shape):
                raise ValueError(f"Sequential model '{self.name}' has already been configured "
                                 f"to use input shape {first.batch_shape}. You cannot build it "
                                 f"with input_shape {tuple(input_shape)}.")
            if self.built:
                return
            inputs = first.output_tensor
        else:
            if input_shape is None:
                return
            layer = InputLayer(batch_shape=tuple(input_shape), dtype=first.compute_dtype)
            self._layers.insert(0, layer)
            inputs = layer.output_tensor
        x = inputs
        for layer in self._layers[1:]:
            x = layer(x)
            if isinstance(x, (list, tuple, dict)):
                raise ValueError(f"Sequential model '{self.name}': layer '{layer.name}'"
                                 f"{_at(layer._created_at, 'created')} returns several "
                                 "tensors; every layer of a Sequential model must return "
                                 "exactly one. Use the functional API instead.")
        self._functional = Functional(inputs, x, name=self.name)
        self._build_shapes = {"input_shape": tuple(inputs.shape)}
        self.built = True

    def _maybe_build(self, args: tuple, kwargs: dict) -> None:
        # Symbolic inputs build the graph with their exact shape; data (arrays or
        # tracers inside a train step) leaves the batch dimension free.
        if self.built:
            return
        first = _single(args[0]) if args else None
        if isinstance(first, KerasTensor):
            self.build(first.shape)
        elif hasattr(first, "shape") and len(first.shape) >= 1:
            self.build(_free_batch(first.shape))
        else:
            super()._maybe_build(args, kwargs)

    def _build_by_tracing(self, args: tuple, kwargs: dict) -> None:
        # Called for the first eager call on data: the model is built for any batch size.
        first = _single(args[0]) if args else None
        if hasattr(first, "shape") and len(first.shape) >= 1:
            self.build(_free_batch(first.shape))
        else:
            super()._build_by_tracing(args, kwargs)

    def compute_output_shape(self, input_shape):
        input_shape = _tuplify(input_shape)
        if self.built:
            spec = KerasTensor(input_shape, self.inputs[0].dtype)
            return self.compute_output_spec(spec).shape
        x = KerasTensor(input_shape, self.layers[0].compute_dtype if self.layers else "float32")
        for layer in self.layers:
            x = layer.compute_output_spec(x)
        return x.shape

    # -- running --------------------------------------------------------------
    # Sequential runs as the functional model it is (Functional.call, _run_graph and
    # compute_mask, so masks pass through it as through any nested model), on the
    # graph made by build; only the batch size is not checked, as in Keras.
    def _standardize_input(self, spec: KerasTensor, name: str, x):
        free = KerasTensor(_free_batch(spec.shape), spec.dtype)
        return super()._standardize_input(free, name, x)

    # -- structure ------------------------------------------------------------
    def _graph(self, what: str) -> Functional:
        if self._functional is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {what} yet: "
                                 "it is built on its first call or by `build(input_shape)`.")
        return self._functional

    @property
    def _nodes(self) -> list:
        return self._graph("graph")._nodes

    @property
    def _inputs_struct(self):
        return self._graph("inputs")._inputs_struct

    @property
    def _outputs_struct(self):
        return self._graph("outputs")._outputs_struct

    @property
    def inputs(self):
        return self._graph("inputs").inputs

    @property
    def outputs(self):
        return self._graph("outputs").outputs

    @property
    def input_names(self):
        return self._graph("input names").input_names

    @property
    def output_names(self):
        return self._graph("output names").output_names

    @property
    def input(self):
        return self._graph("input").input

    @property
    def output(self):
        return self._graph("output").output

    @property
    def input_shape(self):
        return self._graph("input shape").input_shape

    @property
    def output_shape(self):
        return self._graph("output shape").output_shape

    # -- config ---------------------------------------------------------------
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


def _compatible(shape, other) -> bool:
    """Whether two shapes agree wherever both are known."""
    other = tuple(other)
    return len(shape) == len(other) and all(
        a is None or b is None or a == b for a, b in zip(shape, other))
