"""Every model of the Keras functional-API guide, trained and evaluated on lamina.

The guide's code runs unchanged with ``import lamina as keras``; the data is
generated here, with labels that depend on the inputs so each model can learn:

1. the 784-64-64-10 softmax classifier (noisy class prototypes);
2. that model re-applied to a new ``Input`` (same weights, same predictions);
3. ``TimeDistributed(model)`` over sequences of 20 such vectors;
4. the two-input, two-output headline model (Embedding 10000x512, LSTM(32),
   auxiliary input and output) compiled as the guide does (one loss and
   ``loss_weights=[1., .2]``), then recompiled with dicts and trained on dicts;
5. the shared-LSTM tweet model over two (280, 256) one-hot sequences.

    python examples/seed_examples.py            # all of them
    python examples/seed_examples.py --quick    # smaller data, for smoke tests
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina as keras
from lamina.layers import LSTM, Dense, Embedding, Input, TimeDistributed, concatenate
from lamina.models import Model


def prototype_data(rng, n: int, noise: float = 0.8):
    """784-feature vectors near one of 10 random class prototypes; one-hot labels."""
    prototypes = rng.standard_normal((10, 784)).astype("float32")
    classes = rng.integers(0, 10, n)
    data = prototypes[classes] + noise * rng.standard_normal((n, 784)).astype("float32")
    return data, keras.utils.to_categorical(classes, 10), prototypes


def dense_classifier(rng, n: int, epochs: int):
    data, labels, prototypes = prototype_data(rng, n)
    # this returns a tensor
    inputs = Input(shape=(784,))
    # a layer instance is callable on a tensor, and returns a tensor
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    predictions = Dense(10, activation="softmax")(x)
    # this creates a model that includes the Input layer and three Dense layers
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data, labels, epochs=epochs, verbose=0)
    return model, history, prototypes


def reapplied(model, rng):
    x = Input(shape=(784,))
    # this works, and returns the 10-way softmax we defined above.
    y = model(x)
    same_weights = Model(x, y)
    probe = rng.standard_normal((8, 784)).astype("float32")
    gap = float(np.max(np.abs(same_weights.predict(probe, verbose=0) -
                              model.predict(probe, verbose=0))))
    return same_weights, gap


def video_classifier(model, prototypes, rng, n: int, epochs: int):
    # Input tensor for sequences of 20 timesteps, each containing a 784-dimensional vector
    input_sequences = Input(shape=(20, 784))
    # this applies our previous model to every timestep in the input sequences.
    processed_sequences = TimeDistributed(model)(input_sequences)
    video = Model(input_sequences, processed_sequences)
    classes = rng.integers(0, 10, (n, 20))
    frames = prototypes[classes] + 0.8 * rng.standard_normal((n, 20, 784)).astype("float32")
    video.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    history = video.fit(frames, keras.utils.to_categorical(classes, 10), epochs=epochs,
                        verbose=0)
    return video, history


def headline_data(rng, n: int):
    """Headlines of 100 word ids; the label is whether the last word is a 'hot' word
    (ids 1..50 of the 100 in use). The auxiliary input carries a noisy copy of it."""
    headline_data = rng.integers(1, 101, (n, 100)).astype("int32")
    labels = (headline_data[:, -1] <= 50).astype("float32")[:, None]
    additional_data = rng.standard_normal((n, 5)).astype("float32")
    additional_data[:, 0] += 2.0 * (labels[:, 0] - 0.5)
    return headline_data, additional_data, labels


def headline_model(rng, n: int, epochs: int):
    headline, additional_data, labels = headline_data(rng, n)
    main_input = Input(shape=(100,), dtype="int32", name="main_input")
    x = Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    lstm_out = LSTM(32)(x)
    auxiliary_output = Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = Input(shape=(5,), name="aux_input")
    x = concatenate([lstm_out, auxiliary_input])
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    x = Dense(64, activation="relu")(x)
    main_output = Dense(1, activation="sigmoid", name="main_output")(x)
    model = Model(inputs=[main_input, auxiliary_input], outputs=[main_output, auxiliary_output])
    # As in the guide: one loss for both outputs, the auxiliary loss weighted 0.2.
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", loss_weights=[1., .2],
                  metrics=["accuracy"])
    start = time.perf_counter()
    first = model.fit([headline, additional_data], [labels, labels], epochs=epochs,
                      batch_size=32, verbose=0)
    seconds = [time.perf_counter() - start]
    model.compile(optimizer="rmsprop",
                  loss={"main_output": "binary_crossentropy", "aux_output": "binary_crossentropy"},
                  loss_weights={"main_output": 1., "aux_output": 0.2}, metrics=["accuracy"])
    second = model.fit({"main_input": headline, "aux_input": additional_data},
                       {"main_output": labels, "aux_output": labels}, epochs=epochs,
                       batch_size=32, verbose=0)
    seconds.append(time.perf_counter() - start - seconds[0])
    return model, first, second, seconds


def tweet_data(rng, n: int, length: int = 280, alphabet: int = 256):
    """Pairs of one-hot 'tweets' of 280 characters. Each author has a style: the share
    of characters drawn from the upper half of the alphabet. The label says whether
    the first tweet's author leans further towards the upper half than the second's.

    (Whether two tweets share an author, the guide's story, is an equality test that
    a sigmoid over the concatenated encodings cannot express, so the synthetic task
    asks a comparison instead; the model is the guide's, unchanged.)
    """
    style = rng.uniform(0.0, 1.0, (n, 2))
    upper = rng.random((n, 2, length)) < style[:, :, None]
    chars = rng.integers(0, alphabet // 2, (n, 2, length)) + upper * (alphabet // 2)
    one_hot = np.zeros((n, 2, length, alphabet), "float32")
    np.put_along_axis(one_hot, chars[..., None], 1.0, axis=-1)
    labels = (style[:, 0] > style[:, 1]).astype("float32")[:, None]
    return one_hot[:, 0], one_hot[:, 1], labels


def tweet_model(rng, n: int, epochs: int):
    data_a, data_b, labels = tweet_data(rng, n)
    tweet_a = Input(shape=(280, 256))
    tweet_b = Input(shape=(280, 256))
    # This layer can take as input a matrix and will return a vector of size 64
    shared_lstm = LSTM(64)
    # When we reuse the same layer instance multiple times, the weights are reused too
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged_vector = concatenate([encoded_a, encoded_b], axis=-1)
    predictions = Dense(1, activation="sigmoid")(merged_vector)
    model = Model(inputs=[tweet_a, tweet_b], outputs=predictions)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit([data_a, data_b], labels, epochs=epochs, verbose=0)
    return model, history


def _report(title: str, history, seconds: float) -> None:
    print(f"\n== {title} ({seconds:.1f} s)")
    for key, values in history.history.items():
        print(f"   {key:24s} " + " ".join(f"{v:.4f}" for v in values))


def main(quick: bool = False) -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    scale = 4 if quick else 1
    results = {}

    start = time.perf_counter()
    model, history, prototypes = dense_classifier(rng, 2048 // scale, epochs=3)
    _report("784-64-64-10 classifier", history, time.perf_counter() - start)
    results["classifier"] = history

    _, gap = reapplied(model, rng)
    print(f"\n== model re-applied to a new Input: max prediction difference {gap:.2e}")
    results["reapplied_gap"] = gap

    start = time.perf_counter()
    _, history = video_classifier(model, prototypes, rng, 256 // scale, epochs=2)
    _report("TimeDistributed(model) over 20 frames", history, time.perf_counter() - start)
    results["video"] = history

    _, first, second, seconds = headline_model(rng, 1024 // scale, epochs=4)
    _report("headline model, loss='binary_crossentropy', loss_weights=[1., .2]", first,
            seconds[0])
    _report("headline model, dict losses and dict data", second, seconds[1])
    results["headline_seconds"] = seconds
    results["headline"] = (first, second)

    start = time.perf_counter()
    _, history = tweet_model(rng, 384 // scale, epochs=4)
    _report("shared-LSTM tweet model", history, time.perf_counter() - start)
    results["tweets"] = history
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Train the functional-API guide's models.")
    parser.add_argument("--quick", action="store_true", help="smaller data sets")
    main(parser.parse_args().quick)
