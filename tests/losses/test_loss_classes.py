"""The Loss classes match Keras 3: numbers, default names, configs, dtypes."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _losses_testlib import assert_close, keras, make_data

import lamina.losses as L

# (class name, data kind, constructor kwargs)
CASES = [
    ("MeanSquaredError", "real", {}), ("MeanAbsoluteError", "real", {}),
    ("MeanAbsolutePercentageError", "positive", {}), ("MeanSquaredLogarithmicError", "positive", {}),
    ("CosineSimilarity", "real", {}), ("CosineSimilarity", "real3d", {"axis": 1}),
    ("Huber", "real", {}), ("Huber", "real", {"delta": 0.5}), ("LogCosh", "real", {}),
    ("Hinge", "signed", {}), ("SquaredHinge", "binary", {}), ("CategoricalHinge", "onehot", {}),
    ("KLDivergence", "distribution", {}), ("Poisson", "positive", {}),
    ("BinaryCrossentropy", "binary", {}), ("BinaryCrossentropy", "binary_edge", {}),
    ("BinaryCrossentropy", "binary_logits", {"from_logits": True, "label_smoothing": 0.1}),
    ("BinaryFocalCrossentropy", "binary", {}),
    ("BinaryFocalCrossentropy", "binary_logits",
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "from_logits": True,
      "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", "onehot", {}), ("CategoricalCrossentropy", "onehot3d", {}),
    ("CategoricalCrossentropy", "onehot_logits", {"from_logits": True, "label_smoothing": 0.2}),
    ("CategoricalFocalCrossentropy", "onehot", {}),
    ("CategoricalFocalCrossentropy", "onehot_logits",
     {"alpha": 0.5, "gamma": 1.0, "from_logits": True, "label_smoothing": 0.1}),
    ("SparseCategoricalCrossentropy", "sparse", {}),
    ("SparseCategoricalCrossentropy", "sparse_col", {}),
    ("SparseCategoricalCrossentropy", "sparse_logits", {"from_logits": True}),
    ("SparseCategoricalCrossentropy", "sparse_seq", {"ignore_class": 1}),
    ("SparseCategoricalCrossentropy", "sparse_logits", {"from_logits": True, "ignore_class": 0}),
    ("CategoricalGeneralizedCrossEntropy", "sparse", {"q": 0.3}),
    ("Dice", "mask3d", {}), ("Dice", "mask3d", {"axis": (1, 2)}),
    ("Tversky", "mask3d", {"alpha": 0.3, "beta": 0.7, "axis": (1, 2)}),
    ("Circle", "embeddings", {"gamma": 10.0}),
]
# Every case reduced by default; "none" (the unreduced, shaped output) too for the losses whose
# call does more than their function (rank alignment, masks). Reductions have their own tests.
_NONE_TOO = ("SparseCategoricalCrossentropy", "Circle", "BinaryCrossentropy", "Dice")
RUNS = ([(*case, "sum_over_batch_size") for case in CASES]
        + [(*case, "none") for case in CASES if case[0] in _NONE_TOO])
# Eager Keras runs these as many small compiled ops; compiled whole they are much faster.
_JIT = ("Circle", "SparseCategoricalCrossentropy", "Dice", "Tversky")


@pytest.mark.parametrize("cls,kind,kwargs,reduction", RUNS,
                         ids=[f"{c}-{k}-{r}-{i}" for i, (c, k, _, r) in enumerate(RUNS)])
def test_class_matches_keras(cls, kind, kwargs, reduction):
    y_true, y_pred = make_data(kind)
    expected = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    actual = getattr(L, cls)(reduction=reduction, **kwargs)
    if cls in _JIT:
        expected, actual = jax.jit(expected.__call__), jax.jit(actual.__call__)
    assert_close(actual(y_true, y_pred), expected(y_true, y_pred))


def test_ctc_class_matches_keras():
    y_true, y_pred = make_data("ctc")
    expected = jax.jit(keras.losses.CTC(reduction="sum").__call__)(y_true, y_pred)
    actual = jax.jit(L.CTC(reduction="sum").__call__)(y_true, y_pred)
    assert_close(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ["BinaryCrossentropy", "MeanSquaredError",
                                 "SparseCategoricalCrossentropy"])
def test_class_aligns_rank_one_labels(cls):
    # Labels of shape (n,) against predictions of shape (n, 1), the usual binary/regression case.
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, (4,)).astype("f4") if cls != "SparseCategoricalCrossentropy" \
        else np.zeros((4,), "int32")
    y_pred = rng.uniform(0.05, 0.95, (4, 1)).astype("f4")
    for a, b in [(y_true, y_pred), (y_true[:, None], y_pred[:, 0])]:
        if cls == "SparseCategoricalCrossentropy" and b.ndim == 1:
            continue
        assert_close(getattr(L, cls)(reduction="none")(a, b),
                     getattr(keras.losses, cls)(reduction="none")(a, b))


@pytest.mark.parametrize("cls", ["CategoricalCrossentropy", "CategoricalFocalCrossentropy"])
def test_single_class_warns_like_keras(cls):
    y = np.ones((3, 1), "f4")
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        expected = getattr(keras.losses, cls)()(y, y)
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        actual = getattr(L, cls)()(y, y)
    assert_close(actual, expected)


KERAS_CLASSES = sorted(n for n in dir(keras.losses)
                       if isinstance(getattr(keras.losses, n), type) and n != "Loss")


@pytest.mark.parametrize("cls", KERAS_CLASSES)
def test_default_config_name_and_module(cls):
    ours, theirs = getattr(L, cls)(), getattr(keras.losses, cls)()
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())
    assert ours.name == theirs.name
    assert ours.reduction == theirs.reduction == "sum_over_batch_size"
    assert getattr(L, cls)._keras_module == "keras.losses"


@pytest.mark.parametrize("cls,kind,kwargs", [c for c in CASES if c[2]],
                         ids=[f"{c}-{i}" for i, (c, _, k) in enumerate(CASES) if k])
def test_config_with_arguments(cls, kind, kwargs):
    kwargs = dict(kwargs, name="custom", reduction="sum")
    ours, theirs = getattr(L, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    rebuilt = getattr(L, cls).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()


def test_base_loss_and_subclass():
    assert L.Loss().name.startswith("loss") and keras.losses.Loss().name.startswith("loss")
    assert L.Loss(name="a").get_config() == keras.losses.Loss(name="a").get_config()
    with pytest.raises(NotImplementedError):
        L.Loss()(np.ones(3), np.ones(3))

    def squared(y_true, y_pred):
        return (y_true - y_pred) ** 2

    ours_cls = type("MySquaredLoss", (L.Loss,), {"call": lambda self, t, p: squared(t, p)})
    theirs_cls = type("MySquaredLoss", (keras.losses.Loss,),
                      {"call": lambda self, t, p: squared(t, p)})
    # Unnamed losses are uniquified like layers.
    assert [ours_cls().name for _ in range(2)] == [theirs_cls().name for _ in range(2)] == [
        "my_squared_loss", "my_squared_loss_1"]
    y_true, y_pred = make_data("real")
    for sw in (None, np.arange(4, dtype="f4")[:, None], np.arange(20, dtype="f4").reshape(4, 5)):
        for reduction in ("sum_over_batch_size", "mean_with_sample_weight", "none"):
            assert_close(ours_cls(reduction=reduction)(y_true, y_pred, sample_weight=sw),
                         theirs_cls(reduction=reduction)(y_true, y_pred, sample_weight=sw))


@pytest.mark.parametrize("dtype,expected", [(None, "float32"), ("float16", "float16"),
                                            ("mixed_float16", "float16"),
                                            ("mixed_bfloat16", "bfloat16")])
def test_dtype(dtype, expected):
    assert L.Loss(dtype=dtype).dtype == keras.losses.Loss(dtype=dtype).dtype == expected
    out = L.MeanSquaredError(dtype=dtype)(np.ones((2, 3)), np.zeros((2, 3)))
    assert out.dtype == np.dtype(expected)
    assert "dtype" not in L.MeanSquaredError(dtype=dtype).get_config()


def test_invalid_reduction():
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="auto")
    with pytest.raises(ValueError, match="q must be"):
        L.CategoricalGeneralizedCrossEntropy(q=1.5)


def test_wrapper_matches_keras():
    from keras.src.losses import LossFunctionWrapper as KerasWrapper

    y_true, y_pred = make_data("real")
    ours = L.LossFunctionWrapper(L.huber, reduction="sum", name="w", delta=0.5)
    theirs = KerasWrapper(keras.losses.huber, reduction="sum", name="w", delta=0.5)
    assert_close(ours(y_true, y_pred), theirs(y_true, y_pred))
    assert ours.get_config() == theirs.get_config()
    assert L.LossFunctionWrapper(L.mean_squared_error).name == "loss_function_wrapper"
    rebuilt = L.LossFunctionWrapper.from_config(theirs.get_config())
    assert rebuilt.fn is L.huber and rebuilt.get_config() == ours.get_config()
    # Keras can rebuild ours.
    back = KerasWrapper.from_config(ours.get_config())
    assert back.fn is keras.losses.huber
