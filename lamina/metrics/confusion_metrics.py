"""Metrics over confusion counts: TP/FP/TN/FN counters, Precision, Recall and AUC."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.metrics import confusion_utils as cu
from lamina.metrics.metric import Metric
from lamina.metrics.metrics_utils import divide_no_nan, epsilon
from lamina.saving import serialization


class _ConfusionMatrixConditionCount(Metric):
    """Counts one confusion-matrix cell (e.g. true positives) at given thresholds."""

    _condition: str = ""

    def __init__(self, thresholds=None, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = cu.parse_init_thresholds(thresholds, default_threshold=0.5)
        self._thresholds_distributed_evenly = cu.is_evenly_distributed_thresholds(
            self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             initializer="zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's (weighted) count at every threshold."""
        cu.update_confusion_matrix_variables(
            {self._condition: self.accumulator}, y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight)

    def result(self):
        value = self.accumulator.value
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives: label 1, prediction > threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); the result
            has one count per threshold (a scalar for a single one).
    """

    _condition = cu.TRUE_POSITIVES


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives: label 0, prediction > threshold."""

    _condition = cu.FALSE_POSITIVES


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives: label 0, prediction <= threshold."""

    _condition = cu.TRUE_NEGATIVES


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives: label 1, prediction <= threshold."""

    _condition = cu.FALSE_NEGATIVES


class _PrecisionOrRecall(Metric):
    _second: str = ""
    _second_name: str = ""

    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else cu.NEG_INF
        self.thresholds = cu.parse_init_thresholds(thresholds, default_threshold=default)
        self._thresholds_distributed_evenly = cu.is_evenly_distributed_thresholds(
            self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros",
                                                name="true_positives")
        setattr(self, self._second_name, self.add_variable(
            shape=(n,), initializer="zeros", name=self._second_name))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's (weighted) counts at every threshold."""
        cu.update_confusion_matrix_variables(
            {cu.TRUE_POSITIVES: self.true_positives,
             self._second: getattr(self, self._second_name)},
            y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=self.top_k, class_id=self.class_id, sample_weight=sample_weight)

    def result(self):
        tp = self.true_positives.value
        value = divide_no_nan(tp, tp + getattr(self, self._second_name).value)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionOrRecall):
    """The fraction of predicted positives that are true: ``tp / (tp + fp)``.

    Args:
        thresholds: float or list of floats in [0, 1]; a prediction above a
            threshold counts as positive (default 0.5, or all of the top-k).
        top_k: only the ``top_k`` highest predictions of a sample count.
        class_id: compute the metric for this class index only.
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    _second = cu.FALSE_POSITIVES
    _second_name = "false_positives"


class Recall(_PrecisionOrRecall):
    """The fraction of true labels predicted positive: ``tp / (tp + fn)``.

    Same arguments as :class:`Precision`.
    """

    _second = cu.FALSE_NEGATIVES
    _second_name = "false_negatives"


_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATION_METHODS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Approximate area under the ROC or precision-recall curve.

    Confusion counts are kept at ``num_thresholds`` thresholds and the curve
    through them is integrated by a Riemann sum.

    Args:
        num_thresholds: how many thresholds (evenly spaced over [0, 1], the end
            points nudged by epsilon) to count at; must be > 1.
        curve: ``"ROC"`` or ``"PR"``.
        summation_method: ``"interpolation"`` (trapezoids; the exact interpolation
            of Davis & Goadrich for PR), ``"minoring"`` or ``"majoring"``.
        name: the metric's name.
        dtype: the dtype of the state and result.
        thresholds: explicit thresholds in [0, 1] used instead of
            ``num_thresholds`` (the end points -eps and 1+eps are added).
        multi_label: treat the last axis as independent labels, compute one AUC
            per label and average them.
        num_labels: number of labels when ``multi_label`` (else taken from the
            first batch).
        label_weights: per-label weights: for the pooled AUC, they weight the
            counts; for ``multi_label``, they weight the per-label average.
        from_logits: whether predictions are logits (a sigmoid is applied).
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype=None, thresholds=None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights=None, from_logits: bool = False):
        if curve not in ("ROC", "roc", "PR", "pr"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             '["PR", "ROC"]')
        if summation_method not in _SUMMATION_METHODS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f'Expected values are {list(_SUMMATION_METHODS)}')
        super().__init__(name=name, dtype=dtype)
        self.curve = _CURVES[curve.lower()]
        self.summation_method = summation_method
        self._init_from_logits = from_logits
        if thresholds is not None:
            # Explicit thresholds: sorted, with the end points added.
            inner = sorted(cu.parse_init_thresholds(thresholds))
            self.num_thresholds = len(inner) + 2
            self._thresholds_distributed_evenly = cu.is_evenly_distributed_thresholds(
                [0.0] + inner + [1.0])
            self._init_thresholds = inner
        else:
            if not isinstance(num_thresholds, (int, np.integer)) or num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                     for i in range(self.num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
            self._init_thresholds = None
        eps = epsilon()
        self._thresholds = np.array([0.0 - eps] + list(inner) + [1.0 + eps])
        self.multi_label = multi_label
        self.num_labels = num_labels
        if label_weights is not None:
            lw = np.asarray(label_weights, dtype=self.dtype)
            if np.any(lw < 0):
                raise ValueError("All values of `label_weights` must be non-negative. "
                                 f"Received: label_weights={label_weights}")
            self.label_weights = jnp.asarray(lw)
        else:
            self.label_weights = None
        self._built = False
        if multi_label:
            if num_labels is not None:
                self._build((None, num_labels))
        else:
            if num_labels is not None:
                raise ValueError("`num_labels` is needed only when `multi_label` is True. "
                                 f"Received: num_labels={num_labels}")
            self._build(None)

    @property
    def thresholds(self) -> list:
        """The thresholds counted at, including the -eps and 1+eps end points."""
        return list(self._thresholds)

    @property
    def built(self) -> bool:
        return self._built

    def _build(self, shape) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("`y_pred` must have rank 2 when `multi_label=True`. Found "
                                 f"rank {len(shape)}. Full shape received for `y_pred`: "
                                 f"{tuple(shape)}")
            self._num_labels = int(shape[1])
            var_shape = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(var_shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(var_shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(var_shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(var_shape, "zeros", name="false_negatives")
        self._built = True

    def ensure_built(self, y_true=None, y_pred=None) -> None:
        if not self._built:
            self._build(tuple(jnp.shape(y_pred)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's confusion counts at every threshold."""
        y_pred = jnp.asarray(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self.multi_label and y_pred.ndim == 2 and y_pred.shape[1] != self._num_labels:
            raise ValueError(f"AUC '{self.name}' was built for {self._num_labels} labels, "
                             f"received y_pred of shape {tuple(y_pred.shape)}.")
        label_weights = None if self.multi_label else self.label_weights
        if self._init_from_logits:
            y_pred = jax.nn.sigmoid(y_pred.astype(self.dtype))
        cu.update_confusion_matrix_variables(
            {cu.TRUE_POSITIVES: self.true_positives, cu.TRUE_NEGATIVES: self.true_negatives,
             cu.FALSE_POSITIVES: self.false_positives,
             cu.FALSE_NEGATIVES: self.false_negatives},
            y_true, y_pred, self._thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=label_weights)

    def _average(self, by_label):
        if self.label_weights is None:
            return jnp.mean(by_label)
        return divide_no_nan(jnp.sum(by_label * self.label_weights),
                             jnp.sum(self.label_weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        # Exact interpolation between PR points (Davis & Goadrich, 2006): within a
        # segment precision varies as a function of the number of predicted positives.
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = jnp.where(both_positive, divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)),
                          jnp.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)),
                                   jnp.maximum(tp[1:] + fn[1:], 0))
        if self.multi_label:
            return self._average(jnp.sum(increments, axis=0))
        return jnp.sum(increments)

    def result(self):
        tp = self.true_positives.value
        fp = self.false_positives.value
        tn = self.true_negatives.value
        fn = self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        terms = (x[:-1] - x[1:]) * heights
        if self.multi_label:
            return self._average(jnp.sum(terms, axis=0))
        return jnp.sum(terms)

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("label_weights"), dict):
            # Arrays come back from JSON as a serialized {"class_name": "__numpy__"} entry.
            config["label_weights"] = serialization.deserialize_keras_object(
                config["label_weights"])
        return cls(**config)

    def get_config(self) -> dict:
        label_weights = self.label_weights
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._init_from_logits,
        }
        if self._init_thresholds is not None:
            # The end points are added again when the config is loaded.
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


class _SensitivitySpecificityBase(Metric):
    """Confusion counts at ``num_thresholds`` thresholds evenly spread over [0, 1].

    Subclasses report the best value of one rate among the thresholds where
    another rate meets the requested ``value``.
    """

    _value_name: str = ""

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        if not isinstance(num_thresholds, (int, np.integer)) or num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        if not 0 <= value <= 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. "
                             f"Received: {self._value_name}={value}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        self.class_id = class_id
        self.num_thresholds = int(num_thresholds)
        if self.num_thresholds == 1:
            self.thresholds = [0.5]
            self._thresholds_distributed_evenly = False
        else:
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                     for i in range(self.num_thresholds - 2)]
            self.thresholds = [0.0] + inner + [1.0]
            self._thresholds_distributed_evenly = True
        shape = (self.num_thresholds,)
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds the batch's confusion counts at every threshold."""
        cu.update_confusion_matrix_variables(
            {cu.TRUE_POSITIVES: self.true_positives, cu.TRUE_NEGATIVES: self.true_negatives,
             cu.FALSE_POSITIVES: self.false_positives,
             cu.FALSE_NEGATIVES: self.false_negatives},
            y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            class_id=self.class_id, sample_weight=sample_weight)

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"sensitivity": divide_no_nan(tp, tp + fn),  # = recall
                "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_where_at_least(self, constrained, dependent):
        # The largest dependent rate among thresholds meeting the constraint; 0 if none.
        feasible = constrained >= self.value
        return jnp.max(jnp.where(feasible, dependent, 0.0), initial=0.0).astype(self.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "class_id": self.class_id, self._value_name: self.value}


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall) among thresholds whose specificity is >= ``specificity``.

    Args:
        specificity: the required specificity, in [0, 1].
        num_thresholds: how many thresholds, evenly spread over [0, 1], to count at.
        class_id: compute the metric for this class index only.
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    _value_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["specificity"], rates["sensitivity"])


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity among thresholds whose sensitivity is >= ``sensitivity``.

    Same arguments as :class:`SensitivityAtSpecificity`, with ``sensitivity`` the
    required sensitivity.
    """

    _value_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["sensitivity"], rates["specificity"])


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision among thresholds whose recall is >= ``recall``.

    Same arguments as :class:`SensitivityAtSpecificity`, with ``recall`` the
    required recall.
    """

    _value_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["sensitivity"], rates["precision"])


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall among thresholds whose precision is >= ``precision``.

    Same arguments as :class:`SensitivityAtSpecificity`, with ``precision`` the
    required precision.
    """

    _value_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._max_where_at_least(rates["precision"], rates["sensitivity"])
