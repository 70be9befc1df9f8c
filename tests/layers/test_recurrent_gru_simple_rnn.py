"""GRU, GRUCell, SimpleRNN and SimpleRNNCell against Keras 3."""

import json

import numpy as np
import pytest
from _recurrent_testlib import (
    MASK,
    RNG,
    B,
    D,
    L,
    U,
    X,
    assert_close,
    compare,
    config_without_names,
    copy_weights,
    grads_vs_keras,
    keras,
    pair,
    randomize,
)

import lamina

H0 = RNG.normal(size=(B, U)).astype("float32")


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_outputs_match_keras(reset_after):
    k, lam = pair("GRU", U, reset_after=reset_after, return_sequences=True, return_state=True,
                  go_backwards=True)
    compare(k, lam, X, mask=MASK, initial_state=[H0])
    k, lam = pair("GRU", U, reset_after=reset_after, return_state=True)
    compare(k, lam, X)


def test_gru_gradients_match_keras():
    k, lam = pair("GRU", U, return_sequences=True)
    grads_vs_keras(k, lam, X, mask=MASK)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_weights_and_config(reset_after):
    k, lam = pair("GRU", U, reset_after=reset_after, name=f"gru_w{int(reset_after)}")
    assert [(w.path, tuple(w.shape)) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    bias_shape = (2, 3 * U) if reset_after else (3 * U,)
    assert tuple(lam.weights[2].shape) == bias_shape
    assert lam.count_params() == k.count_params()
    assert lam.get_config() == k.get_config()
    clone = L.GRU.from_config(json.loads(json.dumps(lam.get_config())))
    clone.build(X.shape)
    clone.set_weights(lam.get_weights())
    assert_close(clone(X), lam(X))


def test_gru_default_config_matches_keras():
    kwargs = dict(dropout=0.1, recurrent_dropout=0.2, seed=2, bias_regularizer="l1",
                  recurrent_constraint="non_neg", stateful=True, unroll=True)
    assert config_without_names(L.GRU(U, **kwargs).get_config()) == config_without_names(
        keras.layers.GRU(U, **kwargs).get_config())
    assert config_without_names(L.GRU(8).get_config()) == config_without_names(
        keras.layers.GRU(8).get_config())


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_matches_keras(reset_after):
    kc, lc = keras.layers.GRUCell(U, reset_after=reset_after), L.GRUCell(
        U, reset_after=reset_after)
    kc.build((B, D))
    randomize(kc)
    lc.build((B, D))
    copy_weights(kc, lc)
    ko, ks = kc(X[:, 0], [H0])
    lo, ls = lc(X[:, 0], [H0])
    assert_close([lo] + list(ls), [ko] + list(ks))
    assert config_without_names(lc.get_config()) == config_without_names(kc.get_config())


def test_gru_input_dropout_statistics():
    # z saturated to 0 and no recurrence: h_t = tanh(x_t * m) reveals the input mask m.
    units, batch = 16, 64
    lam = L.GRU(units, dropout=0.5, return_sequences=True)
    lam.build((batch, 2, units))
    kernel = np.zeros((units, 3 * units), "float32")
    kernel[:, 2 * units:] = np.eye(units)
    bias = np.zeros((2, 3 * units), "float32")
    bias[0, :units] = -30.0
    lam.set_weights([kernel, np.zeros((units, 3 * units), "float32"), bias])
    x = np.full((batch, 2, units), 0.4, "float32")
    tv = [v.value for v in lam.trainable_variables]
    out = np.asarray(lam.stateless_call(tv, [], x, training=True, seed=3)[0])
    m = np.arctanh(out) / 0.4
    assert np.all(np.isclose(m, 0.0, atol=1e-3) | np.isclose(m, 2.0, atol=1e-2))
    assert 0.4 < np.mean(m < 1.0) < 0.6
    np.testing.assert_allclose(m[:, 0], m[:, 1], atol=1e-2)


@pytest.mark.parametrize("unroll", [False, True])
def test_simple_rnn_outputs_match_keras(unroll):
    k, lam = pair("SimpleRNN", U, return_sequences=True, return_state=True, unroll=unroll)
    compare(k, lam, X, mask=MASK, initial_state=[H0])


def test_simple_rnn_last_output_backwards_and_activation():
    k, lam = pair("SimpleRNN", U, go_backwards=True, activation="relu", use_bias=False)
    compare(k, lam, X, mask=MASK)


def test_simple_rnn_weights_config_and_cell():
    k, lam = pair("SimpleRNN", U, name="srnn_w", seed=4, dropout=0.3)
    assert [(w.path, tuple(w.shape)) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    assert lam.get_config() == k.get_config()  # (Keras's SimpleRNN config has no seed)
    clone = L.SimpleRNN.from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()
    kc, lc = keras.layers.SimpleRNNCell(U, activation=None), L.SimpleRNNCell(U, activation=None)
    kc.build((B, D))
    randomize(kc)
    lc.build((B, D))
    copy_weights(kc, lc)
    assert_close(lc(X[:, 0], [H0])[0], kc(X[:, 0], [H0])[0])
    assert config_without_names(lc.get_config()) == config_without_names(kc.get_config())


def test_simple_rnn_dropout_statistics():
    # Linear cell, identity kernels, no bias. Input dropout: with h0 = 0 and the
    # recurrent kernel zero, h_1 = x_1 * m. Recurrent dropout: with x = 0 and h0 = 1,
    # h_1 = r.
    units, batch = 16, 64
    lam = L.SimpleRNN(units, activation="linear", use_bias=False, dropout=0.25,
                      recurrent_dropout=0.5)
    lam.build((batch, 1, units))
    eye, zero = np.eye(units, dtype="float32"), np.zeros((units, units), "float32")
    ones = np.ones((batch, units), "float32")
    lam.set_weights([eye, zero])
    tv = [v.value for v in lam.trainable_variables]
    m = np.asarray(lam.stateless_call(tv, [], np.ones((batch, 1, units), "float32"),
                                      training=True, seed=0)[0])
    assert np.all(np.isclose(m, 0.0) | np.isclose(m, 1 / 0.75))
    assert 0.15 < np.mean(m == 0) < 0.35
    lam.set_weights([zero, eye])
    tv = [v.value for v in lam.trainable_variables]
    r = np.asarray(lam.stateless_call(tv, [], np.zeros((batch, 1, units), "float32"),
                                      initial_state=[ones], training=True, seed=0)[0])
    assert np.all(np.isclose(r, 0.0) | np.isclose(r, 2.0))
    assert 0.4 < np.mean(r == 0) < 0.6
    inference = lam.stateless_call(tv, [], np.zeros((batch, 1, units), "float32"),
                                   initial_state=[ones], training=False)[0]
    np.testing.assert_array_equal(np.asarray(inference), ones)


@pytest.mark.parametrize("name", ["GRU", "SimpleRNN"])
def test_wrong_rank_raises_naming_layer(name):
    layer = getattr(L, name)(U, name=f"bad_{name.lower()}")
    with pytest.raises(ValueError, match=f"bad_{name.lower()}"):
        layer(np.zeros((B, D), "float32"))
    with pytest.raises(ValueError, match=f"bad_{name.lower()}"):
        layer(lamina.Input((2, 3, D)))
