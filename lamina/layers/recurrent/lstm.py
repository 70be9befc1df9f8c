"""LSTMCell and LSTM (Hochreiter & Schmidhuber, 1997), with Keras 3's weights.

Weights: ``kernel (input_dim, 4 * units)``, ``recurrent_kernel (units, 4 * units)``
and ``bias (4 * units,)``, gate blocks in the order input, forget, cell, output.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lamina import activations
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.recurrent.cell_base import RecurrentCell, gate_matmul
from lamina.layers.recurrent.rnn import RNN
from lamina.saving.serialization import serialize_keras_object as _ser


class LSTMCell(RecurrentCell):
    """The cell of an LSTM: one timestep.

    Args:
        units: size of the output and of both states (``h`` and ``c``).
        activation: for the cell candidate and the output (default ``tanh``).
        recurrent_activation: for the input, forget and output gates (``sigmoid``).
        use_bias: whether the gates have a bias.
        kernel_initializer, recurrent_initializer, bias_initializer: initializers.
        unit_forget_bias: initialize the forget gate's bias to ones (Jozefowicz et al.).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional.
        kernel_constraint, recurrent_constraint, bias_constraint: optional.
        dropout: fraction of the input units dropped (training only).
        recurrent_dropout: fraction of the recurrent-state units dropped.
        seed: optional int folded into the dropout keys.

    Call: ``cell(inputs, [h, c], training=False) -> (h_new, [h_new, c_new])``.
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
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
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        self._add_kernels(input_shape)
        initializer = None
        if self.use_bias and self.unit_forget_bias:
            base, units = self.bias_initializer, self.units

            def initializer(shape, dtype=None):
                return np.concatenate([np.asarray(base((units,), dtype=dtype)),
                                       np.ones((units,), dtype=dtype),
                                       np.asarray(base((2 * units,), dtype=dtype))])

        self._add_bias((4 * self.units,), initializer)
        self.built = True

    def _input_projection(self, x, masks):
        z = gate_matmul(x, masks[0], self.kernel.value.astype(x.dtype), 4, self._per_gate)
        if self.bias is not None:
            z = z + self.bias.value.astype(z.dtype)
        return z

    def _recurrent_step(self, projected, states, masks):
        h_prev, c_prev = states[0], states[1]
        z = projected + gate_matmul(h_prev, masks[1],
                                    self.recurrent_kernel.value.astype(h_prev.dtype), 4,
                                    self._per_gate)
        zi, zf, zc, zo = jnp.split(z, 4, axis=-1)
        i = self.recurrent_activation(zi)
        f = self.recurrent_activation(zf)
        c = f * c_prev + i * self.activation(zc)
        o = self.recurrent_activation(zo)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._cell_config())
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


_CELL_ARGS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "seed")


def _check_use_cudnn(value) -> None:
    if value not in ("auto", True, False):
        raise ValueError("Invalid value received for argument `use_cudnn`. Expected one of "
                         f"{{'auto', True, False}}. Received: use_cudnn={value!r}")


class LSTM(RNN):
    """Long Short-Term Memory layer: an ``LSTMCell`` run over time by ``RNN``.

    Args:
        units: output size.
        activation, recurrent_activation, use_bias, initializers, unit_forget_bias,
        regularizers, constraints, dropout, recurrent_dropout, seed: as ``LSTMCell``.
        activity_regularizer: optional regularizer of the output.
        return_sequences, return_state, go_backwards, stateful, unroll: as ``RNN``.
        use_cudnn: accepted for Keras compatibility (``"auto"``, True, False); lamina
            always runs the XLA ``lax.scan`` loop.

    Call arguments: ``sequences (batch, time, features)``, ``initial_state=[h, c]``,
    ``mask (batch, time)``, ``training``. With ``return_state`` the call returns
    ``(output, h, c)``.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation,
                        use_bias=use_bias, kernel_initializer=kernel_initializer,
                        unit_forget_bias=unit_forget_bias,
                        recurrent_initializer=recurrent_initializer,
                        bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                        recurrent_regularizer=recurrent_regularizer,
                        bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                        recurrent_constraint=recurrent_constraint,
                        bias_constraint=bias_constraint, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, dtype=kwargs.get("dtype"),
                        trainable=kwargs.get("trainable", True), name="lstm_cell", seed=seed,
                        implementation=kwargs.pop("implementation", 2))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=3)
        _check_use_cudnn(use_cudnn)
        self.use_cudnn = use_cudnn

    def __getattr__(self, name):
        # The cell's arguments read through the layer (layer.units, layer.dropout, ...).
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ARGS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._rnn_config())
        config.update(self.cell.get_config())
        for key in ("name", "trainable", "dtype"):
            config[key] = Layer.get_config(self)[key]
        config["activity_regularizer"] = _ser(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
