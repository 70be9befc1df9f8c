"""Intersection-over-union metrics for segmentation and classification.

All keep a ``(num_classes, num_classes)`` confusion matrix (rows: true class,
columns: predicted class) and compute, for each target class,
``TP / (TP + FP + FN)``, averaged over the target classes that occurred.
As in Keras, the state is integer (``int32``) unless another dtype is given,
so float sample weights are truncated then (a warning says so).
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp

from lamina import dtypes
from lamina.metrics.metric import Metric
from lamina.metrics.metrics_utils import epsilon


def confusion_matrix(labels, predictions, num_classes: int, weights=None, dtype="int32"):
    """The weighted ``(num_classes, num_classes)`` count of (label, prediction) pairs.

    Pairs with an index outside ``[0, num_classes)`` are not counted.
    """
    labels = jnp.reshape(labels, (-1,)).astype("int32")
    predictions = jnp.reshape(predictions, (-1,)).astype("int32")
    values = jnp.ones(labels.shape, dtype) if weights is None else weights.astype(dtype)
    valid = (labels >= 0) & (labels < num_classes) & (predictions >= 0) & (
        predictions < num_classes)
    values = jnp.where(valid, values, jnp.zeros_like(values))
    flat = jnp.where(valid, labels * num_classes + predictions, 0)
    counts = jnp.zeros((num_classes * num_classes,), dtype).at[flat].add(values)
    return jnp.reshape(counts, (num_classes, num_classes))


class _IoUBase(Metric):
    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        # An integer confusion matrix by default, as in Keras.
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(num_classes, num_classes),
                                          initializer="zeros", dtype=self.dtype,
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's (weighted) (true class, predicted class) counts."""
        if not self.sparse_y_true:
            y_true = jnp.argmax(jnp.asarray(y_true), axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jnp.argmax(jnp.asarray(y_pred), axis=self.axis)
        y_true = jnp.reshape(jnp.asarray(y_true).astype(self.dtype), (-1,))
        y_pred = jnp.reshape(jnp.asarray(y_pred).astype(self.dtype), (-1,))
        if sample_weight is None:
            sample_weight = jnp.ones(y_true.shape, self.dtype)
        else:
            sample_weight = jnp.asarray(sample_weight)
            if dtypes.is_float(sample_weight.dtype) and dtypes.is_int(self.dtype):
                warnings.warn(f"Metric '{self.name}' keeps integer counts: float sample "
                              "weights are truncated to integers. Consider integer weights "
                              "or a float `dtype`.", stacklevel=2)
            sample_weight = sample_weight.astype(self.dtype)
            if sample_weight.ndim > 1:
                sample_weight = jnp.reshape(sample_weight, (-1,))
            sample_weight = jnp.broadcast_to(sample_weight, y_true.shape)
        if self.ignore_class is not None:
            valid = (y_true != jnp.asarray(self.ignore_class, y_true.dtype)).astype(self.dtype)
            y_true = y_true * valid
            y_pred = y_pred * valid
            sample_weight = sample_weight * valid
        current = confusion_matrix(y_true, y_pred, self.num_classes, weights=sample_weight,
                                   dtype=self.dtype)
        self.total_cm.assign(self.total_cm.value + current)

    def _per_class(self):
        cm = self.total_cm.value
        true_positives = jnp.diagonal(cm).astype(self.dtype)
        denominator = (jnp.sum(cm, axis=0) + jnp.sum(cm, axis=1)).astype(self.dtype) - (
            true_positives)
        return true_positives, denominator

    def _mean_iou(self, target_class_ids):
        true_positives, denominator = self._per_class()
        ids = jnp.asarray(target_class_ids, dtype="int32")
        true_positives = jnp.take(true_positives, ids)
        denominator = jnp.take(denominator, ids).astype("float32")
        # Classes that never occurred (zero denominator) do not count in the mean.
        num_valid = jnp.sum((denominator > 1e-9).astype("float32"))
        iou = true_positives / (denominator + epsilon())
        return jnp.sum(iou, axis=self.axis) / (num_valid + epsilon())


class IoU(_IoUBase):
    """The mean intersection-over-union of the given target classes.

    Args:
        num_classes: the number of classes a label can take.
        target_class_ids: the class ids whose IoU is averaged.
        name: the metric's name.
        dtype: the dtype of the confusion matrix (``int32`` by default).
        ignore_class: a label value whose pixels/samples are not counted.
        sparse_y_true: whether labels are class ids (else one-hot/scores, arg-maxed).
        sparse_y_pred: whether predictions are class ids (else scores, arg-maxed).
        axis: the class axis for arg-maxing non-sparse inputs.
    """

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None,
                 dtype=None, ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, "
                             f"which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        return self._mean_iou(self.target_class_ids)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU for binary labels with predictions thresholded at ``threshold``.

    Args:
        target_class_ids: which of the classes 0 and 1 to average over.
        threshold: predictions ``>= threshold`` count as class 1.
        name: the metric's name.
        dtype: the dtype of the confusion matrix (``int32`` by default).
    """

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5,
                 name: str | None = None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Thresholds the predictions and adds the batch's counts."""
        y_pred = jnp.asarray(y_pred)
        if not dtypes.is_float(y_pred.dtype):
            y_pred = y_pred.astype(dtypes.floatx())
        y_pred = (y_pred >= self.threshold).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """The IoU averaged over all ``num_classes`` classes.

    Same arguments as :class:`IoU`, without ``target_class_ids``.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)),
                         name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU of the target classes for one-hot labels (and score predictions).

    Same arguments as :class:`IoU`; labels are always one-hot.
    """

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None,
                 dtype=None, ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids,
                         name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """The IoU averaged over all classes, for one-hot labels (and score predictions).

    Same arguments as :class:`MeanIoU`; labels are always one-hot.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
