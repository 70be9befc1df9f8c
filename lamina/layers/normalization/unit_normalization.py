"""UnitNormalization: scales inputs to unit L2 norm along an axis."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit
from lamina.layers.normalization.layer_normalization import check_axes


class UnitNormalization(BuiltAtInit, Layer):
    """Divides each input by its L2 norm over ``axis``, so the norm becomes 1.

    Norms below ``1e-12`` are treated as ``1e-12`` (the output of an all-zero
    slice stays zero).

    Args:
        axis: int or list/tuple of ints: the axes the norm is taken over.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a "
                            f"list/tuple of ints. Received: axis={axis}")

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        check_axes(self, axes, tuple(input_shape))
        self.built = True

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        square_sum = jnp.sum(jnp.square(inputs), axis=axis, keepdims=True)
        inv_norm = jnp.minimum(lax.rsqrt(square_sum), 1.0 / 1e-12)
        return inputs * inv_norm.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
