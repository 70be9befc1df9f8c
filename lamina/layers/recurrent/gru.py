"""GRUCell and GRU (Cho et al., 2014), with Keras 3's weights.

Weights: ``kernel (input_dim, 3 * units)``, ``recurrent_kernel (units, 3 * units)``,
gate blocks in the order update (z), reset (r), candidate (h); ``bias`` is
``(2, 3 * units)`` (input and recurrent biases) when ``reset_after=True`` (the
default, cuDNN-compatible) and ``(3 * units,)`` otherwise.
"""

from __future__ import annotations

import jax.numpy as jnp

from lamina import activations
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent.cell_base import RecurrentCell, first_state, gate_matmul
from lamina.layers.recurrent.lstm import _check_use_cudnn
from lamina.layers.recurrent.rnn import RNN
from lamina.saving.serialization import serialize_keras_object as _ser


class GRUCell(RecurrentCell):
    """The cell of a GRU: one timestep.

    Args:
        units: size of the output and of the state.
        activation: for the candidate state (default ``tanh``).
        recurrent_activation: for the update and reset gates (``sigmoid``).
        reset_after: apply the reset gate after the recurrent matrix product
            (True, Keras 3's default) or before it.
        Other arguments as ``LSTMCell``.

    Call: ``cell(inputs, [h], training=False) -> (h_new, [h_new])``.
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
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
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self._add_bias((2, 3 * self.units) if self.reset_after else (3 * self.units,))
        self.built = True

    def _biases(self, dtype):
        """``(input_bias, recurrent_bias)``, either possibly None."""
        if self.bias is None:
            return None, None
        bias = self.bias.value.astype(dtype)
        if self.reset_after:
            return bias[0], bias[1]
        return bias, None

    def _input_projection(self, x, masks):
        z = gate_matmul(x, masks[0], self.kernel.value.astype(x.dtype), 3, self._per_gate)
        input_bias = self._biases(z.dtype)[0]
        return z if input_bias is None else z + input_bias

    def _recurrent_step(self, projected, states, masks):
        h_prev = first_state(states)
        u = self.units
        rec_mask = masks[1]
        kernel = self.recurrent_kernel.value.astype(h_prev.dtype)
        recurrent_bias = self._biases(h_prev.dtype)[1]
        xz, xr, xh = jnp.split(projected, 3, axis=-1)
        if self.reset_after:
            inner = gate_matmul(h_prev, rec_mask, kernel, 3, self._per_gate)
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
            rz, rr, rh = jnp.split(inner, 3, axis=-1)
            z = self.recurrent_activation(xz + rz)
            r = self.recurrent_activation(xr + rr)
            hh = self.activation(xh + r * rh)
        else:
            # The reset gate scales the previous state before the candidate's product.
            if rec_mask is not None and self._per_gate:
                inner = gate_matmul(h_prev, rec_mask[:2], kernel[:, :2 * u], 2, True)
                h_cand = h_prev * rec_mask[2]
            else:
                h_in = h_prev if rec_mask is None else h_prev * rec_mask
                inner = jnp.matmul(h_in, kernel[:, :2 * u])
                h_cand = h_in
            rz, rr = jnp.split(inner, 2, axis=-1)
            z = self.recurrent_activation(xz + rz)
            r = self.recurrent_activation(xr + rr)
            hh = self.activation(xh + jnp.matmul(r * h_cand, kernel[:, 2 * u:]))
        h = z * h_prev + (1 - z) * hh
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._cell_config())
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config


_CELL_ARGS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
              "reset_after", "seed")


class GRU(RNN):
    """Gated Recurrent Unit layer: a ``GRUCell`` run over time by ``RNN``.

    Args:
        units: output size.
        reset_after: see ``GRUCell`` (default True, as Keras 3).
        use_cudnn: accepted for Keras compatibility; lamina always runs ``lax.scan``.
        Other arguments as ``LSTM``.

    Call arguments: ``sequences``, ``initial_state=[h]``, ``mask``, ``training``. With
    ``return_state`` the call returns ``(output, h)``.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                       dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                       name="gru_cell", seed=seed,
                       implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        _check_use_cudnn(use_cudnn)
        self.use_cudnn = use_cudnn

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
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
