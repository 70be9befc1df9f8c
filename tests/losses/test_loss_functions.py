"""The loss functions give Keras 3's numbers, shapes and errors."""

from __future__ import annotations

import functools
import inspect

import jax
import numpy as np
import pytest
from _losses_testlib import assert_close, keras, make_data

import lamina.losses as L

REGRESSION = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
              "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh",
              "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge"]

CASES = (
    [(name, "real", {}) for name in REGRESSION]
    + [(name, kind, {}) for kind, names in [
        ("real3d", ("mean_squared_error", "cosine_similarity", "huber", "categorical_hinge")),
        ("positive", ("mean_absolute_percentage_error", "mean_squared_logarithmic_error",
                      "kl_divergence", "poisson"))] for name in names]
    + [("huber", "real", {"delta": 0.3}), ("cosine_similarity", "real3d", {"axis": 1}),
       ("kl_divergence", "distribution", {}), ("hinge", "signed", {}),
       ("hinge", "binary", {}), ("squared_hinge", "signed", {}),
       ("squared_hinge", "binary", {}), ("categorical_hinge", "onehot", {}),
       ("poisson", "binary_edge", {}), ("kl_divergence", "binary_edge", {}),
       ("mean_absolute_percentage_error", "binary_edge", {}),
       ("mean_squared_logarithmic_error", "binary_edge", {})]
    + [(name, kind, kw)
       for name in ("binary_crossentropy", "binary_focal_crossentropy")
       for kind, kw in [("binary", {}), ("binary_edge", {}), ("binary_logits", {"from_logits": True}),
                        ("binary", {"label_smoothing": 0.1}),
                        ("binary_logits", {"from_logits": True, "label_smoothing": 0.2}),
                        ("binary", {"axis": 0})]]
    + [("binary_focal_crossentropy", "binary", {"apply_class_balancing": True, "alpha": 0.4,
                                                "gamma": 1.5}),
       ("binary_focal_crossentropy", "binary_logits",
        {"apply_class_balancing": True, "from_logits": True, "label_smoothing": 0.1})]
    + [(name, kind, kw)
       for name in ("categorical_crossentropy", "categorical_focal_crossentropy")
       for kind, kw in [("onehot", {}), ("onehot_unnormalized", {}), ("onehot3d", {}),
                        ("onehot_logits", {"from_logits": True}),
                        ("onehot", {"label_smoothing": 0.1}),
                        ("onehot_logits", {"from_logits": True, "label_smoothing": 0.2}),
                        ("onehot", {"axis": 0, "label_smoothing": 0.1}),
                        ("binary_edge", {})]]
    + [("categorical_focal_crossentropy", "onehot", {"alpha": 0.5, "gamma": 1.0})]
    + [("sparse_categorical_crossentropy", kind, kw)
       for kind, kw in [("sparse", {}), ("sparse_col", {}), ("sparse_float", {}),
                        ("sparse_seq", {}), ("sparse_logits", {"from_logits": True}),
                        ("sparse", {"ignore_class": 2}),
                        ("sparse_seq", {"ignore_class": 1}),
                        ("sparse_logits", {"from_logits": True, "ignore_class": 0})]]
    + [("categorical_generalized_cross_entropy", "sparse", {"q": 0.5}),
       ("categorical_generalized_cross_entropy", "sparse", {"q": 0.2}),
       ("dice", "mask3d", {}), ("dice", "mask3d", {"axis": (1, 2)}), ("dice", "mask3d", {"axis": -1}),
       ("tversky", "mask3d", {}), ("tversky", "mask3d", {"alpha": 0.3, "beta": 0.7, "axis": (1, 2)}),
       ("circle", "embeddings", {}), ("circle", "embeddings", {"remove_diagonal": False}),
       ("circle", "embeddings", {"gamma": 10.0, "margin": 0.2}),
       ("ctc", "ctc", {})]
)


# Eager Keras runs many small ops; these few are much faster compiled whole.
_JIT = ("circle", "ctc", "tversky", "dice")


@pytest.mark.parametrize("name,kind,kwargs", CASES,
                         ids=[f"{n}-{k}-{i}" for i, (n, k, _) in enumerate(CASES)])
def test_function_matches_keras(name, kind, kwargs):
    y_true, y_pred = make_data(kind)
    expected, actual = (functools.partial(getattr(mod, name), **kwargs)
                        for mod in (keras.losses, L))
    if name in _JIT:
        expected, actual = jax.jit(expected), jax.jit(actual)
    assert_close(actual(y_true, y_pred), expected(y_true, y_pred))


@pytest.mark.parametrize("name", ["mean_squared_error", "cosine_similarity", "huber",
                                  "kl_divergence", "hinge", "categorical_hinge"])
def test_rank_alignment_matches_keras(name):
    # (n,) against (n, 1): most functions align the ranks, the divergence/hinge ones broadcast.
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 1, (4,)).astype("f4"), rng.uniform(0.1, 1, (4, 1)).astype("f4")
    for x, y in [(a, b), (b, a)]:
        assert_close(getattr(L, name)(x, y), getattr(keras.losses, name)(x, y))


def test_circle_with_reference_embeddings():
    labels, emb = make_data("embeddings")
    ref_labels, ref = labels[:4], emb[2:]
    kw = {"ref_labels": ref_labels, "ref_embeddings": ref, "remove_diagonal": False}
    assert_close(jax.jit(functools.partial(L.circle, **kw))(labels, emb),
                 jax.jit(functools.partial(keras.losses.circle, **kw))(labels, emb))


@pytest.mark.parametrize("name,kind,kwargs", [
    ("binary_crossentropy", "binary", {}),
    ("categorical_crossentropy", "onehot_logits", {"from_logits": True}),
    ("sparse_categorical_crossentropy", "sparse_logits", {"from_logits": True}),
    ("circle", "embeddings", {"gamma": 10.0}),
    ("huber", "real", {}),
])
def test_gradients_match_keras(name, kind, kwargs):
    y_true, y_pred = make_data(kind)

    def total(fn):
        return lambda p: fn(y_true, p, **kwargs).sum()

    # Jitted: one compile per function instead of one per primitive.
    assert_close(jax.jit(jax.grad(total(getattr(L, name))))(y_pred),
                 jax.jit(jax.grad(total(getattr(keras.losses, name))))(y_pred), atol=1e-5)


def test_sparse_out_of_range_labels_give_zero():
    _, y_pred = make_data("sparse")
    labels = np.array([0, 5, -1, 2])
    assert_close(L.sparse_categorical_crossentropy(labels, y_pred),
                 keras.losses.sparse_categorical_crossentropy(labels, y_pred))


@pytest.mark.parametrize("name,y_true,y_pred", [
    ("binary_crossentropy", np.zeros((3,)), np.zeros((3, 1))),
    ("categorical_crossentropy", np.zeros((3, 1)), np.zeros((3, 4))),
    ("sparse_categorical_crossentropy", np.zeros((3, 4)), np.ones((3, 4))),
])
def test_shape_errors_like_keras(name, y_true, y_pred):
    with pytest.raises(ValueError):
        getattr(keras.losses, name)(y_true, y_pred)
    with pytest.raises(ValueError, match="shape"):
        getattr(L, name)(y_true, y_pred)


def test_functions_are_jittable_and_typed():
    y_true, y_pred = make_data("sparse_seq")
    fn = jax.jit(lambda t, p: L.sparse_categorical_crossentropy(t, p, ignore_class=1))
    assert_close(fn(y_true, y_pred),
                 keras.losses.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=1))
    out = L.mean_squared_error(np.array([1, 2, 3]), np.array([1, 2, 5]))
    assert out.dtype == np.float32


KERAS_FUNCTIONS = sorted(n for n in dir(keras.losses)
                         if inspect.isfunction(getattr(keras.losses, n))
                         and n not in ("get", "serialize", "deserialize"))


@pytest.mark.parametrize("name", KERAS_FUNCTIONS)
def test_signature_and_builtin_flag(name):
    ours, theirs = getattr(L, name), getattr(keras.losses, name)
    ps, pk = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    assert list(ps) == list(pk)
    assert [p.default for p in ps.values()] == [p.default for p in pk.values()]
    assert ours._keras_builtin is True
    assert ours.__name__ == name
