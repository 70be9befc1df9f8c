"""Dtype names and the global default float type (``floatx``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

_FLOATX = "float32"


def floatx() -> str:
    """The default float dtype name (``"float32"`` unless changed)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    value = standardize(value)
    if value not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError(f"Unknown floatx {value!r}: expected one of float16, bfloat16, "
                         "float32, float64.")
    _FLOATX = value


def standardize(dtype) -> str:
    """Returns the canonical name (e.g. ``"float32"``) of a dtype-like value."""
    if dtype is None:
        return floatx()
    if hasattr(dtype, "name") and isinstance(dtype.name, str) and not isinstance(
            dtype, (np.dtype, type)):
        # A DTypePolicy or similar object.
        return standardize(dtype.name)
    if isinstance(dtype, str):
        if dtype == "float":
            return "float32"
        if dtype == "int":
            return "int32"
    try:
        return jnp.dtype(dtype).name
    except TypeError as e:
        raise ValueError(f"Invalid dtype: {dtype!r}") from e


def is_float(dtype) -> bool:
    return bool(jnp.issubdtype(jnp.dtype(standardize(dtype)), jnp.floating))


def is_int(dtype) -> bool:
    return bool(jnp.issubdtype(jnp.dtype(standardize(dtype)), jnp.integer))
