"""One epoch of fit for the seed's 784-64-64-10 classifier: lamina vs Keras 3 (JAX backend).

60,000 samples, batch 32 (1,875 steps), RMSprop, categorical cross-entropy with
accuracy, verbose=0. Each library first runs a warm-up epoch (compilation), then
the timed epochs; the ratio is Keras time / lamina time (> 1: lamina is faster).

    python benchmarks/fit_throughput.py [--samples 60000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def build(K):
    inputs = K.Input(shape=(784,))
    x = K.layers.Dense(64, activation="relu")(inputs)
    x = K.layers.Dense(64, activation="relu")(x)
    outputs = K.layers.Dense(10, activation="softmax")(x)
    model = K.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def time_fit(K, x, y, epochs: int, batch_size: int) -> tuple[float, float]:
    model = build(K)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    first = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return first, (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)]

    import keras

    import lamina

    results = {}
    for name, K in (("keras", keras), ("lamina", lamina)):
        first, per_epoch = time_fit(K, x, y, args.epochs, args.batch_size)
        results[name] = per_epoch
        steps = -(-args.samples // args.batch_size)
        print(f"{name:7s} first epoch (with compile) {first:7.2f} s | steady epoch "
              f"{per_epoch:7.3f} s | {per_epoch / steps * 1e6:8.1f} us/step")
    print(f"ratio keras/lamina (steady epoch): {results['keras'] / results['lamina']:.2f}x")


if __name__ == "__main__":
    main()
