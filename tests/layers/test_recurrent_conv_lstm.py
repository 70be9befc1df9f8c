"""ConvLSTM1D/2D/3D against Keras 3 (outputs, states, weights, configs) and masking."""

import json

import numpy as np
import pytest
from _recurrent_testlib import L, assert_close, compare, config_without_names, keras, pair

RNG = np.random.default_rng(3)

CASES = [
    ("ConvLSTM2D", (2, 3, 2, 6, 5), dict(kernel_size=(3, 2), strides=2, padding="same",
                                         data_format="channels_first", go_backwards=True,
                                         return_state=True)),
    ("ConvLSTM1D", (2, 3, 7, 2), dict(kernel_size=3, dilation_rate=2, padding="same",
                                      return_sequences=True)),
    ("ConvLSTM3D", (2, 2, 4, 4, 3, 2), dict(kernel_size=2, return_state=True)),
]


@pytest.mark.parametrize("name,shape,kwargs", CASES)
def test_conv_lstm_matches_keras(name, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    k, lam = pair(name, 4, x=x, **kwargs)
    assert [(w.path, tuple(w.shape)) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    compare(k, lam, x)
    assert float(np.std(np.asarray(lam(x)[0] if kwargs.get("return_state") else lam(x)))) > 0
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())


def test_conv_lstm_config_round_trip_and_initial_state():
    x = RNG.normal(size=(2, 3, 6, 5, 2)).astype("float32")
    k, lam = pair("ConvLSTM2D", 4, x=x, kernel_size=3, padding="same", return_sequences=True,
                  dropout=0.2, seed=1, name="clstm")
    states = [RNG.normal(size=(2, 6, 5, 4)).astype("float32") for _ in range(2)]
    zeros = [np.zeros((2, 6, 5, 4), "float32")] * 2
    assert_close(lam(x, initial_state=zeros), lam(x))
    clone = L.ConvLSTM2D.from_config(json.loads(json.dumps(lam.get_config())))
    clone.build(x.shape)
    clone.set_weights(lam.get_weights())
    assert_close(clone(x, initial_state=states), lam(x, initial_state=states))
    train = lam.stateless_call([v.value for v in lam.trainable_variables], [], x,
                               training=True, seed=0)[0]
    assert not np.allclose(np.asarray(train), np.asarray(lam(x)))
    rebuilt = keras.layers.ConvLSTM2D.from_config(lam.get_config())
    assert config_without_names(rebuilt.get_config()) == config_without_names(k.get_config())


def test_conv_lstm_mask_carries_state():
    # (Keras's ConvLSTM cannot broadcast a (batch, time) mask; lamina's can.)
    x = RNG.normal(size=(2, 3, 5, 5, 2)).astype("float32")
    lam = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, return_state=True)
    mask = np.array([[True, True, False], [True, False, True]])
    out, h, c = lam(x, mask=mask)
    full, h_full, _ = lam(x)
    assert_close(out[0, 2], out[0, 1])  # masked step repeats the previous output
    assert_close(h[0], full[0, 1])  # and keeps the state of the last unmasked step
    assert_close(out[1, 0], full[1, 0])


def test_conv_lstm_errors_name_the_layer():
    with pytest.raises(ValueError, match="bad_clstm"):
        L.ConvLSTM2D(4, 3, name="bad_clstm")(np.zeros((2, 3, 5, 2), "float32"))
    with pytest.raises(ValueError, match="filters"):
        L.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        L.ConvLSTM2D(4, 3, padding="full")
