"""The Model class: a Layer that can be trained, saved and summarized.

``Model(inputs, outputs)`` returns a functional model (a graph of layers);
subclassing ``Model`` and writing ``call`` gives a subclassed model.
"""

from __future__ import annotations

import collections

from lamina.graph import KerasTensor, flatten
from lamina.layers.layer import Layer, _tuplify
from lamina.metrics.metric import Metric
from lamina.optimizers.optimizer import Optimizer
from lamina.saving.model_saving import ModelSaving
from lamina.training.trainer import Trainer
from lamina.utils.naming import to_snake_case, uniquify


def _is_functional_call(args, kwargs) -> bool:
    """Whether a Model is constructed from symbolic inputs and outputs (structures of
    KerasTensors), positionally or by keyword."""
    inputs = kwargs.get("inputs", args[0] if args else None)
    outputs = kwargs.get("outputs", args[1] if len(args) > 1 else None)
    leaves = flatten([inputs, outputs])
    return inputs is not None and outputs is not None and bool(leaves) and all(
        isinstance(t, KerasTensor) for t in leaves)


def _append_once(items: list, value) -> None:
    if all(value is not item for item in items):
        items.append(value)


def _functional_variant(cls):
    """``cls`` with Functional mixed in after it, made once per class and kept on it:
    the subclass's methods (e.g. ``train_step``) come first, then Functional's."""
    from lamina.models.functional import Functional

    variant = cls.__dict__.get("_functional_class")
    if variant is None:
        variant = type(cls.__name__, (cls, Functional), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__})
        cls._functional_class = variant
    return variant


class Model(ModelSaving, Trainer, Layer):
    """A trainable group of layers.

    ``Model(inputs, outputs, name=None)`` builds a functional model from symbolic
    tensors; a subclass defines its layers in ``__init__`` and its forward pass in
    ``call``.
    """

    _keras_module = "keras"

    def __new__(cls, *args, **kwargs):
        from lamina.models.functional import Functional

        if _is_functional_call(args, kwargs) and not issubclass(cls, Functional):
            # Model(inputs, outputs), or a subclass called so (a functional subclass,
            # e.g. one that overrides train_step): the instance is also a Functional.
            return object.__new__(Functional if cls is Model else _functional_variant(cls))
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs):
            raise TypeError(f"{type(self).__name__}: inputs and outputs were given, but the "
                            "class does not build a functional model.")
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        if args or kwargs:
            raise TypeError(f"Unrecognized arguments to Model: {args} {kwargs}. Pass "
                            "`inputs` and `outputs` for a functional model.")
        super().__init__(name=name or uniquify(to_snake_case(type(self).__name__)),
                         trainable=trainable, dtype=dtype)
        self._init_model_state()

    def _init_model_state(self) -> None:
        """Training attributes every model has before ``compile``."""
        self.stop_training = False
        self.compiled = False
        self.optimizer = None
        self.run_eagerly = False
        self.history = None
        self._steps_per_execution = 1
        self._compiled_loss = None
        self._compiled_metrics = None
        self._loss_tracker = None
        self._output_loss_trackers = []
        self._jit_cache = {}
        self._trace_counts = collections.Counter()
        self._target_tensors = None
        self._losses_override = None
        self._rng = None  # the key steps draw from, made on first use

    def __setattr__(self, name, value):
        # Metrics and optimizers held as public attributes join ``metrics`` and the
        # step state's ``optimizer_variables``, as in Keras.
        if not name.startswith("_") and name != "optimizer":
            if isinstance(value, Metric):
                _append_once(self.__dict__.setdefault("_tracked_metrics", []), value)
            elif isinstance(value, Optimizer):
                _append_once(self.__dict__.setdefault("_tracked_optimizers", []), value)
        super().__setattr__(name, value)

    def build(self, input_shape=None) -> None:
        """Builds a subclassed model by tracing ``call`` on symbolic inputs of
        ``input_shape`` (one shape, or a list of shapes for several inputs)."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(f"Model '{self.name}' cannot be built without an input shape.")
        shape = _tuplify(input_shape)
        if all(d is None or isinstance(d, int) for d in shape):
            spec = KerasTensor(shape)
        else:
            spec = [KerasTensor(s) for s in shape]
        self.built = True  # so that tracing call does not come back here
        self.compute_output_spec(spec)
        self._build_shapes = {"input_shape": shape}

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Returns a layer by name or by index in ``model.layers`` (exactly one of them)."""
        if (name is None) == (index is None):
            raise ValueError("Provide exactly one of `name` or `index` to get_layer, received "
                             f"name={name!r}, index={index!r}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model "
                                 f"'{self.name}' only has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")

    def export(self, filepath, format="jax", verbose=None, input_signature=None, **kwargs):
        """Writes the inference call for serving: ``format="jax"`` or ``"onnx"``
        (arguments in ``lamina.export.model_export.export_model``)."""
        from lamina.export.model_export import export_model

        export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from lamina.utils.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    def get_config(self) -> dict:
        # A subclassed model's config is what its constructor was given, when it
        # overrides get_config; the base only knows its name and trainability.
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            from lamina.models.functional import Functional
            from lamina.models.functional_config import functional_from_config

            return functional_from_config(Functional if cls is Model else cls, config,
                                          custom_objects)
        return cls(**config)
