"""Windowed pooling: MaxPooling1D/2D/3D and AveragePooling1D/2D/3D."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.layers.convolutional import conv_args
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit


class BasePooling(BuiltAtInit, Layer):
    """Slides a window over the spatial axes and reduces each window to one value.

    Args:
        pool_size: int or tuple of ``rank`` ints, the window size.
        pool_mode: ``"max"`` or ``"average"``.
        pool_dimensions: number of spatial dimensions (1, 2 or 3).
        strides: int or tuple of ``rank`` ints, the window step (default ``pool_size``).
        padding: ``"valid"`` (only full windows) or ``"same"`` (output size
            ``ceil(in / stride)``; padded cells are ignored: they never win a max and do
            not count in an average).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, pool_size, pool_mode: str, pool_dimensions: int, strides=None,
                 padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_mode = pool_mode
        self.pool_dimensions = pool_dimensions
        self.pool_size = conv_args.normalize_tuple(pool_size, pool_dimensions, "pool_size")
        strides = pool_size if strides is None else strides
        self.strides = conv_args.normalize_tuple(strides, pool_dimensions, "strides")
        # Kept as given (Keras stores e.g. "SAME" verbatim) but validated case-insensitively.
        conv_args.standardize_padding(padding)
        self.padding = padding
        self.data_format = conv_args.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def _window(self, ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Window sizes and strides over all ``ndim`` axes (1 on batch and channels)."""
        start = 2 if self.data_format == "channels_first" else 1
        window, strides = [1] * ndim, [1] * ndim
        for i in range(self.pool_dimensions):
            window[start + i] = self.pool_size[i]
            strides[start + i] = self.strides[i]
        return tuple(window), tuple(strides)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.pool_dimensions + 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank "
                f"{self.pool_dimensions + 2} (batch, {self.pool_dimensions} spatial dims, "
                f"channels), but received an input of rank {len(input_shape)} with shape "
                f"{input_shape}.")
        start = 2 if self.data_format == "channels_first" else 1
        padding = self.padding.lower()
        for i in range(self.pool_dimensions):
            out = conv_args.conv_output_length(input_shape[start + i], self.pool_size[i],
                                               padding, self.strides[i])
            if out is not None and out <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): computed output size "
                    f"would be zero or negative. Received inputs shape={input_shape}, "
                    f"pool_size={self.pool_size}, strides={self.strides}, "
                    f"padding={self.padding!r}.")
        self.built = True

    def call(self, inputs):
        window, strides = self._window(inputs.ndim)
        padding = self.padding.upper()
        if self.pool_mode == "max":
            # A concrete (NumPy) init value keeps reduce_window differentiable under jit.
            init = -jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else (
                jnp.iinfo(inputs.dtype).min)
            return jax.lax.reduce_window(inputs, np.asarray(init, inputs.dtype), jax.lax.max,
                                         window, strides, padding)
        summed = jax.lax.reduce_window(inputs, np.asarray(0, inputs.dtype), jax.lax.add,
                                       window, strides, padding)
        if padding == "VALID":
            count = 1
            for size in self.pool_size:
                count *= size
            return summed / count
        # 'same': divide each window by the number of real (unpadded) cells it covers.
        ones = jnp.ones(tuple(inputs.shape[a] if w > 1 else 1 for a, w in enumerate(window)),
                        inputs.dtype)
        counts = jax.lax.reduce_window(ones, np.asarray(0, inputs.dtype), jax.lax.add,
                                       window, strides, padding)
        return summed / counts

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        })
        return config


class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps of ``(batch, steps, channels)`` inputs."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, "max", 1, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows of ``(batch, rows, cols, channels)`` inputs."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, "max", 2, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


class MaxPooling3D(BasePooling):
    """Max over ``pool_size`` windows of ``(batch, d1, d2, d3, channels)`` inputs."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, "max", 3, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps of ``(batch, steps, channels)`` inputs."""

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, "average", 1, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows of ``(batch, rows, cols, channels)`` inputs."""

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, "average", 2, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


class AveragePooling3D(BasePooling):
    """Mean over ``pool_size`` windows of ``(batch, d1, d2, d3, channels)`` inputs."""

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(pool_size, "average", 3, strides=strides, padding=padding,
                         data_format=data_format, name=name, **kwargs)


# Keras's short aliases.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
