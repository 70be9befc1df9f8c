"""Shared helpers for differential tests against real Keras 3 (JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

RTOL, ATOL = 1e-5, 1e-5


def copy_weights(src, dst) -> None:
    """Copies weights from a Keras layer/model to a lamina one (or back), in weights order."""
    dst.set_weights([np.asarray(w) for w in src.get_weights()])


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, err_msg="") -> None:
    """Compares (nested lists/dicts of) arrays to float32 tolerance."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected)
        for k in expected:
            assert_close(actual[k], expected[k], rtol, atol, f"{err_msg}[{k}]")
        return
    if isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol, atol, err_msg)
        return
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol,
                               err_msg=err_msg)


__all__ = ["keras", "copy_weights", "assert_close", "RTOL", "ATOL"]
