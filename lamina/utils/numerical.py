"""Small array utilities from ``keras.utils``."""

from __future__ import annotations

import numpy as np

from lamina import random as _random


def set_random_seed(seed: int) -> None:
    """Fixes the global seed: same seed, same initial weights, dropout masks and shuffles."""
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, received {type(seed).__name__}: {seed!r}")
    _random.set_global_seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """Converts a class vector of integers to a one-hot float32 matrix."""
    x = np.asarray(x, dtype="int64")
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    x = x.reshape(-1)
    if num_classes is None:
        num_classes = int(x.max()) + 1
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: class indices must lie in [0, {num_classes}), "
                         f"received values from {x.min()} to {x.max()}.")
    out = np.zeros((x.size, num_classes), dtype="float32")
    out[np.arange(x.size), x] = 1.0
    return out.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Normalizes ``x`` to unit ``order``-norm along ``axis``."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)
