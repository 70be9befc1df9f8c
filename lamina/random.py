"""Explicit randomness: one global seed, keys derived from it, and random ops.

``set_random_seed(s)`` fixes the global seed. Initializers without their own seed
draw NumPy generators derived from it (no device work, no compiles); random
layers (Dropout, ...) derive ``jax.random`` keys from the key of the current
stateless scope folded with a per-layer identifier, so the same seed gives the
same run and a train step's randomness is a pure function of its state's key.
"""

from __future__ import annotations

import itertools
import random as _py_random
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.state import current_scope

_GLOBAL = {"seed": None, "counter": itertools.count(), "owners": itertools.count()}


def set_global_seed(seed: int | None) -> None:
    _GLOBAL["seed"] = None if seed is None else int(seed)
    _GLOBAL["counter"] = itertools.count()
    _GLOBAL["owners"] = itertools.count()


def next_owner_id() -> int:
    """A per-object identifier for folding keys: the same construction order after the
    same ``set_random_seed`` gives the same identifiers (and so the same randomness)."""
    return next(_GLOBAL["owners"])


def global_seed() -> int:
    if _GLOBAL["seed"] is None:
        _GLOBAL["seed"] = _py_random.SystemRandom().randrange(2**31)
    return _GLOBAL["seed"]


def numpy_rng(seed: int | None = None) -> np.random.Generator:
    """A NumPy generator: from ``seed`` if given, else the next one from the global seed."""
    if seed is not None:
        return np.random.default_rng(int(seed))
    return np.random.default_rng([global_seed(), next(_GLOBAL["counter"])])


def next_key() -> jax.Array:
    """A fresh ``jax.random`` key derived from the global seed."""
    # A raw uint32[2] key: valid for every jax.random function, built on the host.
    return jnp.asarray(numpy_rng().integers(0, 2**32, size=2, dtype=np.uint32))


def stable_id(name: str) -> int:
    """A stable 31-bit identifier for a name (used to fold per-layer keys)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def draw_key(owner, seed: int | None = None):
    """The key a random layer uses for one draw.

    Args:
        owner: the layer (or any object with ``_rng_id``) drawing, or a name.
        seed: the layer's own seed, folded in when given.

    Inside a stateless scope with a key (e.g. a train step), the key is derived from
    the scope's key, the owner's identifier and the draw count. Outside, a fresh key
    comes from the global seed.
    """
    scope = current_scope()
    if scope is not None and scope.has_key:
        owner_id = owner if isinstance(owner, int) else getattr(owner, "_rng_id", None)
        if owner_id is None:
            owner_id = stable_id(str(owner))
        key = scope.next_key(owner_id)
        return key if seed is None else jax.random.fold_in(key, int(seed))
    if seed is not None:
        return jax.random.fold_in(next_key(), int(seed))
    return next_key()


class SeedGenerator:
    """A source of keys for random ops, as ``keras.random.SeedGenerator``."""

    _counter = itertools.count()

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        self.seed = seed
        self.name = name or f"seed_generator_{next(SeedGenerator._counter)}"
        self._rng_id = next_owner_id()

    def next(self, ordered: bool = True):
        return draw_key(self, self.seed)

    def get_config(self):
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _key(seed):
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return draw_key("lamina.random")
    if isinstance(seed, int):
        return jax.random.PRNGKey(seed)
    return seed


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = dtypes.standardize(dtype)
    return mean + stddev * jax.random.normal(_key(seed), shape, dtype=dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    dtype = dtypes.standardize(dtype)
    return jax.random.uniform(_key(seed), shape, dtype=dtype, minval=minval, maxval=maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = dtypes.standardize(dtype)
    return mean + stddev * jax.random.truncated_normal(_key(seed), -2.0, 2.0, shape, dtype=dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return jax.random.randint(_key(seed), shape, minval, maxval, dtype=dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes entries with probability ``rate`` and scales the rest by ``1/(1-rate)``."""
    inputs = jnp.asarray(inputs)
    if rate <= 0:
        return inputs
    if rate >= 1:
        return jnp.zeros_like(inputs)
    noise_shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = jax.random.bernoulli(_key(seed), 1.0 - rate, noise_shape)
    return jnp.where(keep, inputs / (1.0 - rate), jnp.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    return jax.random.permutation(_key(seed), x, axis=axis, independent=False)


def categorical(logits, num_samples, dtype="int32", seed=None):
    key = _key(seed)
    logits = jnp.asarray(logits)
    out = jax.random.categorical(key, logits[:, None, :], axis=-1,
                                 shape=(logits.shape[0], num_samples))
    return out.astype(dtype)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a Gamma distribution of shape ``alpha`` and scale 1.

    Args:
        shape: the output shape.
        alpha: the concentration (a float, or an array broadcastable to ``shape``).
        dtype: a float dtype (default ``floatx()``).
        seed: an int, a ``SeedGenerator``, a ``jax.random`` key, or None.
    """
    dtype = dtypes.standardize(dtype)
    return jax.random.gamma(_key(seed), jnp.asarray(alpha), shape=shape, dtype=dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples the number of successes of ``counts`` trials, each succeeding with
    probability ``probabilities``.

    Args:
        shape: the output shape.
        counts: the number of trials (a number or an array broadcastable with
            ``probabilities`` and ``shape``).
        probabilities: the success probability of one trial.
        dtype: the output dtype (default ``floatx()``).
        seed: an int, a ``SeedGenerator``, a ``jax.random`` key, or None.
    """
    dtype = dtypes.standardize(dtype)
    return jax.random.binomial(_key(seed), jnp.asarray(counts), jnp.asarray(probabilities),
                               shape=shape, dtype=dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a Beta distribution with parameters ``alpha`` and ``beta``.

    Args:
        shape: the output shape.
        alpha, beta: the parameters (floats or arrays broadcastable to ``shape``).
        dtype: a float dtype (default ``floatx()``).
        seed: an int, a ``SeedGenerator``, a ``jax.random`` key, or None.
    """
    dtype = dtypes.standardize(dtype)
    return jax.random.beta(_key(seed), jnp.asarray(alpha), jnp.asarray(beta), shape=shape,
                           dtype=dtype)
