"""Reductions, sample weights and masks combine exactly as in Keras 3."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _losses_testlib import assert_close, keras, make_data
from keras.src.backend import set_keras_mask

import lamina.losses as L

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
_rng = np.random.default_rng(7)
# Losses of shape (2, 3) (from (2, 3, 5) outputs) and the weight shapes Keras accepts for them.
SEQ_WEIGHTS = {
    "none": None,
    "per_sample_col": _rng.uniform(0, 2, (2, 1)).astype("f4"),
    "per_timestep": _rng.uniform(0, 2, (2, 3)).astype("f4"),
    "per_timestep_col": _rng.uniform(0, 2, (2, 3, 1)).astype("f4"),
    "scalar": np.float32(1.7),
    "broadcast_row": _rng.uniform(0, 2, (1, 3)).astype("f4"),
    "zeros": np.zeros((2, 3), "f4"),
}
MASK = np.array([[True, True, False], [True, False, False]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(SEQ_WEIGHTS))
def test_sequence_sample_weights(reduction, weights):
    y_true, y_pred = make_data("real3d")
    sw = SEQ_WEIGHTS[weights]
    expected = keras.losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=sw)
    actual = L.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=sw)
    assert_close(actual, expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("sw_shape", [(4,), (4, 1), ()])
def test_per_sample_weights(reduction, sw_shape):
    y_true, y_pred = make_data("onehot")
    sw = np.random.default_rng(2).uniform(0, 2, sw_shape).astype("f4")
    expected = keras.losses.CategoricalCrossentropy(reduction=reduction)(y_true, y_pred, sw)
    actual = L.CategoricalCrossentropy(reduction=reduction)(y_true, y_pred, sw)
    assert_close(actual, expected)


def test_per_sample_weights_do_not_broadcast_over_time():
    # Keras rejects weights of shape (batch,) for losses of shape (batch, T); so do we.
    y_true, y_pred = make_data("real3d")
    with pytest.raises(ValueError):
        keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=np.ones(2, "f4"))
    with pytest.raises(ValueError):
        L.MeanSquaredError()(y_true, y_pred, sample_weight=np.ones(2, "f4"))


def _keras_masked(y_pred, mask):
    y_pred = jnp.asarray(y_pred)
    set_keras_mask(y_pred, jnp.asarray(mask))
    return y_pred


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "per_timestep", "per_sample_col", "scalar"])
def test_mask_matches_keras_masked_predictions(reduction, weights):
    y_true, y_pred = make_data("real3d")
    sw = SEQ_WEIGHTS[weights]
    expected = keras.losses.MeanSquaredError(reduction=reduction)(
        y_true, _keras_masked(y_pred, MASK), sample_weight=sw)
    actual = L.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight=sw, mask=MASK)
    assert_close(actual, expected)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_mask_combines_with_ignore_class(reduction):
    y_true, y_pred = make_data("sparse_seq")
    mask = np.array([[True, True, True], [True, True, False]])
    kw = {"ignore_class": int(y_true[0, 0]), "reduction": reduction}
    expected = keras.losses.SparseCategoricalCrossentropy(**kw)(
        y_true, _keras_masked(y_pred, mask), sample_weight=SEQ_WEIGHTS["per_timestep"])
    actual = L.SparseCategoricalCrossentropy(**kw)(
        y_true, y_pred, sample_weight=SEQ_WEIGHTS["per_timestep"], mask=mask)
    assert_close(actual, expected)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_all_masked_gives_zero(reduction):
    y_true, y_pred = make_data("real3d")
    mask = np.zeros((2, 3), bool)
    expected = keras.losses.MeanSquaredError(reduction=reduction)(
        y_true, _keras_masked(y_pred, mask))
    actual = L.MeanSquaredError(reduction=reduction)(y_true, y_pred, mask=mask)
    assert_close(actual, expected)
    assert float(actual) == 0.0


def test_masked_model_loss_matches_keras_evaluate():
    # The mask Keras derives from Embedding(mask_zero=True) and applies in evaluate().
    keras.utils.set_random_seed(0)
    tokens = keras.Input((3,), dtype="int32")
    hidden = keras.layers.Embedding(6, 4, mask_zero=True)(tokens)
    model = keras.Model(tokens, keras.layers.Dense(5)(hidden))
    model.compile(loss="mse")
    x = np.array([[1, 2, 0], [3, 0, 0]], "int32")
    y_true, _ = make_data("real3d")
    sw = SEQ_WEIGHTS["per_timestep"]
    expected = model.evaluate(x, y_true, sample_weight=sw, verbose=0)
    y_pred = np.asarray(model.predict(x, verbose=0))
    actual = L.MeanSquaredError()(y_true, y_pred, sample_weight=sw, mask=x != 0)
    assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_loss_call_is_jittable():
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    y_true, y_pred = make_data("sparse_seq")
    sw = SEQ_WEIGHTS["per_timestep"]
    jitted = jax.jit(lambda t, p, w, m: loss(t, p, w, mask=m))
    assert_close(jitted(y_true, y_pred, sw, MASK), loss(y_true, y_pred, sw, mask=MASK))
    grad = jax.jit(jax.grad(lambda p: loss(y_true, p, sw, mask=MASK)))(jnp.asarray(y_pred))
    assert np.all(np.isfinite(np.asarray(grad)))
    # Masked-out and ignored positions get no gradient.
    assert np.all(np.asarray(grad)[~MASK] == 0)


def test_reduction_helpers_directly():
    from lamina.losses.loss import reduce_weighted_values

    values = np.array([[1.0, 2.0], [3.0, 4.0]], "f4")
    assert float(reduce_weighted_values(values, reduction="sum")) == 10.0
    # Keras divides by the sum of the weights as given, not as broadcast: (3 + 4) / 1.
    assert float(reduce_weighted_values(values, sample_weight=np.array([[0.0], [1.0]]),
                                        reduction="mean_with_sample_weight")) == 7.0
    assert float(reduce_weighted_values(values, mask=np.array([[1, 0], [0, 0]]))) == \
        pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        reduce_weighted_values(values, reduction="batch")
