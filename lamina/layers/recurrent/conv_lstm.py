"""Convolutional LSTMs (Shi et al., 2015): ConvLSTM1D, ConvLSTM2D, ConvLSTM3D.

The gates are convolutions instead of matrix products: the input convolution uses
the layer's ``strides``, ``padding`` and ``dilation_rate``; the recurrent one has
stride 1 and ``"same"`` padding. Weights (Keras 3): ``kernel
(*kernel_size, input_channels, 4 * filters)``, ``recurrent_kernel (*kernel_size,
filters, 4 * filters)``, ``bias (4 * filters,)``, gate blocks i, f, c, o.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina import activations
from lamina import random as lrandom
from lamina.layers.convolutional.conv_args import (
    check_positive_int,
    check_strides_and_dilation,
    conv_output_length,
    normalize_tuple,
    spatial_dimension_numbers,
    standardize_data_format,
    standardize_padding,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent.cell_base import RecurrentCell
from lamina.layers.recurrent.rnn import RNN
from lamina.saving.serialization import serialize_keras_object as _ser


class ConvLSTMCell(RecurrentCell):
    """One timestep of a convolutional LSTM of spatial rank ``rank`` (1, 2 or 3).

    Args:
        rank: number of spatial dimensions.
        filters: number of output channels (and of state channels).
        kernel_size, strides, padding, data_format, dilation_rate: as for ``ConvND``.
        Other arguments as ``LSTMCell``. Dropout uses one mask per gate (as Keras).
    """

    _fuses_into_loops = False  # convolutions: see ConvCommon


    _gates = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        if rank not in (1, 2, 3):
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. "
                             f"Received: rank={rank}")
        super().__init__(check_positive_int(filters, "filters"), activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.rank = rank
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides", allow_zero=True)
        self.padding = standardize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        check_strides_and_dilation(self.strides, self.dilation_rate)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.implementation = 1  # always one dropout mask per gate, as Keras
        self.state_size = -1  # Keras's convention: the state shape depends on the input
        self.output_size = None
        self.input_spec = InputSpec(ndim=rank + 2)
        self.spatial_dims = None
        self.input_dim = None

    def _channels_last(self) -> bool:
        return self.data_format == "channels_last"

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if self._channels_last():
            spatial, channels = input_shape[1:-1], input_shape[-1]
        else:
            spatial, channels = input_shape[2:], input_shape[1]
        if None in spatial:
            raise ValueError(f"Layer '{self.name}': ConvLSTM layers only support static input "
                             "shapes for the spatial dimensions. Received invalid input shape: "
                             f"input_shape={input_shape}")
        if channels is None:
            raise ValueError(f"Layer '{self.name}': the channel dimension of the inputs should "
                             f"be defined. Found None. Full input shape received: "
                             f"input_shape={input_shape}")
        self.spatial_dims, self.input_dim = tuple(spatial), channels
        self.input_spec = InputSpec(ndim=self.rank + 2, shape=(None,) + input_shape[1:])
        width = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, width), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        initializer = None
        if self.use_bias and self.unit_forget_bias:
            base, f = self.bias_initializer, self.filters

            def initializer(shape, dtype=None):
                return np.concatenate([np.asarray(base((f,), dtype=dtype)),
                                       np.ones((f,), dtype=dtype),
                                       np.asarray(base((2 * f,), dtype=dtype))])

        self._add_bias((width,), initializer)
        self.built = True

    # -- shapes ---------------------------------------------------------------------
    def _state_spatial(self) -> tuple:
        return tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate))

    def _state_shape(self, batch_size) -> tuple:
        spatial = self._state_spatial()
        if self._channels_last():
            return (batch_size,) + spatial + (self.filters,)
        return (batch_size, self.filters) + spatial

    def get_initial_state(self, batch_size=None):
        shape = self._state_shape(batch_size)
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    def _compute_key(self):
        return super()._compute_key() + (self.kernel_size, self.strides, self.padding,
                                         self.data_format, self.dilation_rate)

    # -- dropout ------------------------------------------------------------------------
    def _make_dropout_masks(self, batch_size, input_dim, dtype, training):
        if not training:
            return None, None
        if self._channels_last():
            in_shape = (batch_size,) + self.spatial_dims + (self.input_dim,)
        else:
            in_shape = (batch_size, self.input_dim) + self.spatial_dims

        def draw(rate, shape):
            if not self._dropout_active(rate):
                return None
            return lrandom.dropout(jnp.ones((4,) + shape, dtype), rate,
                                   seed=lrandom.draw_key(self, self.seed))

        return (draw(self.dropout, in_shape),
                draw(self.recurrent_dropout, self._state_shape(batch_size)))

    # -- the step ----------------------------------------------------------------------
    def _conv(self, x, kernel, strides, padding, dilation, groups=1):
        """Convolution of ``x`` with leading axes folded into the batch."""
        lead = x.shape[:-(self.rank + 1)]
        flat = x.reshape((-1,) + x.shape[len(lead):])
        out = jax.lax.conv_general_dilated(
            flat, kernel.astype(x.dtype), window_strides=strides, padding=padding.upper(),
            rhs_dilation=dilation, feature_group_count=groups,
            dimension_numbers=spatial_dimension_numbers(self.rank, self.data_format))
        return out.reshape(lead + out.shape[1:])

    def _gate_conv(self, x, mask, kernel, strides, padding, dilation):
        if mask is None:
            return self._conv(x, kernel, strides, padding, dilation)
        # One mask per gate: the four masked copies side by side on the channel axis,
        # convolved as four groups; group g meets the kernel's output block g.
        axis = -1 if self._channels_last() else -(self.rank + 1)
        stacked = jnp.concatenate([x * mask[g] for g in range(4)], axis=axis)
        return self._conv(stacked, kernel, strides, padding, dilation, groups=4)

    def _bias_shape(self):
        return (self.filters * 4,) if self._channels_last() else (
            (self.filters * 4,) + (1,) * self.rank)

    def _hoists_projection(self, input_dim, masks) -> bool:
        # The width rule was measured for dense projections, not for convolutions.
        return False

    def _input_projection(self, x, masks):
        z = self._gate_conv(x, masks[0], self.kernel.value, self.strides, self.padding,
                            self.dilation_rate)
        if self.bias is not None:
            z = z + self.bias.value.astype(z.dtype).reshape(self._bias_shape())
        return z

    def _recurrent_step(self, projected, states, masks):
        h_prev, c_prev = states[0], states[1]
        ones = (1,) * self.rank
        z = projected + self._gate_conv(h_prev, masks[1], self.recurrent_kernel.value, ones,
                                        "same", ones)
        axis = -1 if self._channels_last() else -(self.rank + 1)
        zi, zf, zc, zo = jnp.split(z, 4, axis=axis)
        i = self.recurrent_activation(zi)
        f = self.recurrent_activation(zf)
        c = f * c_prev + i * self.activation(zc)
        o = self.recurrent_activation(zo)
        h = o * self.activation(c)
        return h, [h, c]

    def _conv_config(self) -> dict:
        config = self._cell_config()
        config.pop("units")
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        })
        return config

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._conv_config())
        return config


_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
              "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "seed")


class ConvLSTM(RNN):
    """Base of ConvLSTM1D/2D/3D: a ``ConvLSTMCell`` of spatial rank ``rank`` over time.

    Inputs are ``(batch, time, *spatial, channels)`` (``channels_last``) or
    ``(batch, time, channels, *spatial)``.
    """

    _rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(self._rank, filters, kernel_size, strides=strides, padding=padding,
                            data_format=data_format, dilation_rate=dilation_rate,
                            activation=activation, recurrent_activation=recurrent_activation,
                            use_bias=use_bias, kernel_initializer=kernel_initializer,
                            recurrent_initializer=recurrent_initializer,
                            bias_initializer=bias_initializer,
                            unit_forget_bias=unit_forget_bias,
                            kernel_regularizer=kernel_regularizer,
                            recurrent_regularizer=recurrent_regularizer,
                            bias_regularizer=bias_regularizer,
                            kernel_constraint=kernel_constraint,
                            recurrent_constraint=recurrent_constraint,
                            bias_constraint=bias_constraint, dropout=dropout,
                            recurrent_dropout=recurrent_dropout, seed=seed,
                            name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self._rank + 3)

    def __getattr__(self, name):
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ARGS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def build(self, sequences_shape, initial_state_shape=None):
        if not isinstance(sequences_shape, tuple) or len(sequences_shape) != self._rank + 3:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects inputs of "
                             f"rank {self._rank + 3} (batch, time, spatial..., channels), "
                             f"received shape {sequences_shape}.")
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def compute_mask(self, inputs, previous_mask=None):
        mask = previous_mask
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self):
        base = Layer.get_config(self)
        config = dict(base)
        config.update(self._rnn_config())
        config.update(self.cell._conv_config())
        config["activity_regularizer"] = _ser(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ConvLSTM1D(ConvLSTM):
    """1D convolutional LSTM: inputs ``(batch, time, steps, channels)``. See ``ConvLSTM``."""

    _rank = 1


class ConvLSTM2D(ConvLSTM):
    """2D convolutional LSTM: inputs ``(batch, time, rows, cols, channels)``.

    Args:
        filters: output channels.
        kernel_size, strides, padding (``"valid"``/``"same"``), data_format,
        dilation_rate: of the input convolution (the recurrent one is stride 1, same).
        Other arguments as ``LSTM``.
    """

    _rank = 2


class ConvLSTM3D(ConvLSTM):
    """3D convolutional LSTM: inputs ``(batch, time, d1, d2, d3, channels)``. See ``ConvLSTM``."""

    _rank = 3
