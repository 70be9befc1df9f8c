"""Products, contractions and other multi-element ops (``keras.ops.numpy``): matmul,
einsum, tensordot, outer and cross products, traces, correlations, histograms,
differences and integrals."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, dtype_of, promote, result_type, tensor, to_float
from lamina.ops.operation import keras_op


def _product_operands(x1, x2):
    """Both operands in their result type."""
    (a, b), _ = promote(x1, x2)
    return a, b


def _int8_accumulating(x1, x2):
    """Both operands in their result type; int8 products accumulate and return int32,
    as matmul and einsum do on Keras's JAX backend."""
    (a, b), dtype = promote(x1, x2)
    return a, b, ("int32" if dtype == "int8" else None)


@keras_op(NUMPY)
def matmul(x1, x2):
    """Matrix product (batched over leading axes)."""
    a, b, accumulate = _int8_accumulating(x1, x2)
    return jnp.matmul(a, b, preferred_element_type=accumulate)


@keras_op(NUMPY)
def dot(x1, x2):
    """Dot product: matrix product for 2-D tensors, sum over the last axis of ``x1``
    and the second-to-last of ``x2`` in general."""
    return jnp.dot(*_product_operands(x1, x2))


@keras_op(NUMPY, init=("axes",))
def tensordot(x1, x2, axes=2):
    """Sum of products over the given axes of ``x1`` and ``x2``."""
    if isinstance(axes, list):
        axes = tuple(tuple(a) if isinstance(a, list) else a for a in axes)
    return jnp.tensordot(*_product_operands(x1, x2), axes=axes)


@keras_op(NUMPY)
def inner(x1, x2):
    """Inner product over the last axes."""
    return jnp.inner(*_product_operands(x1, x2))


@keras_op(NUMPY)
def outer(x1, x2):
    """Outer product of the flattened tensors."""
    (a, b), _ = promote(x1, x2)
    return jnp.outer(a, b)


@keras_op(NUMPY)
def vdot(x1, x2):
    """Dot product of the flattened tensors (conjugating the first)."""
    return jnp.vdot(*_product_operands(x1, x2))


@keras_op(NUMPY)
def kron(x1, x2):
    """Kronecker product."""
    (a, b), _ = promote(x1, x2)
    return jnp.kron(a, b)


@keras_op(NUMPY, init=("subscripts",))
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over ``operands`` as described by ``subscripts``."""
    xs = [tensor(x) for x in operands]
    dtype = result_type(*(dtype_of(x) for x in xs))
    if dtype == "int8":
        kwargs.setdefault("preferred_element_type", "int32")
    return jnp.einsum(subscripts, *[x.astype(dtype) for x in xs], **kwargs)


@keras_op(NUMPY, init=("axisa", "axisb", "axisc", "axis"))
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-element vectors."""
    (a, b), _ = promote(x1, x2)
    return jnp.cross(a, b, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@keras_op(NUMPY, init=("offset", "axis1", "axis2"))
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the diagonal of the ``axis1``/``axis2`` planes."""
    x = tensor(x)
    dtype = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
             "uint16": "uint32"}.get(dtypes.standardize(x.dtype), x.dtype)
    return jnp.trace(x, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype)


@keras_op(NUMPY, init=("mode",))
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences."""
    dtype = result_type(dtype_of(x1), dtype_of(x2), float)
    return jnp.correlate(tensor(x1, dtype), tensor(x2, dtype), mode=mode)


@keras_op(NUMPY)
def corrcoef(x):
    """Pearson correlation coefficients of the rows of ``x``."""
    return jnp.corrcoef(to_float(x))


@keras_op(NUMPY, init=("bins", "range"))
def histogram(x, bins=10, range=None):  # noqa: A002 - Keras's name
    """Counts of the 1-D ``x`` in ``bins`` equal bins over ``range`` (default the
    data's range); returns ``(counts, bin_edges)``, both floats as in Keras."""
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"histogram expects a 1-D tensor, received shape {tuple(x.shape)}.")
    counts, edges = jnp.histogram(x, bins=bins, range=range)
    dtype = to_float(x).dtype
    return counts.astype(dtype), edges.astype(dtype)


@keras_op(NUMPY, init=("weights", "minlength", "sparse"), jit=False)
def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative integer value in ``x`` (summed ``weights`` when
    given); 2-D ``x`` counts per row."""
    if sparse:
        raise NotImplementedError("bincount(sparse=True) is not supported by lamina.")
    x = tensor(x)
    if x.ndim == 0 or x.ndim > 2:
        raise ValueError(f"bincount expects a 1-D or 2-D tensor, received shape "
                         f"{tuple(x.shape)}.")
    length = max(int(jnp.max(x)) + 1 if x.size else 0, minlength)
    if weights is not None:
        weights = tensor(weights)
    if x.ndim == 2:
        rows = [jnp.bincount(x[i], None if weights is None else weights[i], length=length)
                for i in range(x.shape[0])]
        out = jnp.stack(rows)
    else:
        out = jnp.bincount(x, weights, length=length)
    if weights is None:
        return out.astype("int32")
    return out.astype(dtypes.standardize(weights.dtype) if dtypes.is_float(weights.dtype)
                      else "int32")


@keras_op(NUMPY, init=("n", "axis"))
def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``."""
    return jnp.diff(tensor(a), n=n, axis=axis)


@keras_op(NUMPY, init=("x", "dx", "axis"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x``,
    or spacing ``dx``)."""
    y = to_float(y)
    if x is not None:
        x = tensor(x, y.dtype)
    return jnp.trapezoid(y, x=x, dx=dx, axis=axis)


@keras_op(NUMPY)
def slogdet(x):
    """``(sign, log|det|)`` of square matrices."""
    sign, logdet = jnp.linalg.slogdet(to_float(x))
    return sign, logdet
