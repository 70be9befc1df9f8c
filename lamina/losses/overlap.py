"""Overlap losses for segmentation-style targets: Dice and Tversky."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.losses._utils import as_pred_and_true, epsilon


def _axis(axis):
    # Configs read back from JSON hold lists where tuples were written.
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))``.

    Args:
        y_true: target masks (values in ``[0, 1]``).
        y_pred: predicted masks, same shape.
        axis: axis or tuple of axes to sum over; ``None`` sums over everything
            and returns a scalar.

    Returns:
        The loss with ``axis`` reduced away. ``epsilon()`` in the denominator
        makes two empty masks give a loss of 1 instead of NaN.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    axis = _axis(axis)
    intersection = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * intersection / (total + epsilon())


def tversky(y_true, y_pred, alpha: float = 0.5, beta: float = 0.5, axis=None):
    """Tversky loss ``1 - TP / (TP + alpha * FN + beta * FP)``.

    Args:
        y_true: target masks (values in ``[0, 1]``).
        y_pred: predicted masks, same shape.
        alpha: weight of false negatives ``sum(y_true * (1 - y_pred))``.
        beta: weight of false positives ``sum((1 - y_true) * y_pred)``.
        axis: axis or tuple of axes to sum over; ``None`` sums over everything.

    Returns:
        The loss with ``axis`` reduced away; ``alpha = beta = 0.5`` gives the Dice loss.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    axis = _axis(axis)
    true_pos = jnp.sum(y_true * y_pred, axis=axis)
    false_neg = jnp.sum(y_true * (1.0 - y_pred), axis=axis)
    false_pos = jnp.sum((1.0 - y_true) * y_pred, axis=axis)
    return 1.0 - true_pos / (true_pos + alpha * false_neg + beta * false_pos + epsilon())


dice._keras_builtin = True
tversky._keras_builtin = True
