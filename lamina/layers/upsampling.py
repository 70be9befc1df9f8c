"""Upsampling layers: repeat (or interpolate) along the spatial axes."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.layers.cropping_padding import standardize_data_format, standardize_tuple
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

# Methods ``jax.image.resize`` offers besides "nearest" (which is done by repeats).
_RESIZE_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _repeat_axes(x, sizes, axes):
    for size, axis in zip(sizes, axes):
        x = jnp.repeat(x, size, axis=axis)
    return x


class UpSampling1D(Layer):
    """Repeats each time step ``size`` times along axis 1 of a 3D input.

    Args:
        size: positive int, the upsampling factor.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: "
                             f"size={size}")
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return jnp.repeat(inputs, self.size, axis=1)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(Layer):
    """Upsamples an image batch by ``size`` along height and width.

    Args:
        size: int or pair of ints, the height and width factors.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        interpolation: ``"nearest"`` (repeat rows and columns) or one of
            ``"bilinear"``, ``"bicubic"``, ``"lanczos3"``, ``"lanczos5"``
            (resampling without antialiasing).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 2, "size")
        self.interpolation = interpolation.lower()
        if self.interpolation not in _RESIZE_METHODS:
            raise ValueError("Invalid value for argument `interpolation`. Expected one of "
                             f"{_RESIZE_METHODS}. Received: interpolation={interpolation}")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 2, 3, 1))
        if self.interpolation == "nearest":
            x = _repeat_axes(x, self.size, (1, 2))
        else:
            shape = (x.shape[0], x.shape[1] * self.size[0], x.shape[2] * self.size[1],
                     x.shape[3])
            x = jax.image.resize(x, shape, method=self.interpolation, antialias=False)
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format,
                       "interpolation": self.interpolation})
        return config


class UpSampling3D(Layer):
    """Repeats the three spatial axes of a volume batch by ``size``.

    Args:
        size: int or triple of ints, the factors for the three spatial axes.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 3, "size")
        self.input_spec = InputSpec(ndim=5)

    def call(self, inputs):
        axes = (2, 3, 4) if self.data_format == "channels_first" else (1, 2, 3)
        return _repeat_axes(inputs, self.size, axes)

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config
