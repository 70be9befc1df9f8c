"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector."""

from __future__ import annotations

import math

import jax.numpy as jnp

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit


class Flatten(Layer):
    """Flattens every axis but the batch axis: (batch, ...) -> (batch, prod(...))."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten data_format must be 'channels_last' or "
                             f"'channels_first', received {data_format!r}.")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return inputs.reshape(inputs.shape[0], -1) if inputs.ndim > 1 else inputs[:, None]

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(BuiltAtInit, Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        if sum(1 for d in target_shape if d == -1) > 1:
            raise ValueError(f"Reshape target_shape may hold at most one -1, received "
                             f"{target_shape}.")
        self.target_shape = target_shape

    def build(self, input_shape):
        known = [d for d in input_shape[1:]]
        if all(d is not None for d in known) and -1 not in self.target_shape:
            if math.prod(known) != math.prod(self.target_shape):
                raise ValueError(
                    f"Layer '{self.name}' (Reshape): total size of the new shape "
                    f"{self.target_shape} ({math.prod(self.target_shape)}) must equal that of "
                    f"the input shape {tuple(input_shape[1:])} ({math.prod(known)}).")
        self.built = True

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` is 1-indexed, e.g. ``(2, 1)``."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute 'dims' must be a permutation of 1..{len(self.dims)}, "
                             f"received {self.dims}.")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return jnp.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeats a (batch, features) input ``n`` times: (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"RepeatVector 'n' must be a positive int, received {n!r}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
