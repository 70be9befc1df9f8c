"""Bidirectional against Keras 3: merge modes, masks, states, weights order, configs."""

import json

import numpy as np
import pytest
from _recurrent_testlib import (
    MASK,
    RNG,
    B,
    L,
    T,
    U,
    X,
    assert_close,
    compare,
    config_without_names,
    copy_weights,
    keras,
    randomize,
)

import lamina


def bi_pair(inner="LSTM", x=X, backward=None, inner_kwargs=None, **kwargs):
    inner_kwargs = inner_kwargs or {}
    inner_kwargs.setdefault("name", inner.lower())
    k = keras.layers.Bidirectional(getattr(keras.layers, inner)(U, **inner_kwargs),
                                   backward_layer=None if backward is None else backward[0],
                                   **kwargs)
    lam = L.Bidirectional(getattr(L, inner)(U, **inner_kwargs),
                          backward_layer=None if backward is None else backward[1], **kwargs)
    k.build(x.shape)
    randomize(k)
    lam.build(x.shape)
    copy_weights(k, lam)
    return k, lam


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_merge_modes_with_mask_match_keras(merge_mode):
    k, lam = bi_pair(merge_mode=merge_mode, inner_kwargs={"return_sequences": True})
    compare(k, lam, X, mask=MASK)
    out = lam(X)
    if merge_mode is None:
        assert isinstance(out, tuple) and [o.shape for o in out] == [(B, T, U)] * 2
    else:
        assert out.shape == (B, T, 2 * U if merge_mode == "concat" else U)


@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_return_state_and_initial_state_match_keras(merge_mode):
    k, lam = bi_pair("GRU", merge_mode=merge_mode, inner_kwargs={"return_state": True})
    states = [RNG.normal(size=(B, U)).astype("float32") for _ in range(2)]
    compare(k, lam, X, initial_state=states)
    out = lam(X, initial_state=states)
    assert len(out) == (4 if merge_mode is None else 3)


def test_weights_order_paths_and_names():
    k, lam = bi_pair(name="bi_w")
    assert [w.path for w in lam.weights] == [w.path for w in k.weights]
    assert lam.weights[0].path == "bi_w/forward_lstm/lstm_cell/kernel"
    assert lam.weights[3].path == "bi_w/backward_lstm/lstm_cell/kernel"
    assert lam.forward_layer.name == "forward_lstm" and lam.backward_layer.name == (
        "backward_lstm")
    assert lam.backward_layer.go_backwards and not lam.forward_layer.go_backwards
    assert lam.count_params() == k.count_params()


def test_config_matches_keras_and_round_trips():
    k, lam = bi_pair(merge_mode="ave", inner_kwargs={"return_sequences": True, "dropout": 0.1})
    kc, lc = k.get_config(), lam.get_config()
    assert config_without_names(lc) == config_without_names(kc)
    assert lc["layer"]["config"]["zero_output_for_mask"] is True
    clone = L.Bidirectional.from_config(json.loads(json.dumps(lc)))
    clone.build(X.shape)
    clone.set_weights(lam.get_weights())
    assert_close(clone(X, mask=MASK), lam(X, mask=MASK))
    rebuilt = keras.layers.Bidirectional.from_config(json.loads(json.dumps(lc)))
    assert config_without_names(rebuilt.get_config()) == config_without_names(kc)


def test_custom_backward_layer_matches_keras():
    backward = (keras.layers.SimpleRNN(U, go_backwards=True, return_sequences=True),
                L.SimpleRNN(U, go_backwards=True, return_sequences=True))
    k, lam = bi_pair("SimpleRNN", merge_mode="sum", backward=backward,
                     inner_kwargs={"return_sequences": True})
    compare(k, lam, X, mask=MASK)
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="merge mode"):
        L.Bidirectional(L.LSTM(U), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.LSTM(U), backward_layer=L.LSTM(U))
    with pytest.raises(ValueError, match="return_sequences"):
        L.Bidirectional(L.LSTM(U), backward_layer=L.LSTM(U, go_backwards=True,
                                                          return_sequences=True))
    with pytest.raises(ValueError):
        L.Bidirectional(L.Dense(U))
    with pytest.raises(ValueError, match="bi_rank"):
        L.Bidirectional(L.LSTM(U), name="bi_rank")(np.zeros((B, U), "float32"))


def _masked_model(K):
    inp = K.Input((T,), dtype="int32")
    x = K.layers.Embedding(6, 3, mask_zero=True, name="emb")(inp)
    x = K.layers.Bidirectional(K.layers.GRU(U, return_sequences=True, name="gru"),
                               name="bi_gru")(x)
    x = K.layers.Bidirectional(K.layers.LSTM(U, name="lstm"), merge_mode="sum",
                               name="bi_lstm")(x)
    return K.Model(inp, K.layers.Dense(1, activation="sigmoid", name="out")(x))


def test_stacked_bidirectional_in_functional_model_with_embedding_mask():
    km, lm = _masked_model(keras), _masked_model(lamina)
    randomize(km, seed=9)
    copy_weights(km, lm)
    assert [w.path for w in lm.weights] == [w.path for w in km.weights]
    tokens = np.array([[1, 2, 3, 0, 0], [0, 5, 4, 1, 2]], "int32")
    assert_close(lm(tokens), km(tokens))
