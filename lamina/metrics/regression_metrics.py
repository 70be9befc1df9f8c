"""Regression metrics: mean errors, RMSE, cosine similarity, log-cosh and R^2."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.losses import (
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.metrics.metric import Metric
from lamina.metrics.metrics_utils import squeeze_or_expand_to_same_rank
from lamina.metrics.reduction_metrics import Mean, MeanMetricWrapper


class _PlainConfigWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper whose config holds only ``name`` and ``dtype``."""

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_PlainConfigWrapper):
    """The mean of ``(y_true - y_pred) ** 2``."""

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_PlainConfigWrapper):
    """The mean of ``|y_true - y_pred|``."""

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(fn=mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_PlainConfigWrapper):
    """The mean of ``100 * |y_true - y_pred| / |y_true|``."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(fn=mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_PlainConfigWrapper):
    """The mean of ``(log(y_true + 1) - log(y_pred + 1)) ** 2``."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(fn=mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_PlainConfigWrapper):
    """The mean of ``log(cosh(y_pred - y_true))``."""

    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(fn=log_cosh, name=name, dtype=dtype)


def _l2_normalize(x, axis):
    sq = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    # The floor keeps all-zero vectors at zero instead of NaN.
    return x * jax.lax.rsqrt(jnp.maximum(sq, 1e-12))


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """The cosine of the angle between label and prediction vectors along ``axis``.

    Returns ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: 1 for
    vectors pointing the same way, 0 for orthogonal ones, -1 for opposite ones.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


class CosineSimilarity(_PlainConfigWrapper):
    """The mean cosine similarity between labels and predictions.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        axis: the axis holding the vector components.
    """

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        super().__init__(fn=cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """The square root of the mean of ``(y_true - y_pred) ** 2`` (over all elements)."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's squared errors to the running mean."""
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return jnp.sqrt(super().result())


_AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)


class R2Score(Metric):
    """The coefficient of determination, ``1 - SS_res / SS_tot``, per output column.

    Inputs have shape ``(batch, num_outputs)``.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over outputs),
            ``"variance_weighted_average"`` (weighted by each output's variance) or
            ``None`` (one score per output).
        num_regressors: number of independent variables; when > 0 the adjusted R^2
            is returned (the plain score when there are too few samples for it).
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str = "r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one "
                             f"of {_AGGREGATIONS}. Received: class_aggregation="
                             f"{class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                             f"y_true.shape={tuple(y_true_shape)}.")
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError("R2Score expects 2D inputs with a known last dimension. "
                             f"Received: y_pred.shape={tuple(y_pred_shape)} and "
                             f"y_true.shape={tuple(y_true_shape)}.")
        shape = (int(y_pred_shape[-1]),)
        self.squared_sum = self.add_variable(shape, "zeros", name="squared_sum")
        self.sum = self.add_variable(shape, "zeros", name="sum")
        self.total_mse = self.add_variable(shape, "zeros", name="residual")
        self.count = self.add_variable(shape, "zeros", name="count")
        self._built = True

    def ensure_built(self, y_true=None, y_pred=None) -> None:
        if not self._built:
            y_true = jax.ShapeDtypeStruct(jnp.shape(y_true), "float32")
            y_pred = jax.ShapeDtypeStruct(jnp.shape(y_pred), "float32")
            y_true, y_pred = jax.eval_shape(squeeze_or_expand_to_same_rank, y_true, y_pred)
            self._build(y_true.shape, y_pred.shape)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's weighted sums of labels, squared labels and squared errors."""
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        sample_weight = jnp.asarray(1 if sample_weight is None else sample_weight).astype(
            self.dtype)
        if sample_weight.ndim == 1:
            sample_weight = jnp.expand_dims(sample_weight, 1)
        sample_weight = jnp.broadcast_to(sample_weight, y_true.shape)
        weighted_true = y_true * sample_weight
        self.sum.assign(self.sum.value + jnp.sum(weighted_true, axis=0))
        self.squared_sum.assign(self.squared_sum.value + jnp.sum(y_true * weighted_true, axis=0))
        self.total_mse.assign(self.total_mse.value
                              + jnp.sum(jnp.square(y_true - y_pred) * sample_weight, axis=0))
        self.count.assign(self.count.value + jnp.sum(sample_weight, axis=0))
        self.num_samples.assign(self.num_samples.value + y_true.size)

    def result(self):
        if not self._built:
            raise ValueError(f"Metric '{self.name}' has seen no data yet: call update_state "
                             "(or ensure_built) before result.")
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1 - self.total_mse.value / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors != 0:
            n = self.num_samples.value.astype("float32")
            p = float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            # Too few samples for the adjustment: the plain score (Keras warns here).
            score = jnp.where(p < n - 1.0, adjusted, score)
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
