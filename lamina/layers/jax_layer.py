"""``JaxLayer``: a pure JAX model as a layer (``keras.layers.JaxLayer``); ``FlaxLayer``
(lamina/layers/flax_layer.py) builds on it.

The model is a function ``call_fn`` taking, by these exact names, ``params``
(trainable parameters, a pytree), ``state`` (non-trainable state), ``rng`` (a
``jax.random`` key), ``inputs`` (required) and ``training``; any of the others
may be left out. With ``state``, ``call_fn`` returns ``(outputs, new_state)``.
The parameters and state come from ``params``/``state`` given to the layer, or
from ``init_fn(rng, inputs[, training])`` called when the layer is built (it
returns ``params``, or ``(params, state)`` when ``call_fn`` takes a ``state``).
Every array leaf (and Python number) of ``params``/``state`` becomes a layer
weight; other leaves are passed through unchanged as configuration.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes, tree
from lamina import random as lrandom
from lamina.layers.layer import Layer
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object
from lamina.state import Variable

_CALL_ARGUMENTS = ("params", "state", "rng", "inputs", "training")
_INIT_ARGUMENTS = ("rng", "inputs", "training")


def _argument_names(fn, fn_name: str, allowed) -> list[str]:
    """The parameter names of ``fn``, checked against ``allowed`` (``inputs`` required)."""
    names = list(inspect.signature(fn).parameters)
    if "inputs" not in names:
        raise ValueError(f"Missing required argument in `{fn_name}`: `inputs`")
    for name in names:
        if name not in allowed:
            raise ValueError(f"Unsupported argument in `{fn_name}`: `{name}`, supported "
                             f"arguments are `{'`, `'.join(allowed)}`")
    return names


def _value_of(leaf):
    return leaf.value if isinstance(leaf, Variable) else leaf


class JaxLayer(Layer):
    """A layer running a pure JAX function with trainable params and non-trainable state.

    Args:
        call_fn: the model, ``call_fn(params, state, rng, inputs, training)`` with any
            argument but ``inputs`` optional (see the module docstring). ``rng`` is a
            fresh key in training and None in inference.
        init_fn: ``init_fn(rng, inputs[, training])`` returning the initial ``params``
            (or ``(params, state)``), called at build time on ones shaped like the
            inputs (unknown dimensions as 1) with ``training=True``. Required when
            ``call_fn`` takes ``params`` or ``state`` and neither is given.
        params: a pytree of initial trainable parameters.
        state: a pytree of initial non-trainable state.
        seed: a seed for the keys passed as ``rng``.
        native_serialization_platforms: accepted for Keras compatibility (used by
            Keras's TensorFlow backend only).
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``, ``trainable``, ...).

    Raises:
        ValueError: a function lacks ``inputs`` or takes an unsupported argument, or
            ``call_fn`` needs params/state and none can be made.
    """

    def __init__(self, call_fn, init_fn=None, params=None, state=None, seed=None,
                 native_serialization_platforms=None, **kwargs):
        super().__init__(**kwargs)
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.seed = seed
        self.jax2tf_native_serialization_platforms = native_serialization_platforms
        self.call_fn_arguments = _argument_names(call_fn, "call_fn", _CALL_ARGUMENTS)
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        if (init_fn is None and params is None and state is None
                and (self.call_fn_has_params or self.call_fn_has_state)):
            raise ValueError("`init_fn`, `params` and `state` cannot all be `None` when "
                             "`call_fn` takes a `params` or a `state` argument.")
        self.init_fn_arguments = (_argument_names(init_fn, "init_fn", _INIT_ARGUMENTS)
                                  if init_fn is not None else None)
        self.params = self._create_variables(params, trainable=True)
        self.state = self._create_variables(state, trainable=False)
        if params is not None or state is not None:
            self.built = True

    def _create_variables(self, values, trainable: bool):
        """``values`` with each array (or Python number) leaf replaced by a new weight:
        float leaves take the layer's variable dtype, others keep theirs."""
        if values is None:
            return None

        def create(leaf):
            if isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
                value, dtype = leaf, dtypes.standardize(leaf.dtype)
            elif isinstance(leaf, (bool, int, float)):
                value, dtype = leaf, dtypes.standardize(type(leaf))
            else:
                return leaf
            if dtypes.is_float(dtype):
                dtype = self.variable_dtype
            return self.add_weight(shape=np.shape(value), initializer=_Constant(value),
                                   dtype=dtype, trainable=trainable)

        return jax.tree_util.tree_map(create, values)

    def _init_rng(self):
        """The key passed as ``rng`` to ``init_fn`` (from the global seed)."""
        return lrandom.next_key()

    def _call_rng(self, training):
        """The key passed as ``rng`` to ``call_fn``: a fresh one in training, else None."""
        return lrandom.draw_key(self, self.seed) if training else None

    def build(self, input_shape) -> None:
        """Calls ``init_fn`` on ones shaped like the inputs when no params/state exist."""
        if (self.params is None and self.state is None
                and (self.call_fn_has_params or self.call_fn_has_state)):
            with jax.ensure_compile_time_eval():
                inputs = tree.map_shape_structure(
                    lambda shape: jnp.ones([1 if d is None else d for d in shape]), input_shape)
                values = {"rng": self._init_rng(), "inputs": inputs, "training": True}
                result = self.init_fn(*(values[name] for name in self.init_fn_arguments))
            params, state = result if self.call_fn_has_state else (result, None)
            self.params = self._create_variables(params, trainable=True)
            self.state = self._create_variables(state, trainable=False)
        self.built = True

    def call(self, inputs, training=False):
        values = {
            "params": jax.tree_util.tree_map(_value_of, self.params),
            "state": jax.tree_util.tree_map(_value_of, self.state),
            "rng": self._call_rng(training) if "rng" in self.call_fn_arguments else None,
            "inputs": inputs,
            "training": training,
        }
        result = self.call_fn(*(values[name] for name in self.call_fn_arguments))
        if not self.call_fn_has_state:
            return result
        outputs, new_state = result

        def assign(value, variable):
            if not isinstance(variable, Variable):
                raise ValueError("Structure mismatch: the state returned by `call_fn` does not "
                                 "match the structure of the state at initialization time.")
            variable.assign(value)

        jax.tree_util.tree_map(assign, new_state, self.state)
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "call_fn": serialize_keras_object(self.call_fn),
            "init_fn": serialize_keras_object(self.init_fn),
            "native_serialization_platforms": self.jax2tf_native_serialization_platforms,
        })
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["call_fn"] = deserialize_keras_object(config["call_fn"])
        config["init_fn"] = deserialize_keras_object(config["init_fn"])
        return cls(**config)


class _Constant:
    """An initializer returning a fixed value (cast to the requested dtype)."""

    def __init__(self, value):
        self.value = value

    def __call__(self, shape, dtype=None):
        return jnp.asarray(self.value, dtype=dtype)
