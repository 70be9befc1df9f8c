"""F1Score and FBetaScore against Keras 3."""

import jax
import numpy as np
import pytest
from _metrics_testlib import assert_close, check_against_keras, check_stateless_jit, keras

import lamina.metrics as lm

CASES = [
    ("F1Score", {}),
    ("F1Score", {"average": "micro"}),
    ("F1Score", {"average": "macro", "threshold": 0.4}),
    ("F1Score", {"average": "weighted"}),
    ("FBetaScore", {"beta": 2.0}),
    ("FBetaScore", {"beta": 0.5, "average": "micro", "threshold": 0.6}),
    ("FBetaScore", {"average": "weighted", "threshold": 0.5}),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES)
def test_matches_keras(cls_name, kwargs):
    check_against_keras(cls_name, kwargs, "binary")


@pytest.mark.parametrize("kwargs", [{"average": "macro"}, {"average": "micro"}])
def test_stateless_jit(kwargs):
    check_stateless_jit(lambda: lm.F1Score(**kwargs), "binary")


def test_stateless_update_on_unbuilt_metric_builds_it():
    # Like Keras: the first update creates the state, an empty list stands for it.
    m = lm.F1Score()
    assert m.stateless_reset_state() == []
    yt, yp = np.array([[1.0, 0, 1], [0, 1, 1]]), np.array([[0.7, 0.2, 0.4], [0.1, 0.9, 0.6]])
    state = m.stateless_update_state([], yt, yp)
    theirs = keras.metrics.F1Score()
    expected = theirs.stateless_update_state([], yt, yp)
    assert len(state) == len(expected) == 4
    for a, e in zip(state, expected):
        assert_close(a, e)
    assert_close(m.stateless_result(state), theirs.stateless_result(expected))


def test_lazy_build_inside_jit_gives_concrete_variables():
    m = lm.F1Score(average="micro")
    yt, yp = np.eye(3, dtype="float32"), np.eye(3, dtype="float32")[::-1]
    state = jax.jit(m.stateless_update_state)([], yt, yp)
    assert len(state) == len(m.variables) == 4
    for v in m.variables:  # created during the trace, still concrete zeros
        np.testing.assert_array_equal(np.asarray(v.value), 0.0)
    theirs = keras.metrics.F1Score(average="micro")
    theirs.update_state(yt, yp)
    assert_close(m.stateless_result(state), theirs.result())


def test_all_zero_predictions_are_negative():
    yt = np.array([[1.0, 0.0], [0.0, 1.0]])
    yp = np.zeros((2, 2))
    ours, theirs = lm.F1Score(average="macro"), keras.metrics.F1Score(average="macro")
    ours.update_state(yt, yp)
    theirs.update_state(yt, yp)
    assert_close(ours.result(), theirs.result())


@pytest.mark.parametrize("kwargs,match", [
    ({"beta": 1}, "beta"), ({"beta": -1.0}, "beta"), ({"average": "mean"}, "average"),
    ({"threshold": 1}, "threshold"), ({"threshold": 1.5}, "threshold"),
])
def test_argument_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lm.FBetaScore(**kwargs)


def test_rank_validation():
    with pytest.raises(ValueError, match="2D"):
        lm.F1Score().update_state(np.ones(3), np.ones(3))
