"""Helpers of the Layer base: call signatures, input conversion, shape lists."""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.graph import KerasTensor, flatten, map_structure
from lamina.state import Variable


class _Signature:
    """What a layer's ``call`` accepts, computed once per class."""

    def __init__(self, fn):
        self.signature = inspect.signature(fn)
        params = list(self.signature.parameters.values())
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

    def bind(self, args: tuple, kwargs: dict) -> dict:
        """The call's arguments by parameter name (defaults not filled in)."""
        try:
            return dict(self.signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:  # the call itself will report the bad arguments
            return {**dict(zip(self.names, args)), **kwargs}


_SIGNATURES: dict = {}


def _signature(layer) -> _Signature:
    cls = type(layer)
    sig = _SIGNATURES.get(cls)
    if sig is None:
        sig = _SIGNATURES[cls] = _Signature(layer.call)
    return sig


def _is_tensor(x) -> bool:
    """A symbolic or concrete array (not a Python scalar or a Variable)."""
    return isinstance(x, (KerasTensor, jax.Array, np.ndarray))


def _is_tensor_argument(value) -> bool:
    """A tensor, or a non-empty list/tuple/dict of tensors (None allowed), as Keras counts
    the tensor arguments of a call when it fills in their masks."""
    if _is_tensor(value):
        return True
    if isinstance(value, (list, tuple, dict)) and value:
        return all(x is None or _is_tensor(x) for x in flatten(value))
    return False


def _attached_mask(x):
    """The mask a tensor carries as ``_keras_mask`` (KerasTensors, eager arrays), or None."""
    return getattr(x, "_keras_mask", None) if _is_tensor(x) else None


def _mask_structure(value, mask_of):
    """The masks of the tensors in ``value`` (same structure), or None when none has one."""
    masks = map_structure(lambda x: mask_of(x) if _is_tensor(x) else None, value)
    if all(m is None for m in flatten(masks)):
        return None
    return masks


def _mask_fits(mask_shape: tuple, output_shape: tuple) -> bool:
    """Whether a mask covers the leading axes of its output (size 1 broadcasts).

    Symbolic shapes compare exactly: a dimension unknown (None) in the output must be
    unknown in the mask, since both follow the same unknown input dimension.
    """
    if len(mask_shape) > len(output_shape):
        return False
    return all(m == o or m == 1 for m, o in zip(mask_shape, output_shape))


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


class BuiltAtInit:
    """Mixin for the weightless layers Keras builds at construction: Keras saves no
    build config for them, so neither does lamina (their configs match Keras's)."""

    def get_build_config(self):
        return None


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
