"""Separable convolutions: a depthwise convolution followed by a 1x1 pointwise one."""

from __future__ import annotations

from lamina import constraints, initializers, regularizers
from lamina.layers.convolutional import conv_args
from lamina.layers.convolutional.base_conv import ConvCommon
from lamina.layers.convolutional.depthwise_conv import depthwise_kernel_as_grouped
from lamina.saving.serialization import serialize_keras_object as _ser


class BaseSeparableConv(ConvCommon):
    """A separable convolution of rank ``rank``.

    First each input channel is convolved with ``depth_multiplier`` filters of its own
    (the depthwise step, using the window arguments), then a 1x1 convolution mixes the
    ``C * depth_multiplier`` channels into ``filters`` outputs (the pointwise step).

    Args:
        rank: number of spatial dimensions.
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate: window arguments of
            the depthwise step; padding is ``"valid"`` or ``"same"``.
        depth_multiplier: depthwise filters per input channel.
        activation, use_bias: output activation and whether a bias is added.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer,
            activity_regularizer: optional penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: optional projections.

    Weights, in order: ``depthwise_kernel`` of shape ``kernel_size + (C, depth_multiplier)``,
    ``pointwise_kernel`` of shape ``(1,) * rank + (C * depth_multiplier, filters)``, ``bias``
    of shape ``(filters,)``.
    """

    def __init__(self, rank: int, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, check_dilation=False, **kwargs)
        self.filters = conv_args.check_positive_int(filters, "filters")
        self.depth_multiplier = conv_args.check_positive_int(depth_multiplier,
                                                             "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_output_size(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias_weight(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        x = self._cast_inputs(inputs)
        depthwise = depthwise_kernel_as_grouped(self.depthwise_kernel.value)
        x = self._convolve(x, depthwise, self.strides, self.padding, self.dilation_rate,
                           groups=self.depthwise_kernel.shape[-2])
        ones = (1,) * self.rank
        x = self._convolve(x, self.pointwise_kernel.value, ones, "valid", ones)
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        config["depth_multiplier"] = self.depth_multiplier
        config["filters"] = self.filters
        config.update(self._common_config())
        config.update(self._tail_config())
        config.update({
            "depthwise_initializer": _ser(self.depthwise_initializer),
            "pointwise_initializer": _ser(self.pointwise_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "depthwise_regularizer": _ser(self.depthwise_regularizer),
            "pointwise_regularizer": _ser(self.pointwise_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "activity_regularizer": _ser(self.activity_regularizer),
            "depthwise_constraint": _ser(self.depthwise_constraint),
            "pointwise_constraint": _ser(self.pointwise_constraint),
            "bias_constraint": _ser(self.bias_constraint),
        })
        return config


class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution over ``(batch, steps, channels)`` inputs.

    See ``BaseSeparableConv`` for the arguments and weights.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class SeparableConv2D(BaseSeparableConv):
    """2D separable convolution over ``(batch, rows, cols, channels)`` inputs.

    See ``BaseSeparableConv`` for the arguments and weights.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


# Keras's long-form aliases.
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
