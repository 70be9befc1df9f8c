"""Regression metrics against Keras 3."""

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

CASES = [
    ("MeanSquaredError", {}, "regression", (N,)),
    ("MeanSquaredError", {}, "regression", (N, 1)),
    ("MeanAbsoluteError", {}, "regression", (N,)),
    ("MeanAbsolutePercentageError", {}, "positive", (N,)),
    ("MeanSquaredLogarithmicError", {}, "positive", (N,)),
    ("RootMeanSquaredError", {}, "regression", (N,)),
    ("RootMeanSquaredError", {}, "regression", (N, 4)),
    ("CosineSimilarity", {}, "regression", (N,)),
    ("CosineSimilarity", {"axis": 0}, "regression", (4,)),
    ("LogCoshError", {}, "regression", (N,)),
    ("R2Score", {}, "regression", (N,)),
    ("R2Score", {}, "regression", (N, 4)),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression", (N,)),
    ("R2Score", {"class_aggregation": None}, "regression", (N,)),
    ("R2Score", {"num_regressors": 2}, "regression", (N,)),
]


@pytest.mark.parametrize("cls_name,kwargs,kind,sw_shape", CASES)
def test_matches_keras(cls_name, kwargs, kind, sw_shape):
    check_against_keras(cls_name, kwargs, kind, sw_shape, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("factory,kind", [
    (lambda: lm.MeanSquaredError(), "regression"),
    (lambda: lm.RootMeanSquaredError(), "regression"),
    (lambda: lm.CosineSimilarity(), "regression"),
    (lambda: lm.R2Score(num_regressors=1), "regression"),
])
def test_stateless_jit(factory, kind):
    check_stateless_jit(factory, kind, rtol=2e-5, atol=2e-6)


def test_cosine_similarity_zero_vectors():
    yt = np.array([[0.0, 0.0], [1.0, 2.0]], "float32")
    yp = np.array([[1.0, 1.0], [0.0, 0.0]], "float32")
    ours, theirs = lm.CosineSimilarity(), keras.metrics.CosineSimilarity()
    ours.update_state(yt, yp)
    theirs.update_state(yt, yp)
    assert_close(ours.result(), theirs.result())


def test_r2_adjusted_falls_back_with_too_few_samples():
    yt = np.array([[1.0], [2.0], [4.0]], "float32")
    yp = np.array([[1.5], [2.0], [3.0]], "float32")
    for p in (2, 5):  # num_regressors == n - 1, and > n - 1
        plain, adjusted = lm.R2Score(), lm.R2Score(num_regressors=p)
        plain.update_state(yt, yp)
        adjusted.update_state(yt, yp)
        assert_close(adjusted.result(), plain.result())


def test_r2_builds_lazily_and_validates_rank():
    m = lm.R2Score()
    assert [v.path for v in m.variables] == ["r2_score/num_samples"]
    state = m.stateless_update_state(m.stateless_reset_state(), np.ones((3, 2)),
                                     np.zeros((3, 2)))
    theirs = keras.metrics.R2Score()
    theirs.update_state(np.ones((3, 2)), np.zeros((3, 2)))
    assert [v.path for v in m.variables] == [v.path for v in theirs.variables]
    assert len(state) == 5
    with pytest.raises(ValueError, match="2D"):
        lm.R2Score().update_state(np.ones((3, 2, 2)), np.ones((3, 2, 2)))
