"""Layers with state or recurrence trained by fit, against Keras 3 after the same steps."""

import numpy as np
from oracle import assert_close, copy_weights, keras

import lamina

RNG = np.random.default_rng(5)
TOL = dict(rtol=2e-4, atol=2e-5)


def conv_bn(K):
    inputs = K.Input((6, 6, 2))
    x = K.layers.Conv2D(3, 3, padding="same")(inputs)
    x = K.layers.BatchNormalization()(x)
    x = K.layers.MaxPooling2D()(x)  # its gradient under jit needs a concrete init value
    x = K.layers.GlobalAveragePooling2D()(x)
    return K.Model(inputs, K.layers.Dense(1)(x))


def recurrent(K):
    inputs = K.Input((5, 3))
    x = K.layers.LSTM(4, return_sequences=True)(inputs)
    x = K.layers.GRU(3)(x)
    return K.Model(inputs, K.layers.Dense(1)(x))


def _trained_pair(builder, x, y):
    km, lm = builder(keras), builder(lamina)
    copy_weights(km, lm)
    for m in (km, lm):
        m.compile("adam", "mse")
    hk = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    hl = lm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return km, lm, hk, hl


def test_batchnorm_moving_statistics_follow_keras_in_fit_only():
    x = RNG.standard_normal((16, 6, 6, 2)).astype("float32") * 3 + 1
    y = RNG.standard_normal((16, 1)).astype("float32")
    km, lm, hk, hl = _trained_pair(conv_bn, x, y)
    assert_close(hl.history["loss"], hk.history["loss"], **TOL)
    bn = lm.layers[2]
    moving = [bn.moving_mean.numpy(), bn.moving_variance.numpy()]
    assert not np.allclose(moving[0], 0.0)  # fit updated them
    assert_close(lm.get_weights(), km.get_weights(), **TOL)
    lm.predict(x, verbose=0)
    lm.evaluate(x, y, verbose=0)
    assert_close([bn.moving_mean.numpy(), bn.moving_variance.numpy()], moving)
    assert_close(lm.predict(x, verbose=0), km.predict(x, verbose=0), **TOL)


def test_lstm_and_gru_train_like_keras():
    x = RNG.standard_normal((16, 5, 3)).astype("float32")
    y = RNG.standard_normal((16, 1)).astype("float32")
    km, lm, hk, hl = _trained_pair(recurrent, x, y)
    assert_close(hl.history["loss"], hk.history["loss"], **TOL)
    assert_close(lm.get_weights(), km.get_weights(), **TOL)
