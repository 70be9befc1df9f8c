"""Global pooling: reduce every spatial axis to one value per channel."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.convolutional import conv_args
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit


class BaseGlobalPooling(BuiltAtInit, Layer):
    """Reduces all spatial axes of ``(batch, *spatial, channels)`` inputs.

    Args:
        pool_dimensions: number of spatial dimensions (1, 2 or 3).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        keepdims: keep the spatial axes with size 1 instead of dropping them.
    """

    def __init__(self, pool_dimensions: int, data_format=None, keepdims: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.pool_dimensions = pool_dimensions
        self.data_format = conv_args.standardize_data_format(data_format)
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def _spatial_axes(self) -> tuple[int, ...]:
        start = 2 if self.data_format == "channels_first" else 1
        return tuple(range(start, start + self.pool_dimensions))

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.pool_dimensions + 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank "
                f"{self.pool_dimensions + 2} (batch, {self.pool_dimensions} spatial dims, "
                f"channels), but received an input of rank {len(input_shape)} with shape "
                f"{input_shape}.")
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        return jnp.max(inputs, axis=self._spatial_axes(), keepdims=self.keepdims)


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        return jnp.mean(inputs, axis=self._spatial_axes(), keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalMax):
    """Max over the steps of ``(batch, steps, channels)`` inputs -> ``(batch, channels)``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format=data_format, keepdims=keepdims, **kwargs)


class GlobalMaxPooling2D(_GlobalMax):
    """Max over rows and columns of 4D inputs -> ``(batch, channels)``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format=data_format, keepdims=keepdims, **kwargs)


class GlobalMaxPooling3D(_GlobalMax):
    """Max over the three spatial axes of 5D inputs -> ``(batch, channels)``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, data_format=data_format, keepdims=keepdims, **kwargs)


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over the steps of ``(batch, steps, channels)`` inputs -> ``(batch, channels)``.

    With a ``mask`` of shape ``(batch, steps)`` (True = keep), only unmasked steps are
    averaged; the output carries no mask.
    """

    supports_masking = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps_axis = self._spatial_axes()[0]
        weights = jnp.expand_dims(mask.astype(inputs.dtype),
                                  2 if steps_axis == 1 else 1)
        total = jnp.sum(inputs * weights, axis=steps_axis, keepdims=self.keepdims)
        count = jnp.sum(weights, axis=steps_axis, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and columns of 4D inputs -> ``(batch, channels)``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format=data_format, keepdims=keepdims, **kwargs)


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over the three spatial axes of 5D inputs -> ``(batch, channels)``."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, data_format=data_format, keepdims=keepdims, **kwargs)


# Keras's short aliases.
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
