"""What the built-in recurrent cells (SimpleRNNCell, GRUCell, LSTMCell) share.

A built-in cell splits one step in two:

- ``_input_projection(x, masks)``: ``x @ kernel + input_bias`` (any leading axes),
  with the input dropout mask applied;
- ``_recurrent_step(projected, states, masks)``: the rest of the step, from the
  projected input and the previous states to ``(output, new_states)``.

The RNN layer draws masks once per sequence (``_make_dropout_masks``) and asks
``_hoists_projection`` whether to project the whole sequence before its time loop
(one large matmul over batch * time rows, leaving ``_recurrent_step`` in the loop) or
to run ``_step(x, states, masks)`` (both halves) at each timestep.

Dropout follows Keras: one mask per sequence (the same units are dropped at every
timestep), drawn before the time loop. When ``recurrent_dropout`` is set, Keras's
"implementation 1" draws a separate mask for each gate; lamina does the same.
"""

from __future__ import annotations

import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina import random as lrandom
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_keras_object as _ser


def check_units(cls_name: str, units) -> int:
    """Returns ``units`` if it is a positive int, else raises ValueError."""
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"Received an invalid value for argument `units` of {cls_name}, "
                         f"expected a positive integer, got {units!r}.")
    return units


def gate_matmul(x, mask, weight, gates: int, per_gate: bool):
    """``(x * mask) @ weight`` where ``weight`` holds ``gates`` column blocks.

    Args:
        x: array ``(..., batch, d)``.
        mask: None, a ``(batch, d)`` mask shared by all gates, or (``per_gate``)
            a ``(gates, batch, d)`` stack with one mask per column block.
        weight: ``(d, gates * units)``.

    Returns:
        ``(..., batch, gates * units)``.
    """
    if mask is None:
        return jnp.matmul(x, weight)
    if not per_gate:
        return jnp.matmul(x * mask, weight)
    d, width = weight.shape
    units = width // gates
    masked = x[..., None, :, :] * mask  # (..., gates, batch, d)
    out = jnp.einsum("...gbd,dgu->...bgu", masked, weight.reshape(d, gates, units))
    return out.reshape(out.shape[:-2] + (width,))


class RecurrentCell(Layer):
    """Base of the built-in cells: shared arguments, dropout masks and the cell protocol.

    Subclasses set ``_gates`` (column blocks of the kernels), create their weights
    in ``build`` and implement ``_input_projection`` and ``_recurrent_step``.
    """

    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = check_units(type(self).__name__, units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        # Keras clips the rates into [0, 1].
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        # Keras switches to per-gate masks (implementation 1) with recurrent dropout.
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        self.state_size = units
        self.output_size = units

    # -- weights --------------------------------------------------------------
    def _add_kernels(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): the last dimension "
                             f"of the inputs must be known, received shape {input_shape}.")
        width = self.units * self._gates
        self.kernel = self.add_weight(shape=(input_dim, width), name="kernel",
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, width),
                                                name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)

    def _add_bias(self, shape, initializer=None):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=shape, name="bias",
                                        initializer=initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    # -- dropout ----------------------------------------------------------------
    def _dropout_active(self, rate: float) -> bool:
        # LSTM and GRU cells apply dropout only for 0 < rate < 1, as in Keras.
        return 0.0 < rate < 1.0

    def _make_dropout_masks(self, batch_size: int, input_dim: int, dtype, training):
        """Draws this sequence's ``(input_mask, recurrent_mask)`` (None where unused).

        Masks hold 0 or ``1 / (1 - rate)``; per-gate masks have a leading gates axis.
        """
        if not training:
            return None, None
        per_gate = self.implementation == 1 and self._gates > 1
        lead = (self._gates,) if per_gate else ()

        def draw(rate, width):
            if not self._dropout_active(rate):
                return None
            ones = jnp.ones(lead + (batch_size, width), dtype)
            return lrandom.dropout(ones, rate, seed=lrandom.draw_key(self, self.seed))

        return draw(self.dropout, input_dim), draw(self.recurrent_dropout, self.units)

    @property
    def _per_gate(self) -> bool:
        return self.implementation == 1 and self._gates > 1

    def _compute_key(self):
        """What the step's computation depends on besides weight values and masks.

        A cell with a key is pure given its weights and precomputed dropout masks, so
        the RNN may compile its loop once and share it between cells with equal keys.
        """
        return (type(self), self.units, self.activation,
                getattr(self, "recurrent_activation", None), self.use_bias, self._per_gate,
                getattr(self, "reset_after", None), self.compute_dtype)

    # -- the cell protocol ------------------------------------------------------
    def get_initial_state(self, batch_size=None):
        """Zero states, one ``(batch_size, size)`` array per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [
            self.state_size]
        return [jnp.zeros((batch_size, s), self.compute_dtype) for s in sizes]

    def _hoists_projection(self, input_dim: int, masks) -> bool:
        """Whether the RNN should project the whole sequence before its time loop.

        Measured on XLA:CPU (LSTM forward and backward, batch 32): hoisting pays when
        the projected sequence is narrower than the input (``gates * units <
        input_dim``): 100 steps of 512 features into LSTM(32), 16 vs 24 ms; into
        LSTM(64), 21 vs 26 ms. When it is not narrower, the stacked projection costs
        more memory traffic than it saves: 280 steps of 256 features into LSTM(64),
        72 vs 62 ms; 32 features into LSTM(32), 3.7 vs 3.0 ms. Per-gate input masks
        would multiply the hoisted input by the gate count, so they stay in the loop.
        """
        if masks[0] is not None and self._per_gate:
            return False
        return self._gates * self.units < input_dim

    def _step(self, inputs, states, masks, training=None):
        return self._recurrent_step(self._input_projection(inputs, masks), states, masks)

    def call(self, inputs, states, training=False):
        """One step: ``inputs (batch, features)`` and the previous states.

        Returns ``(output, new_states)``; standalone calls draw fresh dropout masks.
        """
        masks = self._make_dropout_masks(inputs.shape[0], inputs.shape[-1], inputs.dtype,
                                         training)
        return self._step(inputs, states, masks, training)

    def _input_projection(self, x, masks):
        raise NotImplementedError(f"{type(self).__name__}._input_projection")

    def _recurrent_step(self, projected, states, masks):
        raise NotImplementedError(f"{type(self).__name__}._recurrent_step")

    # -- config -----------------------------------------------------------------
    def _cell_config(self) -> dict:
        """The arguments every built-in cell (and its layer) serializes, Keras's keys."""
        return {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(self.kernel_initializer),
            "recurrent_initializer": _ser(self.recurrent_initializer),
            "bias_initializer": _ser(self.bias_initializer),
            "kernel_regularizer": _ser(self.kernel_regularizer),
            "recurrent_regularizer": _ser(self.recurrent_regularizer),
            "bias_regularizer": _ser(self.bias_regularizer),
            "kernel_constraint": _ser(self.kernel_constraint),
            "recurrent_constraint": _ser(self.recurrent_constraint),
            "bias_constraint": _ser(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


def first_state(states):
    """The first state of a cell: ``states[0]`` for a list, the array itself otherwise."""
    return states[0] if isinstance(states, (list, tuple)) else states
