"""Helpers of the Layer base: call signatures, input conversion, shape lists."""

from __future__ import annotations

import inspect
from typing import Any

import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.state import Variable


class _Signature:
    """What a layer's ``call`` accepts, computed once per class."""

    def __init__(self, fn):
        params = list(inspect.signature(fn).parameters.values())
        self.names = [p.name for p in params]
        self.has_var_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
        self.training = "training" in self.names
        self.mask = "mask" in self.names
        self.training_default = None
        if self.training:
            default = inspect.signature(fn).parameters["training"].default
            self.training_default = None if default is inspect.Parameter.empty else default
        positional = [p for p in params
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.first = positional[0].name if positional else None


_SIGNATURES: dict = {}


def _signature(layer) -> _Signature:
    cls = type(layer)
    sig = _SIGNATURES.get(cls)
    if sig is None:
        sig = _SIGNATURES[cls] = _Signature(layer.call)
    return sig


def _shape_of(x):
    return None if x is None else tuple(x.shape)


def _to_array(x, dtype=None):
    if isinstance(x, Variable):
        x = x.value
    # Only NumPy data is converted: Python scalars in arguments (flags such as
    # return_attention_scores=True) must stay static under jit.
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "biuf":
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            arr = arr.astype(dtype or dtypes.floatx())
        if arr.dtype == np.int64:
            arr = arr.astype("int32")
        return jnp.asarray(arr)
    return x


class _StatelessRun:
    """What one stateless forward pass produced."""

    __slots__ = ("outputs", "masks", "non_trainable", "activity_losses",
                 "regularization_losses")

    def __init__(self, outputs, masks, non_trainable, activity_losses, regularization_losses):
        self.outputs = outputs
        self.masks = masks
        self.non_trainable = non_trainable
        self.activity_losses = activity_losses
        self.regularization_losses = regularization_losses


def _listify(value: Any):
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def _tuplify(value: Any):
    """Turns JSON shapes (lists) back into tuples: a list of ints/None is one shape."""
    if isinstance(value, dict):
        return {k: _tuplify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(v is None or isinstance(v, int) for v in value):
            return tuple(value)
        return [_tuplify(v) for v in value]
    return value
