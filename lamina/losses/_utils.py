"""Small array helpers shared by the loss functions and the Loss classes."""

from __future__ import annotations

import sys

import jax.numpy as jnp

_DEFAULT_EPSILON = 1e-7


def epsilon() -> float:
    """The fuzz factor used to keep logs and divisions finite (Keras's ``epsilon()``).

    Read at call time from ``lamina.backend.epsilon`` when that module is loaded,
    so ``set_epsilon`` there is honoured; otherwise Keras's default ``1e-7``.
    """
    backend = sys.modules.get("lamina.backend")
    getter = getattr(backend, "epsilon", None)
    return float(getter()) if callable(getter) else _DEFAULT_EPSILON


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Makes two arrays whose ranks differ by one agree in rank, as Keras does.

    When the higher-rank array ends in a dimension of size 1 that dimension is
    dropped, except that a rank-1 partner is instead given a trailing axis (when
    ``expand_rank_1``). Ranks that differ otherwise are left alone and broadcasting
    decides. Returns the pair ``(x1, x2)``.
    """
    r1, r2 = jnp.ndim(x1), jnp.ndim(x2)
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and jnp.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if r2 == r1 + 1 and jnp.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def as_pred_and_true(y_true, y_pred):
    """Converts ``y_pred`` to an array and ``y_true`` to an array of the same dtype."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true, dtype=y_pred.dtype)
    return y_true, y_pred


def check_same_shape(y_true, y_pred) -> None:
    """Raises ValueError unless labels and predictions have the same static shape."""
    if jnp.shape(y_true) != jnp.shape(y_pred):
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={jnp.shape(y_true)}, output.shape={jnp.shape(y_pred)}")
