"""SimpleRNNCell and SimpleRNN: a fully-connected RNN whose output is fed back as state.

Weights (Keras 3): ``kernel (input_dim, units)``, ``recurrent_kernel (units, units)``,
``bias (units,)``.
"""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent.cell_base import RecurrentCell, first_state
from lamina.layers.recurrent.rnn import RNN
from lamina.saving.serialization import serialize_keras_object as _ser


class SimpleRNNCell(RecurrentCell):
    """The cell of a SimpleRNN: ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``.

    Args:
        units: size of the output and of the state.
        activation: default ``tanh``; None means linear.
        Other arguments as ``LSTMCell``.

    Call: ``cell(inputs, [h], training=False) -> (h_new, [h_new])``.
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def _dropout_active(self, rate: float) -> bool:
        # Keras's SimpleRNNCell drops for any positive rate (rate 1 drops everything).
        return rate > 0.0

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self._add_bias((self.units,))
        self.built = True

    def _input_projection(self, x, masks):
        if masks[0] is not None:
            x = x * masks[0]
        z = jnp.matmul(x, self.kernel.value.astype(x.dtype))
        if self.bias is not None:
            z = z + self.bias.value.astype(z.dtype)
        return z

    def _recurrent_step(self, projected, states, masks):
        h_prev = first_state(states)
        if masks[1] is not None:
            h_prev = h_prev * masks[1]
        h = self.activation(projected + jnp.matmul(
            h_prev, self.recurrent_kernel.value.astype(h_prev.dtype)))
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._cell_config())
        return config


_CELL_ARGS = ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint",
              "bias_constraint", "dropout", "recurrent_dropout", "seed")


class SimpleRNN(RNN):
    """Fully-connected RNN layer: a ``SimpleRNNCell`` run over time by ``RNN``.

    Args:
        units: output size.
        Other arguments as ``LSTM`` (there is no recurrent activation).

    Call arguments: ``sequences``, ``initial_state=[h]``, ``mask``, ``training``. With
    ``return_state`` the call returns ``(output, h)``.
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias,
                             kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer,
                             bias_initializer=bias_initializer,
                             kernel_regularizer=kernel_regularizer,
                             recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer,
                             kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint,
                             bias_constraint=bias_constraint, dropout=dropout,
                             recurrent_dropout=recurrent_dropout, seed=seed,
                             dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                             name="simple_rnn_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def __getattr__(self, name):
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ARGS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def get_config(self):
        base = Layer.get_config(self)
        config = dict(base)
        config.update(self._rnn_config())
        config.update(self.cell.get_config())
        config.update(base)
        config["activity_regularizer"] = _ser(self.activity_regularizer)
        config.pop("seed")  # Keras's SimpleRNN config has no seed (its cell's has)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
