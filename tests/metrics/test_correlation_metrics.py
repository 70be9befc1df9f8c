"""Pearson and concordance correlation against Keras 3."""

import pytest
from _metrics_testlib import (
    N,
    assert_close,
    check_against_keras,
    check_stateless_jit,
    keras,
    make_batch,
)

import lamina.metrics as lm


@pytest.mark.parametrize("cls_name", ["PearsonCorrelation", "ConcordanceCorrelation"])
@pytest.mark.parametrize("kwargs,sw_shape", [({}, (N,)), ({"axis": 0}, (4,))])
def test_matches_keras(cls_name, kwargs, sw_shape):
    check_against_keras(cls_name, kwargs, "regression", sw_shape, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("fn_name", ["pearson_correlation", "concordance_correlation"])
def test_functions_match_keras(fn_name):
    yt, yp = make_batch("regression", seed=3)
    assert_close(getattr(lm, fn_name)(yt, yp), getattr(keras.metrics, fn_name)(yt, yp),
                 rtol=2e-5, atol=2e-6)
    assert_close(getattr(lm, fn_name)(yt[0], yp[0]), getattr(keras.metrics, fn_name)(yt[0], yp[0]),
                 rtol=2e-5, atol=2e-6)


def test_stateless_jit():
    check_stateless_jit(lambda: lm.ConcordanceCorrelation(), "regression", rtol=2e-5, atol=2e-6)
