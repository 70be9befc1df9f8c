"""Dtype names and the global default float type (``floatx``).

Dtypes are named as Keras names them (``"float32"``, ``"int8"``, ``"bool"``,
``"string"``, ...); Python's ``int``/``float``/``complex``/``str`` map to
``"int32"``/``"float32"``/``"complex64"``/``"string"`` as on Keras's JAX backend.
"""

from __future__ import annotations

import jax.numpy as jnp

_FLOATX = "float32"

BOOL_TYPES = ("bool",)
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
FLOAT8_TYPES = ("float8_e4m3fn", "float8_e5m2")
COMPLEX_TYPES = ("complex64", "complex128")
# Every dtype name Keras accepts.
ALLOWED_DTYPES = BOOL_TYPES + INT_TYPES + FLOAT_TYPES + FLOAT8_TYPES + COMPLEX_TYPES + ("string",)

_PYTHON_TYPES = ((bool, "bool"), (int, "int32"), (float, "float32"), (complex, "complex64"),
                 (str, "string"))


def floatx() -> str:
    """The default float dtype name (``"float32"`` unless changed)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Sets the default float dtype: ``"float16"``, ``"bfloat16"``, ``"float32"`` or
    ``"float64"``.

    Raises:
        ValueError: any other value.
    """
    global _FLOATX
    try:
        name = standardize(value)
    except ValueError:
        name = None
    if name not in FLOAT_TYPES:
        raise ValueError(f"Unknown floatx {value!r}: expected one of float16, bfloat16, "
                         "float32, float64.")
    _FLOATX = name


def standardize(dtype) -> str:
    """The Keras name (e.g. ``"float32"``) of a dtype-like value.

    Args:
        dtype: None (gives ``floatx()``), a name, a NumPy/JAX dtype or scalar type, a
            Python type (``int`` gives ``"int32"``, ``float`` ``"float32"``), or an
            object with a ``name`` (a dtype policy with a plain dtype name).

    Raises:
        ValueError: the value names no dtype Keras supports.
    """
    if dtype is None:
        return floatx()
    if isinstance(dtype, str):
        name = "int32" if dtype == "int" else dtype
    else:
        name = next((n for t, n in _PYTHON_TYPES if dtype is t), None)
        if name is None:
            name = getattr(dtype, "name", None)
        if not isinstance(name, str):
            try:
                name = jnp.dtype(dtype).name
            except TypeError:
                name = None
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}")
    return name


def is_float(dtype) -> bool:
    """Whether ``dtype`` is a floating type (``float*`` or ``bfloat16``)."""
    name = standardize(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int(dtype) -> bool:
    """Whether ``dtype`` is a signed or unsigned integer type (``bool`` is not)."""
    name = standardize(dtype)
    return name.startswith("int") or name.startswith("uint")
