"""Adaptive pooling: average or max pooling to a fixed spatial output size.

Output position ``i`` of an axis of length ``L`` pooled to ``n`` covers the input
slice ``[floor(i * L / n), ceil((i + 1) * L / n))``, as in Keras (and PyTorch).
"""

from __future__ import annotations

from lamina.layers.convolutional import conv_args
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops.nn_conv import adaptive_average_pool, adaptive_max_pool


class _AdaptivePooling(Layer):
    """Pools ``(batch, *spatial, channels)`` (or channels-first) inputs to ``output_size``.

    Args:
        output_size: an int (the same size for every spatial axis) or a tuple of
            one int per spatial axis.
        data_format: ``"channels_last"`` (default: ``image_data_format()``) or
            ``"channels_first"``.
    """

    rank: int
    pool = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(output_size, int) and not isinstance(output_size, bool):
            output_size = (output_size,) * self.rank
        elif isinstance(output_size, (list, tuple)) and len(output_size) == self.rank:
            output_size = tuple(output_size)
        else:
            raise TypeError(f"{type(self).__name__} expects `output_size` to be an int or a "
                            f"tuple of {self.rank} ints. Received: output_size={output_size!r}")
        self.output_size = output_size
        self.data_format = conv_args.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        return self.pool(inputs, self.output_size, self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self):
        config = super().get_config()
        config.update({"output_size": self.output_size, "data_format": self.data_format})
        return config


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average pooling of ``(batch, steps, channels)`` inputs to ``output_size`` steps."""

    rank = 1
    pool = staticmethod(adaptive_average_pool)


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Average pooling of images to ``output_size`` ``(height, width)``."""

    rank = 2
    pool = staticmethod(adaptive_average_pool)


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Average pooling of volumes to ``output_size`` ``(depth, height, width)``."""

    rank = 3
    pool = staticmethod(adaptive_average_pool)


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max pooling of ``(batch, steps, channels)`` inputs to ``output_size`` steps."""

    rank = 1
    pool = staticmethod(adaptive_max_pool)


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max pooling of images to ``output_size`` ``(height, width)``."""

    rank = 2
    pool = staticmethod(adaptive_max_pool)


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max pooling of volumes to ``output_size`` ``(depth, height, width)``."""

    rank = 3
    pool = staticmethod(adaptive_max_pool)
