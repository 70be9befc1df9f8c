"""Regression, hinge and divergence losses as plain functions.

Each takes ``(y_true, y_pred)`` and returns one loss per sample: the elementwise
loss reduced over the last axis, so the result has the shape of ``y_pred`` minus
its last dimension. Labels are cast to the prediction dtype; a rank-1 array and a
rank-2 array ending in 1 are aligned first (as Keras aligns them) by all but
the divergence and hinge losses, which, like Keras's, broadcast their inputs as
given; the Loss classes align every pair before calling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.losses._utils import as_pred_and_true, epsilon, squeeze_or_expand_to_same_rank


def _prepare(y_true, y_pred):
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    """Mean of ``(y_true - y_pred) ** 2`` over the last axis.

    Args:
        y_true: ground-truth values, shape ``(batch, ..., d)``.
        y_pred: predicted values, same shape.

    Returns:
        The per-sample mean squared error, shape ``(batch, ...)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean of ``|y_true - y_pred|`` over the last axis; one value per sample."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|y_true - y_pred| / |y_true|)`` over the last axis.

    ``|y_true|`` is floored at ``epsilon()`` so zero targets give a large but
    finite error. Returns one value per sample.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    scale = jnp.maximum(jnp.abs(y_true), epsilon())
    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / scale), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean of ``(log(y_pred + 1) - log(y_true + 1)) ** 2`` over the last axis.

    Both inputs are floored at ``epsilon()`` first, so negative values count as
    zero. Returns one value per sample.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = epsilon()
    log_pred = jnp.log(jnp.maximum(y_pred, eps) + 1.0)
    log_true = jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(log_pred - log_true), axis=-1)


def _l2_normalize(x, axis):
    # The floor on the squared norm keeps all-zero vectors at zero instead of NaN.
    sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(sq, 1e-12))


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """Negative cosine similarity between labels and predictions along ``axis``.

    Args:
        y_true: ground-truth vectors.
        y_pred: predicted vectors, same shape.
        axis: the axis holding the vector components.

    Returns:
        ``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for vectors
        pointing the same way, 0 for orthogonal ones (or a zero vector), 1 for
        opposite ones.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta: float = 1.0):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond, averaged over the last axis.

    Args:
        y_true: ground-truth values.
        y_pred: predicted values, same shape.
        delta: the error size at which the loss turns from quadratic to linear.

    Returns:
        One value per sample: mean of ``0.5 * e**2`` where ``|e| <= delta`` and
        ``delta * |e| - 0.5 * delta**2`` elsewhere, ``e = y_pred - y_true``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    delta = jnp.asarray(delta, dtype=y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    half = jnp.asarray(0.5, dtype=y_pred.dtype)
    per_element = jnp.where(abs_error <= delta, half * jnp.square(error),
                            delta * abs_error - half * jnp.square(delta))
    return jnp.mean(per_element, axis=-1)


def log_cosh(y_true, y_pred):
    """Mean of ``log(cosh(y_pred - y_true))`` over the last axis; one value per sample.

    Computed as ``x + softplus(-2x) - log(2)``, which does not overflow for large
    errors the way ``cosh`` would.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    error = y_pred - y_true
    log2 = jnp.log(jnp.asarray(2.0, dtype=error.dtype))
    return jnp.mean(error + jax.nn.softplus(-2.0 * error) - log2, axis=-1)


def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis.

    Both inputs are clipped to ``[epsilon(), 1]`` first, so the inputs are treated
    as probability distributions. Returns one value per sample.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    eps = epsilon()
    y_true = jnp.clip(y_true, eps, 1.0)
    y_pred = jnp.clip(y_pred, eps, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """Mean of ``y_pred - y_true * log(y_pred + epsilon())`` over the last axis; one value per sample."""
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + epsilon()), axis=-1)


def _to_signed_labels(y_true):
    # Labels given as {0, 1} are mapped to {-1, 1}; any other labels are kept.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Mean of ``max(1 - y_true * y_pred, 0)`` over the last axis.

    Args:
        y_true: labels in ``{-1, 1}``; labels given as ``{0, 1}`` are mapped to
            ``{-1, 1}``.
        y_pred: predicted scores.

    Returns:
        One value per sample.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    y_true = _to_signed_labels(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean of ``max(1 - y_true * y_pred, 0) ** 2`` over the last axis; ``{0, 1}`` labels become ``{-1, 1}``."""
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    y_true = _to_signed_labels(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` with ``pos`` the score of the true class, ``neg`` the best other score.

    Args:
        y_true: one-hot labels.
        y_pred: predicted scores, same shape.

    Returns:
        One value per sample.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


for _fn in (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
            mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, kl_divergence,
            poisson, hinge, squared_hinge, categorical_hinge):
    _fn._keras_builtin = True
del _fn
