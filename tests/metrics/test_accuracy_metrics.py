"""Accuracy metrics and functions against Keras 3."""

import numpy as np
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

CASES = [
    ("Accuracy", {}, "exact", (N,)),
    ("Accuracy", {}, "exact", (N, 4)),
    ("BinaryAccuracy", {}, "binary", (N,)),
    ("BinaryAccuracy", {"threshold": 0.3}, "binary", (N, 4)),
    ("BinaryAccuracy", {}, "binary1", (N,)),
    ("CategoricalAccuracy", {}, "categorical", (N,)),
    ("CategoricalAccuracy", {}, "categorical", (N, 1)),
    ("SparseCategoricalAccuracy", {}, "sparse", (N,)),
    ("SparseCategoricalAccuracy", {}, "sparse_col", (N,)),
    ("SparseCategoricalAccuracy", {}, "sparse_col", (N, 1)),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical", (N,)),
    ("TopKCategoricalAccuracy", {}, "categorical", (N,)),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse", (N,)),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse_col", (N,)),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, "sorted_ids", (N,)),
]


@pytest.mark.parametrize("cls_name,kwargs,kind,sw_shape", CASES)
def test_matches_keras(cls_name, kwargs, kind, sw_shape):
    check_against_keras(cls_name, kwargs, kind, sw_shape)


@pytest.mark.parametrize("cls_name,kwargs,kind", [
    ("BinaryAccuracy", {}, "binary"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
])
def test_stateless_jit(cls_name, kwargs, kind):
    check_stateless_jit(lambda: getattr(lm, cls_name)(**kwargs), kind)


@pytest.mark.parametrize("fn_name,kwargs,kind", [
    ("binary_accuracy", {}, "binary"),
    ("binary_accuracy", {"threshold": 0.7}, "binary1"),
    ("categorical_accuracy", {}, "categorical"),
    ("sparse_categorical_accuracy", {}, "sparse"),
    ("sparse_categorical_accuracy", {}, "sparse_col"),
    ("top_k_categorical_accuracy", {"k": 3}, "categorical"),
    ("sparse_top_k_categorical_accuracy", {"k": 1}, "sparse_col"),
    ("sparse_top_k_categorical_accuracy", {"k": 2, "from_sorted_ids": True}, "sorted_ids"),
])
def test_functions_match_keras(fn_name, kwargs, kind):
    yt, yp = make_batch(kind, seed=5)
    ours = getattr(lm, fn_name)(yt, yp, **kwargs)
    theirs = getattr(keras.metrics, fn_name)(yt, yp, **kwargs)
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    assert_close(ours, theirs)
    assert getattr(lm, fn_name)._keras_builtin is True


def test_top_k_ties_count_as_hits():
    # Equal scores: every tied class ranks first, as with Keras's in_top_k.
    yt = np.array([[0, 0, 1.0], [1.0, 0, 0]])
    yp = np.full((2, 3), 0.5, "float32")
    assert_close(lm.top_k_categorical_accuracy(yt, yp, k=1),
                 keras.metrics.top_k_categorical_accuracy(yt, yp, k=1))


def test_rank3_categorical_shapes():
    rng = np.random.default_rng(0)
    yt = np.eye(3, dtype="float32")[rng.integers(0, 3, (2, 5))]
    yp = rng.uniform(size=(2, 5, 3)).astype("float32")
    for name in ("categorical_accuracy", "top_k_categorical_accuracy"):
        ours = getattr(lm, name)(yt, yp)
        theirs = getattr(keras.metrics, name)(yt, yp)
        assert ours.shape == theirs.shape
        assert_close(ours, theirs)


def test_binary_accuracy_threshold_validation():
    with pytest.raises(ValueError, match="threshold"):
        lm.BinaryAccuracy(threshold=1.5)
