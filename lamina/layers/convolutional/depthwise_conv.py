"""Depthwise convolutions: each input channel convolved with its own filters."""

from __future__ import annotations

from lamina import constraints, initializers, regularizers
from lamina.layers.convolutional import conv_args
from lamina.layers.convolutional.base_conv import ConvCommon
from lamina.saving.serialization import serialize_keras_object as _ser


def depthwise_kernel_as_grouped(kernel):
    """Reshapes a ``(..., in, multiplier)`` depthwise kernel to a grouped ``(..., 1, in*m)`` one.

    Output channel ``c * multiplier + m`` is input channel ``c`` through filter ``m``,
    which is exactly the row-major flattening of the last two axes.
    """
    return kernel.reshape(kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))


class BaseDepthwiseConv(ConvCommon):
    """A depthwise convolution of rank ``rank``.

    Each of the ``C`` input channels is convolved with ``depth_multiplier`` filters of
    its own, giving ``C * depth_multiplier`` output channels (no mixing across channels).

    Args:
        rank: number of spatial dimensions.
        kernel_size, strides, padding, data_format, dilation_rate: window arguments;
            padding is ``"valid"`` or ``"same"``.
        depth_multiplier: filters per input channel.
        activation, use_bias: output activation and whether a bias is added.
        depthwise_initializer, bias_initializer: default ``glorot_uniform`` and ``zeros``.
        depthwise_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        depthwise_constraint, bias_constraint: optional projections after updates.

    Weights: ``kernel`` of shape ``kernel_size + (C, depth_multiplier)`` then ``bias`` of
    shape ``(C * depth_multiplier,)``.
    """

    def __init__(self, rank: int, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, check_dilation=False, **kwargs)
        self.depth_multiplier = conv_args.check_positive_int(depth_multiplier,
                                                             "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_output_size(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="kernel")
        self._add_bias_weight(channels * self.depth_multiplier)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        x = self._cast_inputs(inputs)
        kernel = depthwise_kernel_as_grouped(self.kernel.value)
        x = self._convolve(x, kernel, self.strides, self.padding, self.dilation_rate,
                           groups=self.kernel.shape[-2])
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        config["depth_multiplier"] = self.depth_multiplier
        config.update(self._common_config())
        config.update(self._tail_config())
        config.update({
            "depthwise_initializer": _ser(self.depthwise_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "depthwise_regularizer": _ser(self.depthwise_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "depthwise_constraint": _ser(self.depthwise_constraint),
            "bias_constraint": _ser(self.bias_constraint),
        })
        return config


class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution over ``(batch, steps, channels)`` inputs.

    See ``BaseDepthwiseConv``; ``kernel`` has shape ``(kernel_size, C, depth_multiplier)``.
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution over ``(batch, rows, cols, channels)`` inputs.

    See ``BaseDepthwiseConv``; ``kernel`` has shape ``kernel_size + (C, depth_multiplier)``.
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
