"""Shared machinery of the convolution layers.

``ConvCommon`` holds what every convolution (standard, depthwise, separable,
transposed) shares: the window arguments, the data format, the input-rank check,
bias and activation. ``BaseConv`` adds the standard convolution's ``filters``,
``groups`` and ``kernel``; ``Conv1D``/``Conv2D``/``Conv3D`` only fix its rank.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import activations, constraints, dtypes, initializers, regularizers
from lamina.layers.convolutional import conv_args
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_keras_object as _ser


class ConvCommon(Layer):
    """Window arguments, input checks, bias and activation shared by all convolutions.

    Args:
        rank: number of spatial dimensions (1, 2 or 3).
        kernel_size: int or tuple of ``rank`` ints, the window size.
        strides: int or tuple of ``rank`` ints, the step between windows.
        padding: ``"valid"`` (no padding), ``"same"`` (output size ``ceil(in / stride)``)
            or, where ``allow_causal``, ``"causal"`` (left padding only).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate: int or tuple of ``rank`` ints, the spacing of kernel taps.
        activation: applied to the output (default linear).
        use_bias: whether a bias vector is added.
    """

    # XLA:CPU runs convolutions inside loops (a scan over several train steps) several
    # times slower than at top level, so the trainer does not fuse steps around them.
    _fuses_into_loops = False


    def __init__(self, rank: int, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 bias_regularizer=None, activity_regularizer=None, bias_constraint=None,
                 allow_causal: bool = False, check_dilation: bool = True, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.kernel_size = conv_args.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_args.normalize_tuple(strides, rank, "strides")
        self.dilation_rate = conv_args.normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = conv_args.standardize_padding(padding, allow_causal=allow_causal)
        self.data_format = conv_args.standardize_data_format(data_format)
        if check_dilation:
            conv_args.check_strides_and_dilation(self.strides, self.dilation_rate)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    # -- shapes ---------------------------------------------------------------
    @property
    def channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def _spatial_axes(self) -> tuple[int, ...]:
        start = 2 if self.data_format == "channels_first" else 1
        return tuple(range(start, start + self.rank))

    def _input_channels(self, input_shape) -> int:
        """Checks the input's rank and returns its (known) channel count."""
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of rank "
                f"{self.rank + 2} (batch, {self.rank} spatial dims, channels), but received "
                f"an input of rank {len(input_shape)} with shape {input_shape}.")
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the channel dimension of the "
                f"inputs (axis {self.channel_axis}, data_format={self.data_format!r}) must be "
                f"known, received shape {input_shape}.")
        return int(channels)

    def _check_output_size(self, input_shape) -> None:
        """Raises if a known spatial dimension would shrink to zero or less."""
        for axis, k, s, d in zip(self._spatial_axes(), self.kernel_size, self.strides,
                                 self.dilation_rate):
            out = conv_args.conv_output_length(input_shape[axis], k, self.padding, s, d)
            if out is not None and out <= 0:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): computed output size "
                    f"would be zero or negative. Received inputs shape={tuple(input_shape)}, "
                    f"kernel_size={self.kernel_size}, strides={self.strides}, "
                    f"dilation_rate={self.dilation_rate}, padding={self.padding!r}.")

    def _set_input_spec(self, channels: int) -> None:
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self.channel_axis: channels})

    # -- weights and compute helpers -----------------------------------------
    def _add_bias_weight(self, size: int) -> None:
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")

    def _cast_inputs(self, inputs):
        if not dtypes.is_float(inputs.dtype):
            inputs = inputs.astype(self.compute_dtype)
        return inputs

    def _convolve(self, x, kernel, strides, padding, dilation, groups: int = 1):
        """One ``lax`` convolution with this layer's data format; kernel is ``...IO``."""
        if padding == "causal":
            # Causal: pad only the start of the (single) spatial axis, then run 'valid'.
            left = conv_args.effective_kernel_size(kernel.shape[0], dilation[0]) - 1
            pads = [(0, 0)] * x.ndim
            pads[self._spatial_axes()[0]] = (left, 0)
            x = jnp.pad(x, pads)
            padding = "valid"
        return jax.lax.conv_general_dilated(
            x, kernel.astype(x.dtype), window_strides=strides, padding=padding.upper(),
            rhs_dilation=dilation,
            dimension_numbers=conv_args.spatial_dimension_numbers(self.rank, self.data_format),
            feature_group_count=groups)

    def _finish(self, x):
        """Adds the bias (on the channel axis) and applies the activation."""
        if self.bias is not None:
            bias = self.bias.value.astype(x.dtype)
            if self.data_format == "channels_first":
                bias = bias.reshape((1, -1) + (1,) * self.rank)
            x = x + bias
        return self.activation(x)

    # -- config ---------------------------------------------------------------
    def _common_config(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
        }

    def _tail_config(self) -> dict:
        return {
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }


class BaseConv(ConvCommon):
    """A standard N-D convolution: ``activation(conv(inputs, kernel) + bias)``.

    Args:
        rank: number of spatial dimensions.
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate: see ``ConvCommon``;
            ``"causal"`` padding is accepted only for rank 1.
        groups: split the input channels into this many groups convolved separately;
            both the input channels and ``filters`` must be divisible by it.
        activation, use_bias: see ``ConvCommon``.
        kernel_initializer, bias_initializer: default ``glorot_uniform`` and ``zeros``.
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional projections after updates.

    Weights: ``kernel`` of shape ``kernel_size + (in_channels // groups, filters)``, then
    ``bias`` of shape ``(filters,)``.
    """

    def __init__(self, rank: int, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, allow_causal=(rank == 1), **kwargs)
        self.filters = conv_args.check_positive_int(filters, "filters")
        self.groups = conv_args.check_positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={groups}, filters={filters}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the number of input channels "
                f"must be evenly divisible by the number of groups. Received groups="
                f"{self.groups}, but the input has {channels} channels (full input shape is "
                f"{tuple(input_shape)}).")
        self._check_output_size(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self._add_bias_weight(self.filters)
        self._set_input_spec(channels)
        self.built = True

    def call(self, inputs):
        x = self._convolve(self._cast_inputs(inputs), self.kernel.value, self.strides,
                           self.padding, self.dilation_rate, groups=self.groups)
        return self._finish(x)

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        config.update(self._common_config())
        config["groups"] = self.groups
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
