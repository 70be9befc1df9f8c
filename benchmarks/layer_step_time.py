"""Training step time of LSTM, GRU and Conv2D models: lamina vs Keras 3 (JAX backend).

Each model trains for one warm-up epoch (compilation) and then one timed epoch
in each library, in the same process, on the same data; the ratio is Keras time
over lamina time (> 1: lamina is faster).

    python benchmarks/layer_step_time.py [--samples 2048] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def lstm_model(K):
    inputs = K.Input((32, 16))
    x = K.layers.LSTM(64)(inputs)
    return K.Model(inputs, K.layers.Dense(1)(x))


def gru_model(K):
    inputs = K.Input((32, 16))
    x = K.layers.GRU(64)(inputs)
    return K.Model(inputs, K.layers.Dense(1)(x))


def conv_model(K):
    inputs = K.Input((28, 28, 1))
    x = K.layers.Conv2D(32, 3, activation="relu")(inputs)
    x = K.layers.MaxPooling2D()(x)
    x = K.layers.Conv2D(32, 3, activation="relu")(x)
    x = K.layers.GlobalAveragePooling2D()(x)
    return K.Model(inputs, K.layers.Dense(1)(x))


MODELS = {"LSTM(64)": (lstm_model, (32, 16)), "GRU(64)": (gru_model, (32, 16)),
          "Conv2D x2": (conv_model, (28, 28, 1))}


def step_time(K, builder, x, y, batch_size: int) -> float:
    model = builder(K)
    model.compile("adam", "mse")
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return (time.perf_counter() - start) / (len(x) // batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras

    import lamina

    rng = np.random.default_rng(0)
    for name, (builder, shape) in MODELS.items():
        x = rng.standard_normal((args.samples,) + shape).astype("float32")
        y = rng.standard_normal((args.samples, 1)).astype("float32")
        t_keras = step_time(keras, builder, x, y, args.batch_size)
        t_lamina = step_time(lamina, builder, x, y, args.batch_size)
        print(f"{name:10s} keras {t_keras * 1e3:7.2f} ms/step | lamina {t_lamina * 1e3:7.2f} "
              f"ms/step | ratio keras/lamina {t_keras / t_lamina:5.2f}x")


if __name__ == "__main__":
    main()
