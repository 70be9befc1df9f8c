"""LSTM and LSTMCell against Keras 3: outputs, masks, states, gradients, configs, models."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _recurrent_testlib import (
    MASK,
    RNG,
    B,
    D,
    L,
    T,
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


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_outputs_and_states_match_keras(return_sequences, go_backwards, masked):
    k, lam = pair("LSTM", U, return_sequences=return_sequences, go_backwards=go_backwards,
                  return_state=True)
    kwargs = {"mask": MASK} if masked else {}
    compare(k, lam, X, **kwargs)


def test_return_state_structure():
    k, lam = pair("LSTM", U, return_state=True)
    out = lam(X)
    assert isinstance(out, tuple) and len(out) == 3
    assert [tuple(o.shape) for o in out] == [(B, U)] * 3
    plain = L.LSTM(U)
    plain(X)
    copy_weights(lam, plain)
    assert_close(plain(X), out[0])
    assert_close(out[0], out[1])  # the output is the final h


@pytest.mark.parametrize("masked", [False, True])
def test_initial_state(masked):
    k, lam = pair("LSTM", U, return_sequences=True, return_state=True)
    h0 = RNG.normal(size=(B, U)).astype("float32")
    c0 = RNG.normal(size=(B, U)).astype("float32")
    kwargs = {"mask": MASK} if masked else {}
    compare(k, lam, X, initial_state=[h0, c0], **kwargs)
    # A masked first step outputs the initial h (zero_output_for_mask=False).
    if masked:
        out = lam(X, initial_state=[h0, c0], mask=MASK)[0]
        assert_close(out[1, 0], h0[1])


def test_initial_state_wrong_count_raises():
    lam = L.LSTM(U, name="lstm_bad_state")
    with pytest.raises(ValueError, match="lstm_bad_state"):
        lam(X, initial_state=[np.zeros((B, U), "float32")])


def test_zero_output_for_mask_and_unroll_match_keras():
    h0 = RNG.normal(size=(B, U)).astype("float32")
    c0 = RNG.normal(size=(B, U)).astype("float32")
    for kw in ({"zero_output_for_mask": True}, {"unroll": True}):
        k, lam = pair("LSTM", U, return_sequences=True, **kw)
        compare(k, lam, X, initial_state=[h0, c0], mask=MASK)


def test_options_match_keras():
    k, lam = pair("LSTM", 3, activation="relu", recurrent_activation="hard_sigmoid",
                  use_bias=False, return_sequences=True)
    compare(k, lam, X)
    k, lam = pair("LSTM", 3, unit_forget_bias=False)
    compare(k, lam, X)


def test_gradients_match_keras():
    k, lam = pair("LSTM", U, return_sequences=True)
    grads_vs_keras(k, lam, X, mask=MASK)


def test_gradients_last_output_backwards():
    k, lam = pair("LSTM", U, go_backwards=True)
    grads_vs_keras(k, lam, X)


def test_weights_names_shapes_and_paths():
    k, lam = pair("LSTM", U, name="lstm_w")
    assert [(w.name, tuple(w.shape)) for w in lam.weights] == [
        (w.name, tuple(w.shape)) for w in k.weights]
    assert [w.path for w in lam.weights] == [w.path for w in k.weights]
    assert [w.path for w in lam.weights] == ["lstm_w/lstm_cell/kernel",
                                            "lstm_w/lstm_cell/recurrent_kernel",
                                            "lstm_w/lstm_cell/bias"]
    assert lam.count_params() == k.count_params() == 4 * U * (D + U + 1)


def test_unit_forget_bias_initial_value():
    lam = L.LSTM(U, bias_initializer="zeros")
    lam(X)
    bias = np.asarray(lam.cell.bias.value)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(U), np.ones(U), np.zeros(2 * U)])


def test_config_matches_keras_and_round_trips():
    kwargs = dict(return_sequences=True, go_backwards=True, dropout=0.25, seed=3,
                  kernel_regularizer="l2", activity_regularizer="l1", use_cudnn=False)
    k, lam = keras.layers.LSTM(U, **kwargs), L.LSTM(U, **kwargs)
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())
    assert json.dumps(lam.get_config())  # JSON-able
    default_k, default_l = keras.layers.LSTM(32), L.LSTM(32)
    assert config_without_names(default_l.get_config()) == config_without_names(
        default_k.get_config())
    # Keras reads lamina's config and vice versa.
    assert config_without_names(keras.layers.LSTM.from_config(lam.get_config()).get_config()) \
        == config_without_names(k.get_config())
    lam(X)
    randomize(lam)
    clone = L.LSTM.from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()
    clone(X)
    clone.set_weights(lam.get_weights())
    assert_close(clone(X), lam(X))


def test_cell_matches_keras():
    kc, lc = keras.layers.LSTMCell(U), L.LSTMCell(U)
    x0 = X[:, 0]
    states = [RNG.normal(size=(B, U)).astype("float32") for _ in range(2)]
    kc(x0, states)
    randomize(kc)
    lc(x0, states)
    copy_weights(kc, lc)
    ko, kst = kc(x0, states)
    lo, lst = lc(x0, states)
    assert_close([lo] + list(lst), [ko] + list(kst))
    assert config_without_names(lc.get_config()) == config_without_names(kc.get_config())
    assert lc.state_size == kc.state_size and lc.output_size == kc.output_size


def test_rnn_with_lstm_cell_matches_lstm():
    k, lam = pair("LSTM", U, return_sequences=True)
    rnn = L.RNN(L.LSTMCell(U), return_sequences=True)
    rnn(X)
    copy_weights(k, rnn)
    assert_close(rnn(X, mask=MASK), k(X, mask=MASK))


def test_wrong_rank_raises_naming_layer():
    lam = L.LSTM(U, name="my_lstm")
    with pytest.raises(ValueError, match="my_lstm"):
        lam(np.zeros((B, D), "float32"))
    with pytest.raises(ValueError, match="my_lstm"):
        lam(lamina.Input((D,)))
    with pytest.raises(ValueError, match="units"):
        L.LSTM(0)
    with pytest.raises(ValueError, match="use_cudnn"):
        L.LSTM(U, use_cudnn="yes")


def _embedding_model(K, return_sequences):
    inp = K.Input((T,), dtype="int32")
    x = K.layers.Embedding(7, D, mask_zero=True)(inp)
    x = K.layers.LSTM(U, return_sequences=return_sequences)(x)
    out = K.layers.Dense(2)(x)
    return K.Model(inp, out)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_embedding_mask_in_functional_model(return_sequences):
    km, lm = _embedding_model(keras, return_sequences), _embedding_model(lamina,
                                                                        return_sequences)
    randomize(km, seed=4)
    copy_weights(km, lm)
    tokens = np.array([[3, 1, 0, 0, 0], [0, 0, 2, 5, 6]], dtype="int32")
    assert_close(lm(tokens), km(tokens))


def test_sequential_with_masking_layer_and_jit():
    def build(K):
        return K.Sequential([K.Input((T, D)), K.layers.Masking(0.0), K.layers.LSTM(U)])

    km, lm = build(keras), build(lamina)
    randomize(km, seed=8)
    copy_weights(km, lm)
    padded = X.copy()
    padded[0, 3:] = 0.0
    padded[1, :2] = 0.0
    assert_close(lm(padded), km(padded))
    lam = lm.layers[-1]
    fn = jax.jit(lambda tv, x: lam.stateless_call(tv, [], x)[0])
    assert_close(fn([v.value for v in lam.trainable_variables], X), km.layers[-1](X))


def test_shared_lstm_on_two_inputs():
    def build(K):
        a, b = K.Input((T, D)), K.Input((T, D))
        shared = K.layers.LSTM(U)
        merged = K.layers.concatenate([shared(a), shared(b)], axis=-1)
        out = K.layers.Dense(1, activation="sigmoid")(merged)
        return K.Model([a, b], out)

    km, lm = build(keras), build(lamina)
    randomize(km, seed=5)
    copy_weights(km, lm)
    assert len(lm.weights) == len(km.weights) == 5
    assert lm.count_params() == km.count_params() == 4 * U * (D + U + 1) + 2 * U + 1
    x2 = X[::-1] * 0.5
    assert_close(lm([X, x2]), km([X, x2]))


def test_symbolic_return_state_and_initial_state_inputs():
    def build(K):
        seq, h, c = K.Input((T, D)), K.Input((U,)), K.Input((U,))
        out, hh, cc = K.layers.LSTM(U, return_sequences=True, return_state=True)(
            seq, initial_state=[h, c])
        return K.Model([seq, h, c], [out, hh, cc])

    km, lm = build(keras), build(lamina)
    assert [tuple(t.shape) for t in lm.outputs] == [(None, T, U), (None, U), (None, U)]
    randomize(km, seed=6)
    copy_weights(km, lm)
    h0 = RNG.normal(size=(B, U)).astype("float32")
    c0 = RNG.normal(size=(B, U)).astype("float32")
    assert_close(lm([X, h0, c0]), km([X, h0, c0]))


def test_dropout_training_statistics_and_inference_identity():
    # Gates saturated (i = o = 1, f = 0), kernel = identity on the candidate block and no
    # recurrence: h_t = tanh(tanh(x_t * m)), so the input dropout mask m can be read back.
    units, batch = 16, 64
    lam = L.LSTM(units, dropout=0.5, return_sequences=True, seed=7)
    x = np.full((batch, 3, units), 0.3, "float32")
    lam(x)
    kernel = np.zeros((units, 4 * units), "float32")
    kernel[:, 2 * units:3 * units] = np.eye(units)
    bias = np.r_[np.full(units, 30.0), np.full(units, -30.0), np.zeros(units),
                 np.full(units, 30.0)].astype("float32")
    lam.set_weights([kernel, np.zeros((units, 4 * units), "float32"), bias])
    tv = [v.value for v in lam.trainable_variables]
    out = np.asarray(lam.stateless_call(tv, [], x, training=True, seed=0)[0])
    m = np.arctanh(np.arctanh(out)) / 0.3
    assert np.all(np.isclose(m, 0.0, atol=1e-3) | np.isclose(m, 2.0, atol=1e-2))
    assert 0.4 < np.mean(m < 1.0) < 0.6
    np.testing.assert_allclose(m[:, 0], m[:, 2], atol=1e-2)  # one mask for all timesteps
    again = np.asarray(lam.stateless_call(tv, [], x, training=True, seed=0)[0])
    other = np.asarray(lam.stateless_call(tv, [], x, training=True, seed=1)[0])
    np.testing.assert_array_equal(out, again)
    assert not np.allclose(out, other)
    inference = np.asarray(lam.stateless_call(tv, [], x, training=False)[0])
    np.testing.assert_allclose(np.arctanh(np.arctanh(inference)) / 0.3, 1.0, atol=1e-3)


def test_recurrent_dropout_per_gate_statistics():
    # No input; h0 = 1 feeds the candidate block through an identity recurrent kernel:
    # h_1 = tanh(tanh(r_c)) with r_c the candidate gate's recurrent mask.
    units, batch = 16, 64
    lam = L.LSTM(units, recurrent_dropout=0.5, seed=3)
    x = np.zeros((batch, 1, 2), "float32")
    lam(x, initial_state=[jnp.ones((batch, units)), jnp.zeros((batch, units))])
    rec = np.zeros((units, 4 * units), "float32")
    rec[:, 2 * units:3 * units] = np.eye(units)
    bias = np.r_[np.full(units, 30.0), np.full(units, -30.0), np.zeros(units),
                 np.full(units, 30.0)].astype("float32")
    lam.set_weights([np.zeros((2, 4 * units), "float32"), rec, bias])
    tv = [v.value for v in lam.trainable_variables]
    h0, c0 = jnp.ones((batch, units)), jnp.zeros((batch, units))
    out = np.asarray(lam.stateless_call(tv, [], x, initial_state=[h0, c0], training=True,
                                        seed=0)[0])
    r = np.arctanh(np.arctanh(out))
    assert np.all(np.isclose(r, 0.0, atol=1e-3) | np.isclose(r, 2.0, atol=1e-2))
    assert 0.4 < np.mean(r < 1.0) < 0.6
