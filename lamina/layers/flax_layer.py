"""FlaxLayer: a ``flax.linen.Module`` as a layer (needs the optional ``flax`` package)."""

from __future__ import annotations

import inspect

from lamina import random as lrandom
from lamina.layers.jax_layer import JaxLayer
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object


def _split_variables(variables):
    """Flax variables as ``(params, state)``: the ``"params"`` collection is trainable,
    every other collection (e.g. ``"batch_stats"``) non-trainable."""
    if variables is None:
        return None, None
    if "params" not in variables:
        return {}, variables
    if len(variables) == 1:
        return variables, {}
    return ({"params": variables["params"]},
            {k: v for k, v in variables.items() if k != "params"})


def _merge_variables(params, state) -> dict:
    return {**(params or {}), **(state or {})}


class FlaxLayer(JaxLayer):
    """Wraps a ``flax.linen.Module``: its ``"params"`` become trainable weights and its
    other variable collections non-trainable weights, updated by each call.

    Args:
        module: the Flax module (a ``flax.linen.Module`` instance).
        method: the module method to call (default ``__call__``); when it takes a
            ``training`` argument the layer passes its training flag.
        variables: already initialized Flax variables (default: ``module.init`` on
            the first input shape).
        **kwargs: base ``Layer`` arguments and ``seed``.

    Random numbers: initialization gets ``{"params", "dropout"}`` keys, training
    calls a ``{"dropout"}`` key, inference calls none.

    Raises:
        ImportError: Flax is not installed.
    """

    def __init__(self, module, method=None, variables=None, **kwargs):
        try:
            from flax.linen import DenyList  # noqa: PLC0415 - optional dependency
        except ImportError as e:
            raise ImportError("FlaxLayer requires the `flax` package (pip install flax); it "
                              "is not installed.") from e
        self.module = module
        self.method = method
        mutable = DenyList(["params"])
        takes_training = "training" in inspect.signature(method or module.__call__).parameters

        def call_fn(params, state, rng, inputs, training=None):
            extra = {"training": training} if takes_training else {}
            return module.apply(_merge_variables(params, state), inputs, rngs=rng,
                                method=method, mutable=mutable, **extra)

        def init_fn(rng, inputs, training=None):
            extra = {"training": training} if takes_training else {}
            return _split_variables(module.init(rng, inputs, method=method, **extra))

        params, state = _split_variables(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state,
                         **kwargs)

    def _init_rng(self):
        return {"params": lrandom.next_key(), "dropout": lrandom.next_key()}

    def _call_rng(self, training):
        return {"dropout": lrandom.draw_key(self, self.seed)} if training else {}

    def get_config(self) -> dict:
        method = self.method
        if getattr(method, "__self__", None) is self.module:
            method = method.__name__
        config = super().get_config()
        config.pop("call_fn")
        config.pop("init_fn")
        config.update({"module": serialize_keras_object(self.module),
                       "method": serialize_keras_object(method)})
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        module = deserialize_keras_object(config["module"])
        method = config["method"]
        method = getattr(module, method) if isinstance(method, str) else (
            deserialize_keras_object(method))
        return cls(**{**config, "module": module, "method": method})
