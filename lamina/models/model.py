"""The Model class: a Layer that can be trained, saved and summarized.

``Model(inputs, outputs)`` returns a functional model (a graph of layers);
subclassing ``Model`` and writing ``call`` gives a subclassed model.
"""

from __future__ import annotations

import collections

from lamina.layers.layer import Layer
from lamina.training.trainer import Trainer
from lamina.utils.naming import to_snake_case, uniquify


def _is_functional_call(args, kwargs) -> bool:
    return len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs or (
        len(args) == 1 and "outputs" in kwargs)


class Model(Trainer, Layer):
    """A trainable group of layers.

    ``Model(inputs, outputs, name=None)`` builds a functional model from symbolic
    tensors; a subclass defines its layers in ``__init__`` and its forward pass in
    ``call``.
    """

    _keras_module = "keras"

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from lamina.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs):
            raise NotImplementedError(
                f"{type(self).__name__}: a Model subclass that passes inputs/outputs to "
                "Model.__init__ (a functional subclass) is not supported by lamina; use "
                "Model(inputs, outputs) or write call().")
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
        self._jit_cache = {}
        self._trace_counts = collections.Counter()
        self._target_tensors = None

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

            return Functional.from_config(config, custom_objects=custom_objects)
        return cls(**config)
