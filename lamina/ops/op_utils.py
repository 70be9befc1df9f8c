"""Helpers shared by the ``lamina.ops`` modules: tensors, dtypes and axes."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.dtype_promotion import result_type

NUMPY = "keras.src.ops.numpy"
NN = "keras.src.ops.nn"
LINALG = "keras.src.ops.linalg"
MATH = "keras.src.ops.math"
CORE = "keras.src.ops.core"
IMAGE = "keras.src.ops.image"


def tensor(x, dtype=None):
    """``x`` as a ``jax.Array`` (Python scalars stay weakly typed, as in JAX)."""
    if dtype is not None:
        return jnp.asarray(x, dtype=dtypes.standardize(dtype))
    if isinstance(x, np.ndarray) and x.dtype == np.float64:
        return jnp.asarray(x, dtype=dtypes.floatx())
    return jnp.asarray(x)


def dtype_of(x):
    """The dtype name of ``x`` for promotion; Python ``int``/``float`` (weak) for
    Python scalars, as Keras's result_type takes them."""
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, (int, float)):
        return type(x)
    if hasattr(x, "dtype"):
        if getattr(x, "weak_type", False):
            return float if jnp.issubdtype(x.dtype, jnp.floating) else (
                int if jnp.issubdtype(x.dtype, jnp.integer) else dtypes.standardize(x.dtype))
        return dtypes.standardize(x.dtype)
    return dtypes.standardize(np.asarray(x).dtype)


def promote(*xs):
    """The arguments as arrays of their Keras result type, and that type."""
    dtype = result_type(*(dtype_of(x) for x in xs))
    return [jnp.asarray(x, dtype=dtype) for x in xs], dtype


def float_type(x) -> str:
    """The float dtype a float-valued op computes ``x`` in: its own when it is a
    float, else ``floatx()`` (ints and bools)."""
    name = dtypes.standardize(tensor(x).dtype)
    return name if dtypes.is_float(name) or name.startswith("complex") else dtypes.floatx()


def to_float(x):
    x = tensor(x)
    return x.astype(float_type(x))


def axis_arg(axis):
    """An axis argument as JAX takes it: lists (e.g. from a JSON config) as tuples."""
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def is_float_dtype(dtype) -> bool:
    return dtypes.is_float(dtypes.standardize(dtype))
