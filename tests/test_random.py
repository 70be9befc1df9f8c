"""lamina.random: Keras's names and signatures; distributions checked statistically
(moments, shapes, dtypes, seeding), not bitwise."""

import inspect

import jax
import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import random

N = 200_000


def test_names_and_signatures_match_keras():
    names = [n for n in dir(keras.random) if not n.startswith("_")]
    for name in names:
        assert hasattr(random, name), name
        if name == "SeedGenerator":
            continue
        k_params = list(inspect.signature(getattr(keras.random, name)).parameters.items())
        l_params = list(inspect.signature(getattr(random, name)).parameters.items())
        assert [(n, p.default) for n, p in l_params] == [(n, p.default) for n, p in k_params]


def _moments(x):
    x = np.asarray(x, dtype="float64")
    return x.mean(), x.var()


MOMENT_CASES = {
    # name: (draw(module, seed), expected mean, expected variance)
    "gamma": (lambda m, s: m.random.gamma((N,), alpha=2.5, seed=s), 2.5, 2.5),
    "gamma small alpha": (lambda m, s: m.random.gamma((N,), alpha=0.3, seed=s), 0.3, 0.3),
    "beta": (lambda m, s: m.random.beta((N,), alpha=2.0, beta=5.0, seed=s),
             2 / 7, 10 / (49 * 8)),
    "binomial": (lambda m, s: m.random.binomial((N,), counts=20, probabilities=0.3, seed=s),
                 6.0, 4.2),
    "normal": (lambda m, s: m.random.normal((N,), mean=1.0, stddev=2.0, seed=s), 1.0, 4.0),
    "uniform": (lambda m, s: m.random.uniform((N,), minval=-1.0, maxval=3.0, seed=s),
                1.0, 16 / 12),
    "truncated_normal": (lambda m, s: m.random.truncated_normal((N,), stddev=1.0, seed=s),
                         0.0, 0.7737413),
    "randint": (lambda m, s: m.random.randint((N,), 0, 10, seed=s), 4.5, 8.25),
}


@pytest.mark.parametrize("name", sorted(MOMENT_CASES))
def test_moments_match_theory_and_keras(name):
    draw, mean, var = MOMENT_CASES[name]
    l_mean, l_var = _moments(draw(lamina, 1))
    k_mean, k_var = _moments(draw(keras, 1))
    # Standard error of the mean is sqrt(var / N); allow ~6 of them.
    tol = 6 * np.sqrt(var / N)
    assert abs(l_mean - mean) < tol and abs(k_mean - mean) < tol
    assert abs(l_var - var) < 0.03 * var + tol and abs(k_var - var) < 0.03 * var + tol


@pytest.mark.parametrize("name,kwargs", [
    ("gamma", dict(alpha=1.5)),
    ("beta", dict(alpha=1.0, beta=2.0)),
    ("binomial", dict(counts=5, probabilities=0.5)),
])
@pytest.mark.parametrize("dtype", [None, "float16", "float32"])
def test_shapes_dtypes_and_seeds_like_keras(name, kwargs, dtype):
    k = getattr(keras.random, name)((3, 4), dtype=dtype, seed=7, **kwargs)
    x = getattr(random, name)((3, 4), dtype=dtype, seed=7, **kwargs)
    assert x.shape == k.shape == (3, 4)
    assert lamina.backend.standardize_dtype(x.dtype) == keras.backend.standardize_dtype(k.dtype)
    again = getattr(random, name)((3, 4), dtype=dtype, seed=7, **kwargs)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(again))
    other = getattr(random, name)((3, 4), dtype=dtype, seed=8, **kwargs)
    assert not np.array_equal(np.asarray(x), np.asarray(other))


def test_broadcast_parameters():
    alpha = np.array([0.5, 5.0, 50.0], "float32")
    x = np.asarray(random.gamma((50_000, 3), alpha=alpha, seed=0))
    np.testing.assert_allclose(x.mean(0), alpha, rtol=0.03)
    counts = np.array([[1.0], [10.0]], "float32")
    probs = np.array([0.2, 0.8], "float32")
    b = np.asarray(random.binomial((20_000, 2, 2), counts=counts, probabilities=probs, seed=0))
    np.testing.assert_allclose(b.mean(0), counts * probs, rtol=0.05)
    assert set(np.unique(b[:, 0, :])) <= {0.0, 1.0}
    e = np.asarray(random.beta((50_000, 2), alpha=[1.0, 3.0], beta=[1.0, 1.0], seed=0))
    np.testing.assert_allclose(e.mean(0), [0.5, 0.75], atol=0.01)
    assert e.min() >= 0.0 and e.max() <= 1.0


def test_seed_generator_and_jit():
    gen = random.SeedGenerator(3)
    first = np.asarray(random.gamma((5,), 2.0, seed=gen))
    second = np.asarray(random.gamma((5,), 2.0, seed=gen))
    assert not np.array_equal(first, second)

    @jax.jit
    def draw(key):
        return random.beta((4,), 2.0, 2.0, seed=key), random.binomial((4,), 3, 0.5, seed=key)

    a, b = draw(jax.random.PRNGKey(0))
    assert a.shape == b.shape == (4,)
    np.testing.assert_array_equal(np.asarray(draw(jax.random.PRNGKey(0))[0]), np.asarray(a))


def test_set_random_seed_makes_unseeded_draws_reproducible():
    lamina.utils.set_random_seed(11)
    first = np.asarray(random.gamma((4,), 1.0))
    lamina.utils.set_random_seed(11)
    np.testing.assert_array_equal(np.asarray(random.gamma((4,), 1.0)), first)
