"""Transposed convolutions: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

A transposed convolution maps an input to the shape a forward convolution with the
same arguments would have taken as input; it is computed as a convolution of the
stride-dilated input with the spatially flipped kernel.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import constraints, initializers, regularizers
from lamina.layers.convolutional import conv_args
from lamina.layers.convolutional.base_conv import ConvCommon
from lamina.saving.serialization import serialize_keras_object as _ser


class BaseConvTranspose(ConvCommon):
    """A transposed convolution of rank ``rank``.

    Args:
        rank: number of spatial dimensions.
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate: as for the forward
            convolution this layer transposes; padding is ``"valid"`` or ``"same"``.
        output_padding: int or tuple of ``rank`` ints, extra cells added at the end of
            each spatial output axis (each must be < its stride); None lets the output
            size follow from the padding mode.
        activation, use_bias: output activation and whether a bias is added.
        kernel_initializer, bias_initializer: default ``glorot_uniform`` and ``zeros``.
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional projections after updates.

    Weights: ``kernel`` of shape ``kernel_size + (filters, in_channels)`` (note the
    order), then ``bias`` of shape ``(filters,)``.
    """

    def __init__(self, rank: int, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = conv_args.check_positive_int(filters, "filters")
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = conv_args.normalize_tuple(output_padding, rank,
                                                            "output_padding", allow_zero=True)
            for i, (pad, stride) in enumerate(zip(self.output_padding, self.strides)):
                if pad >= stride:
                    raise ValueError(
                        "`output_padding` must be strictly less than `strides` for all "
                        f"dimensions. At dimension {i}, `output_padding` is {pad} but "
                        f"`strides` is {stride}. Received: output_padding="
                        f"{self.output_padding}, strides={self.strides}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_padding(self, i: int):
        return None if self.output_padding is None else self.output_padding[i]

    def _check_output_size(self, input_shape) -> None:
        for i, axis in enumerate(self._spatial_axes()):
            out = conv_args.conv_transpose_output_length(
                input_shape[axis], self.kernel_size[i], self.padding, self.strides[i],
                self._output_padding(i), self.dilation_rate[i])
            if out is not None and out <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): computed output size "
                    f"would be zero or negative. Received inputs shape={tuple(input_shape)}, "
                    f"kernel_size={self.kernel_size}, strides={self.strides}, "
                    f"padding={self.padding!r}, output_padding={self.output_padding}.")

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_output_size(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self._add_bias_weight(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        x = self._cast_inputs(inputs)
        # (..., filters, in) -> flipped (..., in, filters): the forward kernel's adjoint.
        kernel = jnp.flip(self.kernel.value, axis=tuple(range(self.rank)))
        kernel = jnp.swapaxes(kernel, -1, -2).astype(x.dtype)
        padding = [
            conv_args.conv_transpose_padding(x.shape[axis], self.kernel_size[i], self.padding,
                                             self.strides[i], self._output_padding(i),
                                             self.dilation_rate[i])
            for i, axis in enumerate(self._spatial_axes())]
        x = jax.lax.conv_general_dilated(
            x, kernel, window_strides=(1,) * self.rank, padding=padding,
            lhs_dilation=self.strides, rhs_dilation=self.dilation_rate,
            dimension_numbers=conv_args.spatial_dimension_numbers(self.rank, self.data_format))
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
        })
        config.update(self._tail_config())
        config.update({
            "kernel_initializer": _ser(self.kernel_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "kernel_regularizer": _ser(self.kernel_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "kernel_constraint": _ser(self.kernel_constraint),
            "bias_constraint": _ser(self.bias_constraint),
        })
        return config


class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution; ``kernel`` has shape ``(kernel_size, filters, C)``.

    See ``BaseConvTranspose`` for the arguments.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution; ``kernel`` has shape ``kernel_size + (filters, C)``.

    See ``BaseConvTranspose`` for the arguments.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution; ``kernel`` has shape ``kernel_size + (filters, C)``.

    See ``BaseConvTranspose`` for the arguments (Keras orders ``data_format`` before
    ``output_padding`` here).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


# Keras's long-form aliases.
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
