"""TP/FP/TN/FN, Precision, Recall and AUC against Keras 3."""

import numpy as np
import pytest
from _metrics_testlib import (
    N,
    assert_close,
    check_against_keras,
    check_stateless_jit,
    keras,
)

import lamina.metrics as lm


@pytest.mark.parametrize("cls_name,kwargs", [
    ("TruePositives", {}),
    ("TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),
    ("FalsePositives", {"thresholds": [0.2, 0.5, 0.9]}),
    ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}),
    ("FalseNegatives", {"thresholds": 0.3}),
])
def test_counters_match_keras(cls_name, kwargs):
    # Counts near 0 come from differences of sums ~50 (float32 noise ~5e-6).
    check_against_keras(cls_name, kwargs, "binary", atol=1e-5)


PR_CASES = [
    ({}, "binary", (N,)),
    ({}, "binary1", (N,)),
    ({}, "binary", (N, 4)),
    ({"thresholds": 0.3}, "binary", (N, 1)),
    ({"thresholds": [0.1, 0.4, 0.6]}, "binary", (N,)),
    ({"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "binary", (N,)),
    ({"top_k": 2}, "binary", (N,)),
    ({"class_id": 1}, "binary", (N,)),
    ({"top_k": 2, "class_id": 3}, "binary", (N,)),
    ({"top_k": 1, "thresholds": [0.2, 0.7]}, "binary", (N,)),
]


@pytest.mark.parametrize("kwargs,kind,sw_shape", PR_CASES)
def test_precision_matches_keras(kwargs, kind, sw_shape):
    check_against_keras("Precision", kwargs, kind, sw_shape)


@pytest.mark.parametrize("kwargs,kind,sw_shape", [PR_CASES[i] for i in (0, 4, 5, 8)])
def test_recall_matches_keras(kwargs, kind, sw_shape):
    check_against_keras("Recall", kwargs, kind, sw_shape)


AUC_CASES = [
    ({}, "binary"),
    ({"curve": "PR"}, "binary"),
    ({"curve": "pr", "summation_method": "minoring"}, "binary"),
    ({"curve": "ROC", "summation_method": "majoring"}, "binary"),
    ({"thresholds": [0.25, 0.5, 0.75]}, "binary"),
    ({"multi_label": True}, "binary"),
    ({"multi_label": True, "num_labels": 4, "curve": "PR"}, "binary"),
    ({"multi_label": True, "label_weights": [1.0, 2.0, 0.0, 0.5]}, "binary"),
    ({"label_weights": [1.0, 2.0, 0.0, 0.5]}, "binary"),
    ({"from_logits": True}, "logits"),
]


@pytest.mark.parametrize("kwargs,kind", AUC_CASES)
def test_auc_matches_keras(kwargs, kind):
    check_against_keras("AUC", kwargs, kind)


def test_auc_edge_predictions_match_keras():
    # Exact 0/1, out-of-range and on-threshold predictions land in the same buckets.
    yp = np.array([-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 1e-8, 0.3, 0.9999999], "float32")
    yt = np.array([1, 0, 1, 1, 0, 1, 0, 1, 0, 1], "float32")
    for kwargs in ({"num_thresholds": 5}, {"num_thresholds": 5, "curve": "PR"}):
        ours, theirs = lm.AUC(**kwargs), keras.metrics.AUC(**kwargs)
        ours.update_state(yt, yp)
        theirs.update_state(yt, yp)
        for a, e in zip(ours.variables, theirs.variables):
            assert_close(a.value, e.value)
        assert_close(ours.result(), theirs.result())
    ours = lm.TruePositives(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0])
    theirs = keras.metrics.TruePositives(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0])
    ours.update_state(yt, yp)
    theirs.update_state(yt, yp)
    assert_close(ours.result(), theirs.result())


@pytest.mark.parametrize("factory,kind", [
    (lambda: lm.AUC(), "binary"),
    (lambda: lm.AUC(multi_label=True, curve="PR"), "binary"),
    (lambda: lm.AUC(thresholds=[0.3, 0.5, 0.8]), "binary"),
    (lambda: lm.Precision(top_k=2), "binary"),
    (lambda: lm.Recall(thresholds=[0.2, 0.6]), "binary"),
    (lambda: lm.TruePositives(), "binary"),
])
def test_stateless_jit(factory, kind):
    check_stateless_jit(factory, kind)


def test_multi_label_auc_builds_lazily():
    m = lm.AUC(multi_label=True)
    assert not m.built and m.variables == []
    m.ensure_built(np.zeros((2, 3)), np.zeros((2, 3)))
    assert m.built and [v.shape for v in m.variables] == [(200, 3)] * 4
    with pytest.raises(ValueError, match="rank 2"):
        lm.AUC(multi_label=True).update_state(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))


def test_argument_validation():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lm.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        lm.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        lm.AUC(curve="XY")
    with pytest.raises(ValueError, match="summation"):
        lm.AUC(summation_method="MINORING")
    with pytest.raises(ValueError, match="class_id"):
        lm.Precision(class_id=0).update_state(np.ones(3), np.ones(3))


def test_thresholds_and_variables_match_keras():
    for kwargs in ({}, {"num_thresholds": 4}, {"thresholds": [0.6, 0.3]}):
        ours, theirs = lm.AUC(**kwargs), keras.metrics.AUC(**kwargs)
        assert_close(ours.thresholds, theirs.thresholds)
        assert ours.num_thresholds == theirs.num_thresholds
    ours, theirs = lm.Precision(thresholds=[0.2, 0.4]), keras.metrics.Precision(
        thresholds=[0.2, 0.4])
    assert [v.path.split("/")[-1] for v in ours.variables] == [
        v.path.split("/")[-1] for v in theirs.variables]
    assert [v.shape for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]


AT_CASES = [
    ("SensitivityAtSpecificity", {"specificity": 0.5}),
    ("SensitivityAtSpecificity", {"specificity": 0.8, "num_thresholds": 7, "class_id": 2}),
    ("SpecificityAtSensitivity", {"sensitivity": 0.6}),
    ("PrecisionAtRecall", {"recall": 0.7}),
    ("PrecisionAtRecall", {"recall": 0.4, "num_thresholds": 1}),
    ("RecallAtPrecision", {"precision": 0.6}),
    ("RecallAtPrecision", {"precision": 1.0, "num_thresholds": 2}),
]


@pytest.mark.parametrize("cls_name,kwargs", AT_CASES)
def test_rate_at_rate_metrics_match_keras(cls_name, kwargs):
    check_against_keras(cls_name, kwargs, "binary")


def test_rate_at_rate_stateless_jit():
    check_stateless_jit(lambda: lm.RecallAtPrecision(0.6), "binary")


def test_rate_at_rate_validation():
    with pytest.raises(ValueError, match="specificity"):
        lm.SensitivityAtSpecificity(1.5)
    with pytest.raises(ValueError, match="num_thresholds"):
        lm.PrecisionAtRecall(0.5, num_thresholds=0)
