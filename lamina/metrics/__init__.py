"""Metrics, as ``keras.metrics``: stateful objects with a pure functional core.

Every metric keeps its state in ``metric.variables`` and offers both Keras's
stateful API (``update_state``, ``result``, ``reset_state``) and the functional
one a compiled step uses (``stateless_reset_state``, ``stateless_update_state``,
``stateless_result``).
"""

from __future__ import annotations

from typing import Any

from lamina.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from lamina.metrics.accuracy_metrics import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from lamina.metrics.correlation_metrics import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from lamina.metrics.f_score_metrics import F1Score, FBetaScore
from lamina.metrics.hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from lamina.metrics.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from lamina.metrics.metric import Metric
from lamina.metrics.probabilistic_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from lamina.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum, _serialize_fn
from lamina.metrics.regression_metrics import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
)
from lamina.saving import serialization as _serialization
from lamina.utils.naming import to_snake_case as _to_snake_case

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    AUC, Precision, Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError, R2Score,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, Hinge, SquaredHinge, CategoricalHinge, F1Score, FBetaScore,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    PearsonCorrelation, ConcordanceCorrelation,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
)

# Names a string identifier may take: class names, their snake-case forms, and
# Keras's short aliases.
_ALL_OBJECTS: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_ALL_OBJECTS.update({_to_snake_case(cls.__name__): cls for cls in _CLASSES})
_ALL_OBJECTS.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})

_FUNCTIONS = (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, cosine_similarity,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    kl_divergence, poisson, hinge, squared_hinge, categorical_hinge, log_cosh, huber,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error, binary_focal_crossentropy, categorical_focal_crossentropy,
    pearson_correlation, concordance_correlation,
)


def _fn_objects() -> dict[str, Any]:
    """Built-in metric functions by name (for function entries in configs)."""
    return {fn.__name__: fn for fn in _FUNCTIONS}


def serialize(metric) -> dict | str:
    """Returns the Keras-3 JSON-able form of a metric object or function."""
    if callable(metric) and not isinstance(metric, (Metric, type)):
        return _serialize_fn(metric)
    return _serialization.serialize_keras_object(metric)


def deserialize(config, custom_objects: dict | None = None):
    """Rebuilds a metric from a name or from the output of :func:`serialize`.

    A name (``"mse"``, ``"AUC"``, ``"binary_accuracy"``...) gives a new instance
    of the matching class with default arguments.
    """
    if isinstance(config, str):
        # Custom objects first, then the built-in names (as Keras looks them up).
        obj = _serialization.get_registered_object(config, custom_objects, _ALL_OBJECTS)
        if obj is None:
            raise ValueError(f"Could not interpret metric identifier: {config}")
        return obj() if isinstance(obj, type) else obj
    obj = _serialization.deserialize_keras_object(
        config, module_objects={**_ALL_OBJECTS, **_fn_objects()},
        custom_objects=custom_objects)
    return obj() if isinstance(obj, type) else obj


def get(identifier) -> Metric | None:
    """Resolves a metric identifier into a metric object.

    Args:
        identifier: ``None``; a ``Metric`` instance (returned as is); a metric class
            (instantiated with defaults); a name such as ``"mse"``, ``"AUC"`` or
            ``"sparse_categorical_accuracy"``; a config dict from :func:`serialize`;
            or a function ``fn(y_true, y_pred)``, which is wrapped in a
            ``MeanMetricWrapper`` named after it.

    Returns:
        A :class:`Metric` (or ``None`` for ``None``).
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    elif callable(identifier):
        obj = identifier
    else:
        raise ValueError(f"Could not interpret metric identifier: {identifier!r} (expected a "
                         "metric name, config dict, Metric, or function).")
    if isinstance(obj, Metric):
        return obj
    if callable(obj):
        name = getattr(obj, "__name__", None)
        return MeanMetricWrapper(obj, name=None if name == "<lambda>" else name)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
    "CategoricalAccuracy", "ConcordanceCorrelation", "IoU", "MeanIoU", "OneHotIoU",
    "OneHotMeanIoU", "PearsonCorrelation", "PrecisionAtRecall", "RecallAtPrecision",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "F1Score", "FBetaScore",
    "FalseNegatives", "FalsePositives", "Hinge", "KLDivergence", "LogCoshError", "Mean",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Metric", "Poisson", "Precision", "R2Score", "Recall",
    "RootMeanSquaredError", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives",
    "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "concordance_correlation", "pearson_correlation", "categorical_accuracy", "categorical_crossentropy",
    "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "poisson", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
    "deserialize", "get", "serialize",
]
