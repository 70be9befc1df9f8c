"""Configs, serialization and ``get`` against Keras 3."""

import numpy as np
import pytest
from _metrics_testlib import keras

import lamina.metrics as lm
from lamina.saving import serialize_keras_object

CONFIG_CASES = [
    ("Mean", {}), ("Sum", {}), ("Accuracy", {}), ("BinaryAccuracy", {"threshold": 0.3}),
    ("CategoricalAccuracy", {}), ("SparseCategoricalAccuracy", {}),
    ("TopKCategoricalAccuracy", {"k": 3}), ("SparseTopKCategoricalAccuracy", {}),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}),
    ("Precision", {}), ("Precision", {"thresholds": [0.2, 0.4], "top_k": 2, "class_id": 1}),
    ("Recall", {"thresholds": 0.3}), ("TruePositives", {}),
    ("FalsePositives", {"thresholds": [0.1, 0.9]}), ("TrueNegatives", {}),
    ("FalseNegatives", {"thresholds": 0.7}),
    ("AUC", {}), ("AUC", {"num_thresholds": 10, "curve": "pr", "summation_method": "majoring"}),
    ("AUC", {"multi_label": True, "num_labels": 3, "from_logits": True}),
    ("AUC", {"thresholds": [0.6, 0.2]}),
    ("MeanSquaredError", {}), ("MeanAbsoluteError", {}), ("MeanAbsolutePercentageError", {}),
    ("MeanSquaredLogarithmicError", {}), ("RootMeanSquaredError", {}),
    ("CosineSimilarity", {"axis": 1}), ("LogCoshError", {}),
    ("R2Score", {}), ("R2Score", {"class_aggregation": None, "num_regressors": 2}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"axis": 1}), ("SparseCategoricalCrossentropy", {}),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0, "from_logits": True}),
    ("KLDivergence", {}), ("Poisson", {}), ("Hinge", {}), ("SquaredHinge", {}),
    ("CategoricalHinge", {}),
    ("F1Score", {"average": "macro", "threshold": 0.5}),
    ("FBetaScore", {"beta": 2.0, "average": "weighted"}),
    ("PrecisionAtRecall", {"recall": 0.3}),
    ("RecallAtPrecision", {"precision": 0.3, "num_thresholds": 10, "class_id": 1}),
    ("SensitivityAtSpecificity", {"specificity": 0.2}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.9}),
    ("PearsonCorrelation", {"axis": 0}), ("ConcordanceCorrelation", {}),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2], "ignore_class": 1}),
    ("BinaryIoU", {"threshold": 0.3}), ("MeanIoU", {"num_classes": 4, "dtype": "float32"}),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [1]}),
    ("OneHotMeanIoU", {"num_classes": 3, "sparse_y_pred": True}),
]


@pytest.mark.parametrize("cls_name,kwargs", CONFIG_CASES)
def test_config_and_serialization_match_keras(cls_name, kwargs):
    ours = getattr(lm, cls_name)(name="m", **kwargs)
    theirs = getattr(keras.metrics, cls_name)(name="m", **kwargs)
    assert ours.get_config() == theirs.get_config()
    assert lm.serialize(ours) == keras.metrics.serialize(theirs)
    # Round trips: our config through our loader and through Keras's.
    again = lm.deserialize(lm.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    theirs_again = keras.metrics.deserialize(lm.serialize(ours))
    assert theirs_again.get_config() == theirs.get_config()
    assert [v.shape for v in getattr(lm, cls_name)(**kwargs).variables] == [
        tuple(v.shape) for v in getattr(keras.metrics, cls_name)(**kwargs).variables]


def test_default_arguments_match_keras():
    import inspect

    for cls_name, _ in CONFIG_CASES:
        ours = inspect.signature(getattr(lm, cls_name))
        theirs = inspect.signature(getattr(keras.metrics, cls_name))
        assert list(ours.parameters) == list(theirs.parameters), cls_name
        for name, p in theirs.parameters.items():
            assert ours.parameters[name].default == p.default, (cls_name, name)


def test_label_weights_config():
    ours = lm.AUC(label_weights=[1.0, 2.0], name="a")
    theirs = keras.metrics.AUC(label_weights=[1.0, 2.0], name="a")
    ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
    np.testing.assert_array_equal(np.asarray(ours_cfg.pop("label_weights")),
                                  np.asarray(theirs_cfg.pop("label_weights")))
    assert ours_cfg == theirs_cfg
    again = lm.deserialize(serialize_keras_object(ours))
    np.testing.assert_array_equal(np.asarray(again.label_weights), [1.0, 2.0])


def test_mean_metric_wrapper_config_round_trip():
    ours = lm.MeanMetricWrapper(fn=lm.mean_squared_error, name="w")
    theirs = keras.metrics.MeanMetricWrapper(fn=keras.losses.mean_squared_error, name="w")
    assert ours.get_config() == theirs.get_config()
    again = lm.MeanMetricWrapper.from_config(ours.get_config())
    assert again._fn is lm.mean_squared_error
    again = lm.deserialize(theirs_serialized := keras.metrics.serialize(theirs))
    assert again._fn is lm.mean_squared_error and again.name == "w"
    assert lm.serialize(ours) == theirs_serialized


@pytest.mark.parametrize("identifier", [
    "mse", "MSE", "mae", "mape", "msle", "bce", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "AUC", "auc", "precision", "Precision", "recall",
    "true_positives", "mean_squared_error", "MeanSquaredError", "root_mean_squared_error",
    "cosine_similarity", "log_cosh_error", "r2_score", "f1_score", "f_beta_score",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "mean", "sum",
    "pearson_correlation", "concordance_correlation",
])
def test_get_resolves_names_like_keras(identifier):
    ours, theirs = lm.get(identifier), keras.metrics.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name.rsplit("_", 1)[0] == theirs.name.rsplit("_", 1)[0] or (
        ours.name == theirs.name)


@pytest.mark.parametrize("identifier", ["acc", "logcosh", "nope", "kld"])
def test_get_unknown_name_raises_naming_it(identifier):
    with pytest.raises(ValueError, match=identifier):
        lm.get(identifier)
    with pytest.raises(ValueError):
        keras.metrics.get(identifier)


def test_get_other_identifiers():
    assert lm.get(None) is None
    m = lm.AUC()
    assert lm.get(m) is m
    assert type(lm.get(lm.Recall)) is lm.Recall
    cfg = lm.serialize(lm.Mean(name="m2"))
    assert lm.get(cfg).name == "m2"

    def my_metric(y_true, y_pred):
        return y_pred

    wrapped = lm.get(my_metric)
    assert isinstance(wrapped, lm.MeanMetricWrapper) and wrapped.name == "my_metric"
    assert_value = wrapped([0.0, 0.0], [1.0, 3.0])
    np.testing.assert_allclose(np.asarray(assert_value), 2.0)
    with pytest.raises(ValueError, match="42"):
        lm.get(42)


def test_builtin_functions_serialize_like_keras():
    for name in ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                 "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        assert lm.serialize(getattr(lm, name)) == keras.metrics.serialize(
            getattr(keras.metrics, name))
        assert serialize_keras_object(getattr(lm, name)) == name


def test_public_names_match_keras():
    theirs = {name for name in dir(keras.metrics) if not name.startswith("_")}
    assert set(lm.__all__) == theirs
    assert all(hasattr(lm, name) for name in lm.__all__)
