"""Bidirectional: runs a recurrent layer forwards and a copy of it backwards, then merges."""

from __future__ import annotations

import copy

import jax.numpy as jnp

from lamina.graph import KerasTensor
from lamina.layers.layer import Layer
from lamina.layers.recurrent.rnn import prefix_weight_paths, rnn_build_config
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs.

    The wrapped layer is copied (from its config) into ``forward_layer`` (named
    ``forward_<name>``) and, unless ``backward_layer`` is given, into a
    ``go_backwards=True`` copy ``backward_layer`` (``backward_<name>``). Weights are
    the forward layer's, then the backward layer's (Keras's order). With
    ``return_sequences`` the backward outputs are flipped back into time order and
    masked timesteps output zeros in both directions.

    Args:
        layer: a recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``, ``RNN``, or a layer
            with ``go_backwards``, ``return_sequences``, ``return_state`` attributes).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"``, or None
            (return ``(forward, backward)`` unmerged).
        weights: optional initial weights (forward half, then backward half).
        backward_layer: optional layer for the backward direction; it must have the
            opposite ``go_backwards`` and the same ``stateful``, ``return_sequences``
            and ``return_state`` as ``layer``.

    Call arguments: as the wrapped layer; ``initial_state``'s first half goes to the
    forward layer, the second half to the backward layer. With ``return_state`` the
    call returns ``(output, *forward_states, *backward_states)``.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `keras.layers."
                             f"Layer` instance. Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be "
                             'one of {"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        config = serialize_keras_object(layer)
        config.pop("build_config", None)
        config["config"]["name"] = f"forward_{_strip(layer.name, 'forward_')}"
        self.forward_layer = deserialize_keras_object(config)
        if backward_layer is None:
            config = serialize_keras_object(layer)
            config.pop("build_config", None)
            config["config"]["go_backwards"] = True
            config["config"]["name"] = f"backward_{_strip(layer.name, 'backward_')}"
            backward_layer = deserialize_keras_object(config)
        self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            # Keras: masked timesteps output zeros whenever sequences are returned.
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError("Forward layer and backward layer should have different "
                             "`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{fwd.go_backwards}, backward_layer.go_backwards="
                             f"{bwd.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError("Forward layer and backward layer are expected to have the "
                                 f'same value for attribute "{attr}", got '
                                 f'"{getattr(fwd, attr)}" for forward layer and '
                                 f'"{getattr(bwd, attr)}" for backward layer')

    # -- building -----------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        if not isinstance(sequences_shape, tuple) or len(sequences_shape) < 3:
            raise ValueError(f"Layer '{self.name}' (Bidirectional) expects a sequence input of "
                             "rank >= 3 (batch, timesteps, features), received shape "
                             f"{sequences_shape}.")
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._maybe_build((KerasTensor(tuple(sequences_shape)),), {})
            prefix_weight_paths(self.name, sub)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def get_build_config(self):
        return rnn_build_config(self)

    def set_weights(self, weights) -> None:
        """Sets the weights (forward layer's then backward layer's).

        Stateful layers also accept Keras's list, which has no state entries.
        """
        if len(weights) != len(self.weights) and len(weights) % 2 == 0:
            half = len(weights) // 2
            self.forward_layer.set_weights(weights[:half])
            self.backward_layer.set_weights(weights[half:])
            return
        super().set_weights(weights)

    # -- states -----------------------------------------------------------------
    @property
    def states(self):
        fwd = getattr(self.forward_layer, "states", None)
        bwd = getattr(self.backward_layer, "states", None)
        if fwd and bwd:
            return tuple(list(fwd) + list(bwd))
        return None

    def reset_states(self) -> None:
        self.reset_state()

    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to reset its states.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    # -- running ----------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {"training": training, "mask": mask}
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y = y.astype(self.compute_dtype)
        y_rev = y_rev.astype(self.compute_dtype)
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            if self.merge_mode is None:
                return output + states
            return (output,) + states
        return output

    def compute_mask(self, inputs, previous_mask=None):
        mask = previous_mask
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = mask if self.merge_mode else [mask, mask]
        else:
            output_mask = None if self.merge_mode else [None, None]
        if not self.return_state:
            return output_mask
        n_states = 2 * len(getattr(self.forward_layer, "state_size", [None]))
        head = output_mask if isinstance(output_mask, list) else [output_mask]
        return head + [None] * n_states

    # -- config -----------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = serialize_keras_object(self.forward_layer)
        config["backward_layer"] = serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_keras_object(config["layer"],
                                                   custom_objects=custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = deserialize_keras_object(backward,
                                                                custom_objects=custom_objects)
        return cls(**config)
