"""Ops that create tensors (``keras.ops.numpy``): ranges, constants, identity-like
matrices, grids and window functions."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, dtype_of, result_type, tensor
from lamina.ops.operation import keras_op


def _shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _dtype(dtype, default=None):
    return dtypes.standardize(dtype) if dtype is not None else (default or dtypes.floatx())


# -- constants (no tensor arguments: plain functions, never graph nodes) ---------------
def zeros(shape, dtype=None):
    """A tensor of zeros (dtype default ``floatx()``)."""
    return jnp.zeros(_shape(shape), _dtype(dtype))


def ones(shape, dtype=None):
    """A tensor of ones (dtype default ``floatx()``)."""
    return jnp.ones(_shape(shape), _dtype(dtype))


def empty(shape, dtype=None):
    """A tensor of the given shape; its values are unspecified (zeros here)."""
    return jnp.zeros(_shape(shape), _dtype(dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    """An ``N x M`` matrix with ones on the ``k``-th diagonal."""
    return jnp.eye(N, M, k=k, dtype=_dtype(dtype))


def identity(n, dtype=None):
    """The ``n x n`` identity matrix."""
    return jnp.identity(n, dtype=_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's names
    """An ``N x M`` matrix with ones at and below the ``k``-th diagonal."""
    return jnp.tri(N, M, k=k, dtype=_dtype(dtype))


# -- tensor-shaped constants ------------------------------------------------------------
@keras_op(NUMPY, init=("dtype",))
def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape (and dtype, unless given)."""
    x = tensor(x)
    return jnp.zeros_like(x, dtype=_dtype(dtype, dtypes.standardize(x.dtype)))


@keras_op(NUMPY, init=("dtype",))
def ones_like(x, dtype=None):
    """Ones of ``x``'s shape (and dtype, unless given)."""
    x = tensor(x)
    return jnp.ones_like(x, dtype=_dtype(dtype, dtypes.standardize(x.dtype)))


@keras_op(NUMPY, init=("dtype",))
def empty_like(x, dtype=None):
    """A tensor of ``x``'s shape (and dtype, unless given); values unspecified."""
    x = tensor(x)
    return jnp.zeros_like(x, dtype=_dtype(dtype, dtypes.standardize(x.dtype)))


@keras_op(NUMPY, init=("shape", "dtype"))
def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value``."""
    return jnp.full(_shape(shape), tensor(fill_value), dtype=_dtype(dtype))


@keras_op(NUMPY, init=("dtype",))
def full_like(x, fill_value, dtype=None):
    """A tensor of ``x``'s shape filled with ``fill_value`` (dtype default ``x``'s)."""
    x = tensor(x)
    return jnp.full(x.shape, fill_value, dtype=_dtype(dtype, dtypes.standardize(x.dtype)))


@keras_op(NUMPY, init=("dtype",))
def array(x, dtype=None):
    """``x`` as a tensor of ``dtype`` (inferred when None)."""
    return tensor(x, dtype)


# -- ranges -----------------------------------------------------------------------------
@keras_op(NUMPY, init=("dtype",))
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in ``[start, stop)`` (``[0, start)`` when ``stop`` is None)."""
    if dtype is None:
        kinds = [dtype_of(v) for v in (start, stop, step) if v is not None]
        kinds = ["int32" if k is int else ("float32" if k is float else k) for k in kinds]
        dtype = result_type(*kinds)
    if step is None:
        step = 1
    return jnp.arange(start, stop, step, dtype=dtypes.standardize(dtype))


def _space_dtype(dtype, start, stop):
    if dtype is not None:
        return dtypes.standardize(dtype)
    return result_type(dtype_of(start), dtype_of(stop), float)


@keras_op(NUMPY, init=("num", "endpoint", "retstep", "dtype", "axis"))
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    dtype = _space_dtype(dtype, start, stop)
    return jnp.linspace(tensor(start), tensor(stop), num, endpoint=endpoint, retstep=retstep,
                        dtype=dtype, axis=axis)


@keras_op(NUMPY, init=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``num`` values evenly spaced on a log scale, from ``base**start`` to
    ``base**stop``."""
    dtype = _space_dtype(dtype, start, stop)
    return jnp.logspace(tensor(start), tensor(stop), num, endpoint=endpoint, base=base,
                        dtype=dtype, axis=axis)


@keras_op(NUMPY, init=("num", "endpoint", "dtype", "axis"))
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values in geometric progression from ``start`` to ``stop``."""
    dtype = _space_dtype(dtype, start, stop)
    return jnp.geomspace(tensor(start), tensor(stop), num, endpoint=endpoint, dtype=dtype,
                         axis=axis)


@keras_op(NUMPY, init=("indexing",))
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors (``"xy"`` or ``"ij"`` indexing)."""
    return jnp.meshgrid(*[tensor(v) for v in x], indexing=indexing)


@keras_op(NUMPY, init=("N", "increasing"))
def vander(x, N=None, increasing=False):  # noqa: N803 - Keras's name
    """The Vandermonde matrix of the 1-D ``x``: columns are powers of ``x``."""
    x = tensor(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.vander(x, N=N, increasing=increasing)


# -- windows ----------------------------------------------------------------------------
def _window_length(x) -> int:
    return int(x)


def bartlett(x):
    """The Bartlett (triangular) window of ``x`` points."""
    return jnp.bartlett(_window_length(x)).astype(dtypes.floatx())


def blackman(x):
    """The Blackman window of ``x`` points."""
    return jnp.blackman(_window_length(x)).astype(dtypes.floatx())


def hamming(x):
    """The Hamming window of ``x`` points."""
    return jnp.hamming(_window_length(x)).astype(dtypes.floatx())


def hanning(x):
    """The Hann window of ``x`` points."""
    return jnp.hanning(_window_length(x)).astype(dtypes.floatx())


def kaiser(x, beta):
    """The Kaiser window of ``x`` points with shape parameter ``beta``."""
    return jnp.kaiser(_window_length(x), beta).astype(dtypes.floatx())
