"""Linear algebra ops (``keras.ops.linalg``): decompositions, inverses, solvers and
norms of (batches of) matrices, and forward-mode differentiation (``jvp``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from lamina.ops.op_utils import LINALG, axis_arg, tensor, to_float
from lamina.ops.operation import keras_op


@keras_op(LINALG, init=("upper",))
def cholesky(x, upper=False):
    """The Cholesky factor of positive-definite matrices (lower, or upper when
    ``upper``)."""
    lower = jnp.linalg.cholesky(to_float(x))
    return jnp.conjugate(jnp.swapaxes(lower, -1, -2)) if upper else lower


@keras_op(LINALG, init=("upper",))
def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` given its Cholesky factor ``x`` (``A = L L^T``, or
    ``U^T U`` when ``upper``)."""
    factor = to_float(x)
    eye = jnp.broadcast_to(jnp.eye(factor.shape[-1], dtype=factor.dtype), factor.shape)
    return jsl.cho_solve((factor, not upper), eye)


@keras_op(LINALG)
def det(x):
    """Determinants of square matrices."""
    return jnp.linalg.det(to_float(x))


@keras_op(LINALG)
def eig(x):
    """Eigenvalues and eigenvectors of general square matrices (complex)."""
    return jnp.linalg.eig(to_float(x))


@keras_op(LINALG)
def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices."""
    return jnp.linalg.eigh(to_float(x))


@keras_op(LINALG)
def inv(x):
    """Inverses of square matrices."""
    return jnp.linalg.inv(to_float(x))


@keras_op(LINALG)
def lu_factor(x):
    """The LU factorization: ``(lu, pivots)`` with L and U packed in ``lu``."""
    lu, pivots = jsl.lu_factor(to_float(x))
    return lu, pivots.astype("int32")


@keras_op(LINALG, init=("rcond",))
def lstsq(a, b, rcond=None):
    """The least-squares solution ``x`` of ``a @ x = b``."""
    a, b = to_float(a), to_float(b)
    return jnp.linalg.lstsq(a, b.astype(a.dtype), rcond=rcond)[0]


@keras_op(LINALG, init=("tol",))
def matrix_rank(x, tol=None):
    """The numerical rank of matrices (singular values above ``tol``)."""
    return jnp.linalg.matrix_rank(to_float(x), rtol=None, tol=tol).astype("int32")


@keras_op(LINALG, init=("ord", "axis", "keepdims"))
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """Vector or matrix norms (``ord`` as in ``numpy.linalg.norm``)."""
    return jnp.linalg.norm(to_float(x), ord=ord, axis=axis_arg(axis), keepdims=keepdims)


@keras_op(LINALG, init=("rcond",))
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverses."""
    x = to_float(x)
    if rcond is None:
        return jnp.linalg.pinv(x)
    return jnp.linalg.pinv(x, rtol=rcond)


@keras_op(LINALG, init=("mode",))
def qr(x, mode="reduced"):
    """The QR decomposition ``(q, r)`` (``mode`` ``"reduced"`` or ``"complete"``)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr mode must be 'reduced' or 'complete', received {mode!r}.")
    return jnp.linalg.qr(to_float(x), mode=mode)


@keras_op(LINALG)
def solve(a, b):
    """The solution ``x`` of ``a @ x = b``."""
    a, b = to_float(a), to_float(b)
    return jnp.linalg.solve(a, b.astype(a.dtype))


@keras_op(LINALG, init=("lower",))
def solve_triangular(a, b, lower=False):
    """The solution of ``a @ x = b`` for triangular ``a``."""
    a, b = to_float(a), to_float(b)
    return jsl.solve_triangular(a, b.astype(a.dtype), lower=lower)


@keras_op(LINALG, class_name="SVD", init=("full_matrices", "compute_uv"))
def svd(x, full_matrices=True, compute_uv=True):
    """The singular value decomposition ``(u, s, vh)`` (just ``s`` without
    ``compute_uv``)."""
    return jnp.linalg.svd(to_float(x), full_matrices=full_matrices, compute_uv=compute_uv)


@keras_op(LINALG, class_name="JVP", init=("has_aux",))
def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J @ tangents)`` by forward-mode differentiation (plus the
    auxiliary output when ``has_aux``)."""
    primals = tuple(tensor(p) for p in primals)
    tangents = tuple(tensor(t) for t in tangents)
    return jax.jvp(fun, primals, tangents, has_aux=has_aux)
