"""Reductions and scans (``keras.ops.numpy``): sums, means, extrema, statistics,
quantiles and cumulative ops, with their NaN-ignoring variants."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, axis_arg, float_type, tensor, to_float
from lamina.ops.operation import keras_op


def _scan_dtype(x):
    """Cumulative ops keep their input's dtype; bools count in int32."""
    name = dtypes.standardize(x.dtype)
    return "int32" if name == "bool" else name


def _sum_dtype(x):
    """Sums keep their input's dtype, except bools and narrow ints, which sum in int32
    (uint32 for narrow unsigned ints)."""
    name = dtypes.standardize(x.dtype)
    if name == "bool" or name in ("int8", "int16"):
        return "int32"
    if name in ("uint8", "uint16"):
        return "uint32"
    return name


@keras_op(NUMPY, init=("axis", "keepdims"))
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Sum over ``axis`` (all axes when None)."""
    x = tensor(x)
    return jnp.sum(x, axis=axis_arg(axis), keepdims=keepdims, dtype=_sum_dtype(x))


@keras_op(NUMPY, init=("axis", "keepdims", "dtype"))
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``."""
    x = tensor(x)
    out_dtype = dtypes.standardize(dtype) if dtype is not None else _sum_dtype(x)
    return jnp.prod(x, axis=axis_arg(axis), keepdims=keepdims, dtype=out_dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integers average as ``floatx()``."""
    x = to_float(x)
    if x.dtype in (jnp.float16, jnp.bfloat16):
        # Accumulate half precision in float32, as Keras does.
        return jnp.mean(x.astype("float32"), axis=axis_arg(axis),
                        keepdims=keepdims).astype(x.dtype)
    return jnp.mean(x, axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims", "initial"))
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """Maximum over ``axis``; ``initial`` is a lower bound (and the result of empty
    reductions)."""
    return jnp.max(tensor(x), axis=axis_arg(axis), keepdims=keepdims, initial=initial)


@keras_op(NUMPY, init=("axis", "keepdims", "initial"))
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    """Minimum over ``axis``; ``initial`` is an upper bound."""
    return jnp.min(tensor(x), axis=axis_arg(axis), keepdims=keepdims, initial=initial)


@keras_op(NUMPY, init=("axis", "keepdims"))
def amax(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""
    return jnp.max(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def amin(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""
    return jnp.min(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def ptp(x, axis=None, keepdims=False):
    """Range (maximum minus minimum) over ``axis``."""
    return jnp.ptp(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


def _moment_input(x):
    x = to_float(x)
    if x.dtype in (jnp.float16, jnp.bfloat16):
        return x.astype("float32"), x.dtype
    return x, x.dtype


@keras_op(NUMPY, init=("axis", "keepdims"))
def var(x, axis=None, keepdims=False):
    """Variance over ``axis`` (population variance, ``ddof=0``)."""
    x, dtype = _moment_input(x)
    return jnp.var(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def std(x, axis=None, keepdims=False):
    """Standard deviation over ``axis`` (``ddof=0``)."""
    x, dtype = _moment_input(x)
    return jnp.std(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether every element along ``axis`` is true (non-zero)."""
    return jnp.all(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Whether any element along ``axis`` is true (non-zero)."""
    return jnp.any(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (of the flattened tensor when None)."""
    return jnp.argmax(tensor(x), axis=axis, keepdims=keepdims).astype("int32")


@keras_op(NUMPY, init=("axis", "keepdims"))
def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along ``axis``."""
    return jnp.argmin(tensor(x), axis=axis, keepdims=keepdims).astype("int32")


@keras_op(NUMPY, init=("axis",))
def count_nonzero(x, axis=None):
    """Number of non-zero elements along ``axis``."""
    return jnp.count_nonzero(tensor(x), axis=axis_arg(axis)).astype("int32")


@keras_op(NUMPY, init=("axis",))
def average(x, axis=None, weights=None):
    """Weighted mean along ``axis`` (plain mean without ``weights``)."""
    x = tensor(x)
    if weights is None:
        return mean.__wrapped__(x, axis=axis)
    weights = tensor(weights)
    dtype = float_type(jnp.zeros((), jnp.result_type(x.dtype, weights.dtype)))
    return jnp.average(x.astype(dtype), axis=axis, weights=weights.astype(dtype))


@keras_op(NUMPY, init=("axis", "keepdims"))
def median(x, axis=None, keepdims=False):
    """Median along ``axis``."""
    x, dtype = _moment_input(x)
    return jnp.median(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "method", "keepdims"))
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1]) along ``axis``."""
    x, dtype = _moment_input(x)
    return jnp.quantile(x, tensor(q), axis=axis_arg(axis), method=method,
                        keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "method", "keepdims"))
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles (``q`` in [0, 100]) along ``axis``."""
    x, dtype = _moment_input(x)
    return jnp.percentile(x, tensor(q), axis=axis_arg(axis), method=method,
                          keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "dtype"))
def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (over the flattened tensor when None)."""
    x = tensor(x)
    out = dtypes.standardize(dtype) if dtype is not None else _scan_dtype(x)
    return jnp.cumsum(x, axis=axis, dtype=out)


@keras_op(NUMPY, init=("axis", "dtype"))
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis``."""
    x = tensor(x)
    out = dtypes.standardize(dtype) if dtype is not None else _scan_dtype(x)
    return jnp.cumprod(x, axis=axis, dtype=out)


# -- NaN-ignoring variants ----------------------------------------------------------------
@keras_op(NUMPY, init=("axis", "keepdims"))
def nansum(x, axis=None, keepdims=False):
    """Sum over ``axis`` treating NaN as 0."""
    x = tensor(x)
    return jnp.nansum(x, axis=axis_arg(axis), keepdims=keepdims, dtype=_sum_dtype(x))


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanprod(x, axis=None, keepdims=False):
    """Product over ``axis`` treating NaN as 1."""
    x = tensor(x)
    return jnp.nanprod(x, axis=axis_arg(axis), keepdims=keepdims, dtype=_sum_dtype(x))


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanmean(x, axis=None, keepdims=False):
    """Mean over ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanmean(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanvar(x, axis=None, keepdims=False):
    """Variance over ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanvar(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanstd(x, axis=None, keepdims=False):
    """Standard deviation over ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanstd(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanmax(x, axis=None, keepdims=False):
    """Maximum over ``axis`` ignoring NaN."""
    return jnp.nanmax(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanmin(x, axis=None, keepdims=False):
    """Minimum over ``axis`` ignoring NaN."""
    return jnp.nanmin(tensor(x), axis=axis_arg(axis), keepdims=keepdims)


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanargmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` ignoring NaN."""
    return jnp.nanargmax(tensor(x), axis=axis, keepdims=keepdims).astype("int32")


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanargmin(x, axis=None, keepdims=False):
    """Index of the minimum along ``axis`` ignoring NaN."""
    return jnp.nanargmin(tensor(x), axis=axis, keepdims=keepdims).astype("int32")


@keras_op(NUMPY, init=("axis", "keepdims"))
def nanmedian(x, axis=None, keepdims=False):
    """Median along ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanmedian(x, axis=axis_arg(axis), keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "method", "keepdims"))
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles along ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanquantile(x, tensor(q), axis=axis_arg(axis), method=method,
                           keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "method", "keepdims"))
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles along ``axis`` ignoring NaN."""
    x, dtype = _moment_input(x)
    return jnp.nanpercentile(x, tensor(q), axis=axis_arg(axis), method=method,
                             keepdims=keepdims).astype(dtype)


@keras_op(NUMPY, init=("axis", "dtype"))
def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` treating NaN as 0."""
    x = tensor(x)
    out = dtypes.standardize(dtype) if dtype is not None else _scan_dtype(x)
    return jnp.nancumsum(x, axis=axis, dtype=out)


@keras_op(NUMPY, init=("axis", "dtype"))
def nancumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` treating NaN as 1."""
    x = tensor(x)
    out = dtypes.standardize(dtype) if dtype is not None else _scan_dtype(x)
    return jnp.nancumprod(x, axis=axis, dtype=out)
