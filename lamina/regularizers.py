"""Weight regularizers, as ``keras.regularizers``.

A regularizer is called on a weight array and returns a scalar penalty
(a ``jax.Array``) that training adds to the loss. The call is pure jnp code, so
it runs inside jitted train steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.saving import serialization as _ser


def _non_negative(value, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not number >= 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float, "
                         f"received {name}={value!r}.")
    return number


def _float32(value: float) -> float:
    # Keras holds l1 and the orthogonal factor as float32 and writes them back as such
    # (0.01 -> 0.009999999776482582); doing the same keeps configs identical.
    return float(np.float32(value))


class Regularizer:
    """Base class of regularizers: ``regularizer(x)`` returns a scalar penalty for weight ``x``."""

    _keras_module = "keras.regularizers"

    def __call__(self, x) -> jax.Array:
        return jnp.asarray(0.0)

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-able dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        """Creates a regularizer from the output of :meth:`get_config`."""
        return cls(**config)


class L1(Regularizer):
    """Penalty ``l1 * sum(abs(x))``.

    Args:
        l1: the L1 factor (non-negative).
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _float32(_non_negative(l1, "l1", 0.01))

    def __call__(self, x) -> jax.Array:
        return self.l1 * jnp.sum(jnp.abs(jnp.asarray(x)))

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """Penalty ``l2 * sum(square(x))``.

    Args:
        l2: the L2 factor (non-negative).
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = _non_negative(l2, "l2", 0.01)

    def __call__(self, x) -> jax.Array:
        return self.l2 * jnp.sum(jnp.square(jnp.asarray(x)))

    def get_config(self) -> dict:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """Penalty ``l1 * sum(abs(x)) + l2 * sum(square(x))``.

    Args:
        l1: the L1 factor (non-negative).
        l2: the L2 factor (non-negative).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _non_negative(l1, "l1", 0.0)
        self.l2 = _non_negative(l2, "l2", 0.0)

    def __call__(self, x) -> jax.Array:
        x = jnp.asarray(x)
        penalty = jnp.zeros((), dtype=x.dtype if jnp.issubdtype(x.dtype, jnp.floating)
                            else "float32")
        if self.l1:
            penalty = penalty + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Encourages the rows (or columns) of a 2D weight to be orthonormal.

    The rows (``mode="rows"``) or columns (``mode="columns"``) are L2-normalized;
    the penalty is ``factor`` times the mean absolute value of the off-diagonal
    entries of their Gram matrix.

    Args:
        factor: the penalty factor (non-negative).
        mode: ``"rows"`` or ``"columns"``.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _float32(_non_negative(factor, "factor", 0.01))
        if mode not in ("rows", "columns"):
            raise ValueError(f"Invalid value for argument `mode`: expected 'rows' or "
                             f"'columns', received mode={mode!r}.")
        self.mode = mode

    def __call__(self, x) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim != 2:
            raise ValueError("Inputs to OrthogonalRegularizer must have rank 2, received "
                             f"shape {tuple(x.shape)}.")
        vectors = x if self.mode == "rows" else x.T
        norms = jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(vectors), axis=1, keepdims=True),
                                     1e-12))
        vectors = vectors / norms
        gram = vectors @ vectors.T
        n = gram.shape[0]
        off_diagonal = jnp.abs(gram - jnp.eye(n, dtype=gram.dtype))
        # n * (n - 1) off-diagonal entries; a single vector has none (penalty 0).
        return self.factor * jnp.sum(off_diagonal) / max(n * (n - 1), 1)

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


# Keras's snake_case aliases name the same classes.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT: dict[str, type] = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer, "l1": L1, "l2": L2, "l1_l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


serialize, deserialize, get = _ser.object_accessors("regularizer", ALL_OBJECTS_DICT)


__all__ = [*ALL_OBJECTS_DICT, "serialize", "deserialize", "get"]
