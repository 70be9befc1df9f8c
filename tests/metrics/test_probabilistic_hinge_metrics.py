"""Loss-as-metric classes (cross-entropies, KL, Poisson, hinges) against Keras 3."""

import pytest
from _metrics_testlib import N, check_against_keras, check_stateless_jit

import lamina.metrics as lm

CASES = [
    ("BinaryCrossentropy", {}, "binary", (N,)),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits", (N,)),
    ("CategoricalCrossentropy", {}, "categorical", (N,)),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "categorical", (N, 1)),
    ("CategoricalCrossentropy", {"from_logits": True}, "regression", (N,)),
    ("SparseCategoricalCrossentropy", {}, "sparse", (N,)),
    ("SparseCategoricalCrossentropy", {}, "sparse_col", (N,)),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse", (N,)),
    ("KLDivergence", {}, "categorical", (N,)),
    ("Poisson", {}, "positive", (N,)),
    ("Hinge", {}, "signed", (N,)),
    ("Hinge", {}, "binary", (N,)),
    ("SquaredHinge", {}, "signed", (N,)),
    ("CategoricalHinge", {}, "categorical", (N,)),
]


@pytest.mark.parametrize("cls_name,kwargs,kind,sw_shape", CASES)
def test_matches_keras(cls_name, kwargs, kind, sw_shape):
    check_against_keras(cls_name, kwargs, kind, sw_shape, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("factory,kind", [
    (lambda: lm.BinaryCrossentropy(from_logits=True), "logits"),
    (lambda: lm.SparseCategoricalCrossentropy(), "sparse"),
    (lambda: lm.Hinge(), "binary"),
])
def test_stateless_jit(factory, kind):
    check_stateless_jit(factory, kind, rtol=2e-5, atol=2e-6)
