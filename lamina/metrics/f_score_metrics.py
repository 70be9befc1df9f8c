"""F-scores: ``FBetaScore`` and ``F1Score`` for (multi-label) classification."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.metrics.metric import Metric
from lamina.metrics.metrics_utils import epsilon

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """The F-beta score, the weighted harmonic mean of precision and recall.

    ``(1 + beta^2) * precision * recall / (beta^2 * precision + recall)``. Labels and
    predictions have shape ``(batch, num_classes)``; counts are kept per class.

    Args:
        average: ``None`` (one score per class), ``"micro"`` (pool all classes'
            counts), ``"macro"`` (mean of per-class scores) or ``"weighted"`` (mean
            weighted by each class's number of true instances).
        beta: the weight of recall relative to precision (a positive float).
        threshold: predictions above it count as positive; if ``None``, the
            highest-scoring class of each sample (if nonzero) is the positive one.
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             f"{{None, 'micro', 'macro', 'weighted'}}. Received: "
                             f"average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError("Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        # Per-class counts, except micro averaging which pools them.
        self.axis = None if average == "micro" else 0
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape="
                             f"{tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        if y_pred_shape[-1] is None or y_true_shape[-1] is None:
            raise ValueError("FBetaScore expects 2D inputs with a known last dimension. "
                             f"Received: y_pred.shape={tuple(y_pred_shape)} and "
                             f"y_true.shape={tuple(y_true_shape)}.")
        shape = () if self.average == "micro" else (int(y_pred_shape[-1]),)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, "zeros",
                                                      name="intermediate_weights")
        self._built = True

    def ensure_built(self, y_true=None, y_pred=None) -> None:
        if not self._built:
            self._build(tuple(jnp.shape(y_true)), tuple(jnp.shape(y_pred)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's (weighted) per-class TP, FP, FN and true-label counts."""
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            # The top class is positive, unless the scores are all zero.
            y_pred = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        if sample_weight is not None:
            sample_weight = jnp.asarray(sample_weight).astype(self.dtype)

        def weighted_sum(val):
            if sample_weight is not None:
                val = val * jnp.expand_dims(sample_weight, 1)
            return jnp.sum(val, axis=self.axis)

        self.true_positives.assign(self.true_positives.value + weighted_sum(y_pred * y_true))
        self.false_positives.assign(
            self.false_positives.value + weighted_sum(y_pred * (1 - y_true)))
        self.false_negatives.assign(
            self.false_negatives.value + weighted_sum((1 - y_pred) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights.value + weighted_sum(y_true))

    def result(self):
        if not self._built:
            raise ValueError(f"Metric '{self.name}' has seen no data yet: call update_state "
                             "(or ensure_built) before result.")
        eps = epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        beta_sq = self.beta ** 2
        score = precision * recall / (beta_sq * precision + recall + eps) * (1 + beta_sq)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            weights = weights / (jnp.sum(weights) + eps)
            return jnp.sum(score * weights)
        if self.average is not None:
            return jnp.mean(score, axis=self.axis)
        return score

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score: the harmonic mean of precision and recall (``FBetaScore`` with beta=1).

    Args:
        average: ``None``, ``"micro"``, ``"macro"`` or ``"weighted"`` (see
            :class:`FBetaScore`).
        threshold: positive-prediction cut-off, or ``None`` for the top class.
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
