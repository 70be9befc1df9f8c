"""Array helpers shared by the metric families (all pure ``jax.numpy``)."""

from __future__ import annotations

import sys

import jax.numpy as jnp

_DEFAULT_EPSILON = 1e-7


def epsilon() -> float:
    """Keras's fuzz factor (``1e-7`` unless ``lamina.backend.set_epsilon`` changed it)."""
    backend = sys.modules.get("lamina.backend")
    getter = getattr(backend, "epsilon", None)
    return float(getter()) if callable(getter) else _DEFAULT_EPSILON


def divide_no_nan(x, y):
    """``x / y`` where ``y != 0``, else 0 (no NaN or inf from empty denominators)."""
    safe = jnp.where(y == 0, jnp.ones_like(y), y)
    return jnp.where(y == 0, jnp.zeros_like(x / safe), x / safe)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Aligns the ranks of two arrays that differ by one trailing size-1 axis.

    If the higher-rank array ends in a size-1 axis, that axis is dropped, unless
    the other array has rank 1 and ``expand_rank_1`` is set, in which case the
    rank-1 array gets a trailing axis instead. Other rank differences are left to
    broadcasting. Returns ``(x1, x2)``.
    """
    r1, r2 = jnp.ndim(x1), jnp.ndim(x2)
    if r1 == r2 + 1 and jnp.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and jnp.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Weights per-element values and reduces them to one value per sample.

    Args:
        values: per-sample (or per-element) values, any rank.
        sample_weight: ``None`` or weights broadcastable to ``values`` after rank
            alignment.
        reduce_fn: ``jnp.mean`` or ``jnp.sum``, used for the non-batch axes.
        dtype: the metric's dtype, which values and weights are cast to.

    Returns:
        ``(values, sample_weight)``: weighted values of rank <= 1, and the weights
        reduced the same way (``None`` when none were given).
    """
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            # Values finer than the weights are averaged (or summed) down to them.
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight
