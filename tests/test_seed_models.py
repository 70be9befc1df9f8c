"""The guide's models built in lamina and in Keras 3: same parameters, same outputs."""

import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina

RNG = np.random.default_rng(3)


def headline(K):
    main_input = K.Input(shape=(100,), dtype="int32", name="main_input")
    x = K.layers.Embedding(output_dim=512, input_dim=10000)(main_input)
    lstm_out = K.layers.LSTM(32)(x)
    auxiliary_output = K.layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = K.Input(shape=(5,), name="aux_input")
    x = K.layers.concatenate([lstm_out, auxiliary_input])
    x = K.layers.Dense(64, activation="relu")(x)
    x = K.layers.Dense(64, activation="relu")(x)
    x = K.layers.Dense(64, activation="relu")(x)
    main_output = K.layers.Dense(1, activation="sigmoid", name="main_output")(x)
    return K.Model(inputs=[main_input, auxiliary_input], outputs=[main_output, auxiliary_output])


def tweets(K):
    tweet_a = K.Input(shape=(280, 256))
    tweet_b = K.Input(shape=(280, 256))
    shared_lstm = K.layers.LSTM(64)
    merged = K.layers.concatenate([shared_lstm(tweet_a), shared_lstm(tweet_b)], axis=-1)
    return K.Model(inputs=[tweet_a, tweet_b],
                   outputs=K.layers.Dense(1, activation="sigmoid")(merged))


@pytest.mark.parametrize("builder,expected_params", [(headline, 5_200_610), (tweets, 82_305)])
def test_seed_model_parameter_counts_and_layers(builder, expected_params):
    km, lm = builder(keras), builder(lamina)
    assert lm.count_params() == km.count_params() == expected_params
    assert [type(x).__name__ for x in lm.layers] == [type(x).__name__ for x in km.layers]
    assert [w.shape for w in lm.weights] == [tuple(w.shape) for w in km.weights]


def test_headline_outputs_match_keras():
    km, lm = headline(keras), headline(lamina)
    copy_weights(km, lm)
    tokens = RNG.integers(1, 10000, (2, 100)).astype("int32")
    aux = RNG.standard_normal((2, 5)).astype("float32")
    assert_close(lm([tokens, aux]), km([tokens, aux]))


def test_tweet_model_shares_one_lstm_and_matches_keras():
    km, lm = tweets(keras), tweets(lamina)
    lstm = [x for x in lm.layers if type(x).__name__ == "LSTM"]
    assert len(lstm) == 1 and len(lstm[0]._inbound_nodes) == 2
    copy_weights(km, lm)
    a = (RNG.random((2, 280, 256)) < 0.01).astype("float32")
    b = (RNG.random((2, 280, 256)) < 0.01).astype("float32")
    assert_close(lm([a, b]), km([a, b]))
