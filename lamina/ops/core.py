"""Core ops (``keras.ops`` core): dtype casts and conversion, control flow on JAX's
structured primitives (``lax.cond``/``switch``/``scan``/``fori_loop``/``while_loop``/
``map``), vectorization, gradients, dynamic slices and scatters."""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.graph import KerasTensor
from lamina.ops.op_utils import CORE, tensor
from lamina.ops.operation import _unwrap, keras_op
from lamina.state import Variable


# -- dtypes and conversion --------------------------------------------------------------
@keras_op(CORE, init=("dtype",))
def cast(x, dtype):
    """``x`` converted to ``dtype``."""
    return tensor(x).astype(dtypes.standardize(dtype))


@keras_op(CORE, init=("dtype",))
def saturate_cast(x, dtype):
    """``x`` converted to ``dtype``, clipped to the target's range first (so
    ``300.0`` cast to uint8 is 255, not a wrapped value)."""
    x = tensor(x)
    dtype = dtypes.standardize(dtype)
    target = jnp.dtype(dtype)
    if jnp.issubdtype(target, jnp.integer) or jnp.issubdtype(target, jnp.floating):
        info = jnp.iinfo(target) if jnp.issubdtype(target, jnp.integer) else jnp.finfo(target)
        source = (jnp.iinfo(x.dtype) if jnp.issubdtype(x.dtype, jnp.integer) else
                  jnp.finfo(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else None)
        low = info.min if source is None or info.min > source.min else None
        high = info.max if source is None or info.max < source.max else None
        if x.dtype != jnp.bool_ and (low is not None or high is not None):
            # Clip in the wider of the two types, so the bounds are representable.
            wide = jnp.promote_types(x.dtype, target)
            x = jnp.clip(x.astype(wide), low, high)
    return x.astype(dtype)


@keras_op(CORE, init=("dtype", "sparse", "ragged"), jit=False)
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` (array-like, Variable, Python scalars and lists) as a ``jax.Array``."""
    if sparse or ragged:
        raise NotImplementedError("Sparse and ragged tensors are not supported by lamina.")
    if dtype is None and isinstance(x, (list, tuple)) and not isinstance(x, np.ndarray):
        arr = np.asarray(x)
        if arr.dtype == np.float64:
            return jnp.asarray(arr, dtypes.floatx())
        if arr.dtype == np.int64:
            return jnp.asarray(arr, "int32")
    return tensor(x, dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array."""
    if isinstance(x, KerasTensor):
        raise ValueError("A symbolic KerasTensor has no value to convert to NumPy.")
    return np.asarray(_unwrap(x))


def is_tensor(x) -> bool:
    """Whether ``x`` is a tensor of the backend (a ``jax.Array``, also under tracing)."""
    return isinstance(x, jax.Array)


def dtype(x) -> str:
    """The standardized dtype name of ``x``."""
    if isinstance(x, (KerasTensor, Variable)):
        return x.dtype
    return dtypes.standardize(tensor(x).dtype)


def shape(x) -> tuple:
    """The shape of ``x`` as a tuple (``None`` for unknown dimensions of KerasTensors)."""
    if isinstance(x, (KerasTensor, Variable)):
        return tuple(x.shape)
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return tuple(np.shape(x))


# -- control flow -----------------------------------------------------------------------
@keras_op(CORE)
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``; both must return the same
    structure of shapes and dtypes. Traced (``lax.cond``) when ``pred`` is traced."""
    return jax.lax.cond(pred, true_fn, false_fn)


@keras_op(CORE)
def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped to the valid range."""
    return jax.lax.switch(index, list(branches), *operands)


@keras_op(CORE, init=("length", "reverse", "unroll"))
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops ``carry, y = f(carry, x)`` over the leading axis of ``xs`` (or
    ``length`` times); returns the final carry and the stacked ``y``."""
    return jax.lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)


@keras_op(CORE, init=("reverse", "axis"))
def associative_scan(f, elems, reverse=False, axis=0):
    """Prefix scan with the associative binary function ``f`` along ``axis``."""
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


@keras_op(CORE, init=("lower", "upper", "body_fun"))
def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``[lower, upper)``; returns ``val``."""
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


@keras_op(CORE, init=("cond", "body", "maximum_iterations"))
def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (and at most
    ``maximum_iterations`` times). A tuple or list of ``loop_vars`` is passed to
    ``cond`` and ``body`` as separate arguments; returns the final ``loop_vars`` (a
    tuple for a tuple or list, as Keras)."""
    is_sequence = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_sequence else (loop_vars,)

    def call(fn, values):
        return fn(*values) if is_sequence else fn(values[0])

    def as_state(values):
        if is_sequence:
            return tuple(values)
        return (values,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda s: call(cond, s), lambda s: as_state(call(body, s)),
                                 state)
    else:
        def limited_cond(s):
            count, values = s
            return jnp.logical_and(count < maximum_iterations, call(cond, values))

        def limited_body(s):
            count, values = s
            return count + 1, as_state(call(body, values))

        _, out = jax.lax.while_loop(limited_cond, limited_body, (0, state))
    return out if is_sequence else out[0]


@keras_op(CORE)
def map(f, xs):  # noqa: A001 - Keras's name
    """``f`` applied to each slice of ``xs`` along its leading axis; results stacked."""
    return jax.lax.map(f, xs)


@keras_op(CORE, init=("function",))
def vectorized_map(function, elements):
    """``function`` vectorized (``jax.vmap``) over the leading axis of ``elements``."""
    return jax.vmap(function)(elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``pyfunc`` turned into a function broadcasting over its arguments, as
    ``numpy.vectorize`` (with an optional generalized-ufunc ``signature``)."""
    return jnp.vectorize(pyfunc, excluded=excluded or builtins.set(), signature=signature)



# -- gradients --------------------------------------------------------------------------
@keras_op(CORE)
def stop_gradient(variable):
    """``variable``'s value with no gradient flowing through it."""
    return jax.lax.stop_gradient(tensor(variable))


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; ``grad_fn(upstream)``
    returns the gradients of the arguments. As in Keras on JAX, ``grad_fn`` receives
    the upstream gradient positionally."""
    return jax.custom_gradient(f)


# -- slices and scatters ----------------------------------------------------------------
@keras_op(CORE, init=("shape",))
def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices`` (which
    may be traced)."""
    return jax.lax.dynamic_slice(tensor(inputs), [jnp.asarray(i) for i in start_indices]
                                 if isinstance(start_indices, (list, tuple))
                                 else list(tensor(start_indices)), tuple(shape))


@keras_op(CORE)
def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    inputs = tensor(inputs)
    starts = ([jnp.asarray(i) for i in start_indices]
              if isinstance(start_indices, (list, tuple)) else list(tensor(start_indices)))
    return jax.lax.dynamic_update_slice(inputs, tensor(updates).astype(inputs.dtype), starts)


def _index_tuple(indices):
    indices = tensor(indices)
    if indices.ndim == 1:
        indices = indices[None]
    return tuple(jnp.moveaxis(indices, -1, 0))


@keras_op(CORE, init=("shape",))
def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (the last axis of
    ``indices`` indexes the leading axes of the output)."""
    values = tensor(values)
    out = jnp.zeros(tuple(shape), values.dtype)
    return out.at[_index_tuple(indices)].add(values)


@keras_op(CORE, init=("reduction",))
def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with the entries at ``indices`` replaced by (or, with ``reduction``
    ``"add"``/``"max"``/``"min"``/``"mul"``, combined with) ``updates``."""
    inputs = tensor(inputs)
    updates = tensor(updates).astype(inputs.dtype)
    at = inputs.at[_index_tuple(indices)]
    if reduction is None:
        return at.set(updates)
    methods = {"add": at.add, "max": at.max, "min": at.min, "mul": at.multiply}
    if reduction not in methods:
        raise ValueError(f"Unknown reduction {reduction!r}: expected None, 'add', 'max', "
                         "'min' or 'mul'.")
    return methods[reduction](updates)


@keras_op(CORE, init=("num", "axis"))
def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list."""
    x = tensor(x)
    n = x.shape[axis]
    if num is not None and num != n:
        raise ValueError(f"unstack: num={num} does not match the size {n} of axis {axis}.")
    return [jnp.take(x, i, axis=axis) for i in builtins.range(n)]
