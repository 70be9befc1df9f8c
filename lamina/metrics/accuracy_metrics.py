"""Accuracy metrics: the per-sample functions and the metric classes over them."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.metrics.metrics_utils import squeeze_or_expand_to_same_rank
from lamina.metrics.reduction_metrics import MeanMetricWrapper


def _pred_and_true(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def accuracy(y_true, y_pred):
    """1.0 where ``y_true`` equals ``y_pred`` exactly, else 0.0 (elementwise)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return jnp.equal(y_true, y_pred).astype(dtypes.floatx())


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1.0 where ``y_pred > threshold`` matches the binary label ``y_true`` (elementwise)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    threshold = jnp.asarray(threshold, dtype=y_pred.dtype)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return jnp.equal(y_true, y_pred).astype(dtypes.floatx())


def _matches_with_labels(labels, y_pred):
    """1.0 where ``argmax(y_pred)`` equals integer-valued ``labels`` (shape-preserving).

    A trailing size-1 axis on ``labels`` of the predictions' rank is dropped for the
    comparison and restored on the result.
    """
    original_shape = labels.shape
    restore = False
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = jnp.squeeze(labels, -1)
        restore = True
    predicted = jnp.argmax(y_pred, axis=-1).astype(labels.dtype)
    matches = jnp.equal(labels, predicted).astype(dtypes.floatx())
    if restore:
        matches = jnp.reshape(matches, original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def categorical_accuracy(y_true, y_pred):
    """1.0 where the arg-max of the one-hot ``y_true`` equals that of ``y_pred``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return _matches_with_labels(jnp.argmax(y_true, axis=-1), y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label ``y_true`` equals the arg-max of ``y_pred``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return _matches_with_labels(y_true, y_pred)


def _in_top_k(targets, predictions, k: int):
    """Whether each target's score ranks among the ``k`` largest (ties count as in)."""
    at_label = jnp.take_along_axis(predictions, targets[:, None], axis=-1)
    # A NaN score never counts as large.
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _top_k_matches(labels, y_pred, k: int, from_sorted_ids: bool = False):
    original_shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    if labels.ndim > 1:
        labels = jnp.reshape(labels, (-1,))
    if from_sorted_ids:
        # y_pred holds class ids best-first; a label matching several counts once.
        matches = jnp.any(labels[:, None] == y_pred[:, :k], axis=1)
    else:
        matches = _in_top_k(labels.astype("int32"), y_pred, k)
    matches = matches.astype(dtypes.floatx())
    if len(original_shape) > 1:
        matches = jnp.reshape(matches, original_shape)
    return matches


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1.0 where the class of the one-hot ``y_true`` is among the ``k`` top scores."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return _top_k_matches(jnp.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5,
                                      from_sorted_ids: bool = False):
    """1.0 where the integer label ``y_true`` is among the ``k`` top scores.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted best-first
    (e.g. from a retrieval layer) and the label is searched in its first ``k``.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype if from_sorted_ids else "int32")
    return _top_k_matches(y_true, y_pred, k, from_sorted_ids)


for _fn in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
            top_k_categorical_accuracy, sparse_top_k_categorical_accuracy):
    _fn._keras_builtin = True


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches binary labels.

    Args:
        threshold: the cut-off above which a prediction counts as 1.
    """

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("BinaryAccuracy: `threshold` must lie in the open interval "
                             f"(0, 1), received threshold={threshold}")
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of predictions matches that of one-hot labels."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of predictions matches integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` top predictions.

    Args:
        k: how many top-scoring classes count as a hit.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` top predictions.

    Args:
        k: how many top-scoring classes count as a hit.
        from_sorted_ids: whether ``y_pred`` holds class ids sorted by score
            instead of scores.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype=None, from_sorted_ids: bool = False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
