"""Correlation metrics: Pearson and concordance correlation, averaged over batches."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.metrics.metrics_utils import epsilon, squeeze_or_expand_to_same_rank
from lamina.metrics.reduction_metrics import MeanMetricWrapper


def _aligned(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis: int = -1):
    """Pearson's correlation coefficient between labels and predictions along ``axis``.

    Returns one value in [-1, 1] per sample (``axis`` reduced).
    """
    y_true, y_pred = _aligned(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1):
    """Lin's concordance correlation coefficient along ``axis``.

    ``2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))^2)``: like Pearson's, but
    also penalizes predictions that are shifted or scaled away from the labels.
    Returns one value per sample.
    """
    y_true, y_pred = _aligned(y_true, y_pred)
    mean_t = jnp.mean(y_true, axis=axis, keepdims=True)
    mean_p = jnp.mean(y_pred, axis=axis, keepdims=True)
    var_t = jnp.var(y_true, axis=axis, keepdims=True)
    var_p = jnp.var(y_pred, axis=axis, keepdims=True)
    covariance = jnp.mean((y_true - mean_t) * (y_pred - mean_p), axis=axis, keepdims=True)
    denominator = var_t + var_p + jnp.square(mean_t - mean_p)
    return jnp.squeeze(2.0 * covariance / (denominator + epsilon()), axis=axis)


for _fn in (pearson_correlation, concordance_correlation):
    _fn._keras_builtin = True


class PearsonCorrelation(MeanMetricWrapper):
    """The mean Pearson correlation between labels and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        axis: the axis along which the correlation is computed.
    """

    def __init__(self, name: str = "pearson_correlation", dtype=None, axis: int = -1):
        super().__init__(fn=pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean concordance correlation between labels and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        axis: the axis along which the correlation is computed.
    """

    def __init__(self, name: str = "concordance_correlation", dtype=None, axis: int = -1):
        super().__init__(fn=concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
