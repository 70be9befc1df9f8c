"""Weight constraints, as ``keras.constraints``.

A constraint is called on a weight array after each optimizer update and returns
the projected array (pure jnp code, so it runs inside jitted train steps).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamina import dtypes
from lamina.saving import serialization as _ser

# Keras's fuzz factor (keras.config.epsilon()), guarding divisions by a zero norm.
_EPSILON = 1e-7


def _as_float(w) -> jax.Array:
    w = jnp.asarray(w)
    if not jnp.issubdtype(w.dtype, jnp.floating):
        w = w.astype(dtypes.floatx())
    return w


def _axis(axis):
    # Configs written as JSON hold lists; jnp reductions want an int or a tuple.
    return tuple(axis) if isinstance(axis, list) else axis


def _number(value, name: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(
            value, "__float__"):
        raise TypeError(f"`{name}` must be a number, received {name}={value!r}.")
    return value


def _norms(w, axis) -> jax.Array:
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=_axis(axis), keepdims=True))


class Constraint:
    """Base class of weight constraints: ``constraint(w)`` returns the projected weight."""

    _keras_module = "keras.constraints"

    def __call__(self, w) -> Any:
        return w

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-able dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Constraint:
        """Creates a constraint from the output of :meth:`get_config`."""
        return cls(**config)


class MaxNorm(Constraint):
    """Rescales each slice whose L2 norm along ``axis`` exceeds ``max_value`` down to it.

    Args:
        max_value: the maximum norm.
        axis: the axis (or axes) along which norms are computed; for a Dense kernel
            ``(input_dim, units)`` the default 0 constrains each unit's incoming weights.
    """

    def __init__(self, max_value: float = 2, axis: int | list | tuple = 0):
        self.max_value = _number(max_value, "max_value")
        self.axis = axis

    def __call__(self, w) -> jax.Array:
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the L2 norm along ``axis`` of each slice into ``[min_value, max_value]``.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.

    Args:
        min_value: the minimum norm.
        max_value: the maximum norm.
        rate: how far to move toward the clipped norm (1.0 enforces the bounds exactly).
        axis: the axis (or axes) along which norms are computed.
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | list | tuple = 0):
        self.min_value = _number(min_value, "min_value")
        self.max_value = _number(max_value, "max_value")
        self.rate = _number(rate, "rate")
        self.axis = axis

    def __call__(self, w) -> jax.Array:
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * jnp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to 0."""

    def __call__(self, w) -> jax.Array:
        w = jnp.asarray(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Rescales each slice to unit L2 norm along ``axis``.

    Args:
        axis: the axis (or axes) along which norms are computed.
    """

    def __init__(self, axis: int | list | tuple = 0):
        self.axis = axis

    def __call__(self, w) -> jax.Array:
        w = _as_float(w)
        return w / (_EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


# Keras's snake_case aliases name the same classes.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS_DICT: dict[str, type] = {
    "Constraint": Constraint, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg,
    "UnitNorm": UnitNorm, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}


serialize, deserialize, get = _ser.object_accessors("constraint", ALL_OBJECTS_DICT)


__all__ = [*ALL_OBJECTS_DICT, "serialize", "deserialize", "get"]
