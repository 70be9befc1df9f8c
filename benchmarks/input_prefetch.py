"""A slow input pipeline with and without prefetching (a benchmark, not a test).

The source is a generator whose batches take ``--input-ms`` to produce (a wait
standing for file reads, 80%, plus a NumPy decode, 20%); the model's
step takes a comparable time. Without read-ahead every step waits for its batch;
with it (lamina's default, 2 batches) the next batch is read and put on the device
while the current step runs, so an epoch takes about max(input, step) per batch
instead of their sum.

    python benchmarks/input_prefetch.py
    python benchmarks/input_prefetch.py --input-ms 30 --steps 40 --width 1024
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina
from lamina.training import prefetch


def slow_batches(x, y, batch_size: int, input_ms: float, epochs: int):
    """Yields ``(x, y)`` batches, each after ``input_ms`` of I/O-like waiting and a
    NumPy decode (both release the GIL)."""
    rng = np.random.default_rng(0)
    n = len(x)
    for _ in range(epochs):
        for start in range(0, n - batch_size + 1, batch_size):
            time.sleep(input_ms * 0.8 / 1000)  # reading
            noise = rng.normal(size=(batch_size, x.shape[1])).astype("float32")
            deadline = time.perf_counter() + input_ms * 0.2 / 1000
            while time.perf_counter() < deadline:  # decoding: NumPy work
                noise = np.tanh(noise) * 0.999
            yield x[start:start + batch_size] + 0.0 * noise, y[start:start + batch_size]


def build(width: int, features: int):
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((features,))
    h = inputs
    for _ in range(3):
        h = lamina.layers.Dense(width, activation="relu")(h)
    model = lamina.Model(inputs, lamina.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="mse")
    return model


def time_step(model, x, y, batch_size: int, repeats: int = 20) -> float:
    """Milliseconds of one training step on in-memory data (compiled, warm)."""
    model.fit(x[:batch_size], y[:batch_size], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x[:batch_size * repeats], y[:batch_size * repeats], batch_size=batch_size,
              shuffle=False, verbose=0)
    return (time.perf_counter() - start) * 1000 / repeats


def run(depth: int, args, x, y) -> float:
    prefetch.set_prefetch_batches(depth)
    model = build(args.width, args.features)
    model.fit(slow_batches(x, y, args.batch_size, 0.0, 1), steps_per_epoch=2, verbose=0)
    start = time.perf_counter()
    model.fit(slow_batches(x, y, args.batch_size, args.input_ms, 1), steps_per_epoch=args.steps,
              verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-ms", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--features", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    n = args.batch_size * (args.steps + 2)
    x = rng.normal(size=(n, args.features)).astype("float32")
    y = rng.normal(size=(n, 1)).astype("float32")
    step_ms = time_step(build(args.width, args.features), x, y, args.batch_size)
    default = prefetch.prefetch_batches()
    try:
        off = run(0, args, x, y)
        on = run(default, args, x, y)
    finally:
        prefetch.set_prefetch_batches(default)
    per_off, per_on = off * 1000 / args.steps, on * 1000 / args.steps
    print(f"step alone {step_ms:7.1f} ms | input alone {args.input_ms:7.1f} ms | "
          f"sum {step_ms + args.input_ms:7.1f} ms | max {max(step_ms, args.input_ms):7.1f} ms")
    print(f"prefetch off {per_off:7.1f} ms/step")
    print(f"prefetch on  {per_on:7.1f} ms/step ({default} batches ahead; "
          f"{off / on:.2f}x faster)")


if __name__ == "__main__":
    main()
