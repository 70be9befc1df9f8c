"""Shared data and comparison helpers for the loss tests (Keras 3 is the oracle)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6


def make_data(kind: str, seed: int = 0):
    """A ``(y_true, y_pred)`` pair of the given kind from a fixed NumPy seed."""
    rng = np.random.default_rng(seed)
    if kind == "real":  # regression targets and predictions
        return rng.normal(size=(4, 5)).astype("f4"), rng.normal(size=(4, 5)).astype("f4")
    if kind == "real3d":
        return rng.normal(size=(2, 3, 5)).astype("f4"), rng.normal(size=(2, 3, 5)).astype("f4")
    if kind == "positive":  # counts / positive values
        return (rng.uniform(0, 3, (4, 5)).astype("f4"), rng.uniform(0.1, 3, (4, 5)).astype("f4"))
    if kind == "binary":  # 0/1 labels, probabilities
        return (rng.integers(0, 2, (4, 5)).astype("f4"),
                rng.uniform(0.01, 0.99, (4, 5)).astype("f4"))
    if kind == "binary_logits":
        return rng.integers(0, 2, (4, 5)).astype("f4"), rng.normal(0, 3, (4, 5)).astype("f4")
    if kind == "binary_edge":  # probabilities exactly 0 and 1 exercise the epsilon clipping
        y_true = np.array([[1, 0, 1, 1, 0], [0, 1, 0, 1, 0], [1, 1, 0, 0, 1], [0, 0, 1, 1, 1]],
                          "f4")
        y_pred = np.array([[0, 1, 0.5, 1e-9, 1 - 1e-9], [1, 0, 0, 1, 1], [1, 1, 0, 0, 1],
                           [0.2, 1e-8, 1, 0.7, 0]], "f4")
        return y_true, y_pred
    if kind == "signed":  # {-1, 1} labels and real scores
        return (rng.choice([-1.0, 1.0], (4, 5)).astype("f4"), rng.normal(size=(4, 5)).astype("f4"))
    if kind == "onehot":
        return (np.eye(5, dtype="f4")[rng.integers(0, 5, 4)],
                rng.dirichlet(np.ones(5), 4).astype("f4"))
    if kind == "onehot_unnormalized":  # probabilities not summing to 1, with exact zeros
        y_pred = rng.uniform(0, 2, (4, 5)).astype("f4")
        y_pred[0, :2] = 0.0
        return np.eye(5, dtype="f4")[[0, 1, 2, 3]], y_pred
    if kind == "onehot_logits":
        return np.eye(5, dtype="f4")[rng.integers(0, 5, 4)], rng.normal(0, 3, (4, 5)).astype("f4")
    if kind == "onehot3d":
        return (np.eye(5, dtype="f4")[rng.integers(0, 5, (2, 3))],
                rng.dirichlet(np.ones(5), (2, 3)).astype("f4"))
    if kind == "distribution":
        return (rng.dirichlet(np.ones(5), 4).astype("f4"), rng.dirichlet(np.ones(5), 4).astype("f4"))
    if kind == "sparse":
        return rng.integers(0, 5, (4,)).astype("int32"), rng.dirichlet(np.ones(5), 4).astype("f4")
    if kind == "sparse_col":
        return rng.integers(0, 5, (4, 1)).astype("int32"), rng.dirichlet(np.ones(5), 4).astype("f4")
    if kind == "sparse_float":
        return rng.integers(0, 5, (4,)).astype("f4"), rng.dirichlet(np.ones(5), 4).astype("f4")
    if kind == "sparse_logits":
        return rng.integers(0, 5, (4,)).astype("int32"), rng.normal(0, 3, (4, 5)).astype("f4")
    if kind == "sparse_seq":
        return (rng.integers(0, 5, (2, 3)).astype("int32"),
                rng.dirichlet(np.ones(5), (2, 3)).astype("f4"))
    if kind == "mask3d":  # segmentation-like masks
        return ((rng.random((2, 3, 5)) > 0.5).astype("f4"), rng.random((2, 3, 5)).astype("f4"))
    if kind == "embeddings":  # integer labels and unit-norm embeddings
        emb = rng.normal(size=(6, 4)).astype("f4")
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        return np.array([0, 1, 0, 2, 1, 0], "int32"), emb
    if kind == "ctc":  # 0-padded label sequences (0 is blank) and per-frame logits
        return (np.array([[1, 2, 2, 0], [3, 1, 0, 0], [1, 0, 2, 3]], "int32"),
                rng.normal(size=(3, 6, 5)).astype("f4"))
    raise ValueError(kind)


def assert_close(actual, expected, rtol=RTOL, atol=ATOL) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


__all__ = ["keras", "make_data", "assert_close", "RTOL", "ATOL"]
