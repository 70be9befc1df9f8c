"""Spatial dropout, Gaussian noise/dropout, AlphaDropout and ActivityRegularization vs Keras 3.

Random layers cannot match Keras draw for draw (different key derivations), so
training mode is compared through statistics (zero fraction, mean, variance,
structure of the noise) computed on both libraries' outputs; inference mode must
be the identity in both.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
from lamina import layers

RNG = np.random.RandomState(0)
ONES3 = np.ones((64, 5, 32), "float32")
ONES4 = np.ones((32, 3, 4, 32), "float32")
ONES5 = np.ones((16, 2, 3, 2, 32), "float32")
NORMAL = RNG.randn(256, 64).astype("float32")

SPATIAL = [
    ("SpatialDropout1D", {}, ONES3),
    ("SpatialDropout2D", {}, ONES4),
    ("SpatialDropout2D", {"data_format": "channels_first"}, np.moveaxis(ONES4, -1, 1)),
    ("SpatialDropout3D", {}, ONES5),
]


def _train(layer, x, seed=0):
    """Training-mode output of a weightless lamina layer, jitted (one compile), fixed key."""
    fn = jax.jit(lambda x, key: layer.stateless_call([], [], x, training=True, seed=key)[0])
    return np.asarray(fn(x, jax.random.PRNGKey(seed)))


def _keras_train(layer, x):
    """Training-mode output of a Keras layer, jitted through its own stateless_call."""
    if not layer.built:
        layer(x)
    state = [v.value for v in layer.non_trainable_variables]
    fn = jax.jit(lambda x, state: layer.stateless_call([], state, x, training=True)[0])
    return np.asarray(fn(x, state))


def _check_config(ours, theirs):
    """Same config and build config as Keras, and a JSON round trip rebuilds the layer."""
    assert ours.get_config() == theirs.get_config()
    assert ours.get_build_config() is None and theirs.get_build_config() is None
    saved = json.loads(json.dumps(ours.get_config()))
    clone = type(ours).from_config(saved)
    assert json.loads(json.dumps(clone.get_config())) == saved


def _channel_axis(kwargs):
    return 1 if kwargs.get("data_format") == "channels_first" else -1


@pytest.mark.parametrize("name,kwargs,x", SPATIAL, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                        enumerate(SPATIAL)])
def test_spatial_dropout_matches_keras_statistics(name, kwargs, x):
    rate = 0.4
    ours = getattr(layers, name)(rate, name="sd", seed=3, **kwargs)
    theirs = getattr(keras.layers, name)(rate, name="sd", seed=3, **kwargs)
    assert_close(ours(x), x)  # inference: identity
    assert_close(theirs(x), x)
    axis = _channel_axis(kwargs)
    for out in (_train(ours, x), _keras_train(theirs, x)):
        assert set(np.unique(out)) <= {0.0, np.float32(1 / (1 - rate))}
        # Whole feature maps are kept or dropped: constant over the spatial axes.
        spatial = tuple(a for a in range(1, x.ndim) if a != axis % x.ndim)
        assert np.all(out.min(axis=spatial) == out.max(axis=spatial))
        assert abs((out == 0).mean() - rate) < 0.08
    assert ours.get_config() == theirs.get_config()
    assert ours.get_build_config() is None and theirs.get_build_config() is None
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()
    assert isinstance(ours, layers.Dropout)


@pytest.mark.parametrize("name,rank", [("SpatialDropout1D", 3), ("SpatialDropout2D", 4),
                                       ("SpatialDropout3D", 5)])
def test_spatial_dropout_wrong_rank_names_the_layer(name, rank):
    layer = getattr(layers, name)(0.5, name=f"bad_{name.lower()}")
    with pytest.raises(ValueError, match=f"bad_{name.lower()}.*ndim={rank}"):
        layer(lamina.Input(shape=(4,) * (rank - 2)))


def test_gaussian_noise_statistics_match_keras():
    x = np.zeros((200, 50), "float32")
    ours = layers.GaussianNoise(0.3, name="gn")
    theirs = keras.layers.GaussianNoise(0.3, name="gn")
    assert_close(ours(x + 1), x + 1)
    assert_close(theirs(x + 1), x + 1)
    for out in (_train(ours, x), _keras_train(theirs, x)):
        assert abs(out.mean()) < 0.01
        assert abs(out.std() - 0.3) < 0.01
        assert len(np.unique(out)) > 9000
    _check_config(ours, theirs)


def test_gaussian_dropout_statistics_match_keras():
    x = np.full((200, 50), 2.0, "float32")
    rate = 0.2
    ours = layers.GaussianDropout(rate, name="gd", seed=1)
    theirs = keras.layers.GaussianDropout(rate, name="gd", seed=1)
    assert_close(ours(x), x)
    assert_close(theirs(x), x)
    want_std = 2.0 * math.sqrt(rate / (1 - rate))
    for out in (_train(ours, x), _keras_train(theirs, x)):
        assert abs(out.mean() - 2.0) < 0.02
        assert abs(out.std() - want_std) < 0.02
    _check_config(ours, theirs)


@pytest.mark.parametrize("noise_shape", [None, (None, 1)])
def test_alpha_dropout_matches_keras(noise_shape):
    rate = 0.25
    ours = layers.AlphaDropout(rate, noise_shape=noise_shape, name="ad", seed=2)
    theirs = keras.layers.AlphaDropout(rate, noise_shape=noise_shape, name="ad", seed=2)
    assert_close(ours(NORMAL), NORMAL)
    assert_close(theirs(NORMAL), NORMAL)
    outs = [_train(ours, NORMAL), _keras_train(theirs, NORMAL)]
    # The value dropped units take, and the affine map of kept ones, are the same numbers.
    dropped_values = []
    for out in outs:
        values, counts = np.unique(out, return_counts=True)
        dropped = values[counts.argmax()]
        dropped_values.append(dropped)
        is_dropped = np.isclose(out, dropped)
        assert abs(is_dropped.mean() - rate) < 0.08
        # Kept units: a * x + b with the same a, b as Keras (checked via two points).
        kept = ~is_dropped
        slope = np.polyfit(NORMAL[kept], out[kept], 1)
        if noise_shape is not None:
            # One draw per row: rows are entirely kept or dropped.
            assert np.all(is_dropped.all(axis=1) | kept.all(axis=1))
        dropped_values.append(tuple(np.round(slope, 5)))
    assert dropped_values[0] == pytest.approx(dropped_values[2], abs=1e-5)
    assert dropped_values[1] == pytest.approx(dropped_values[3], abs=1e-4)
    for out in outs:  # the self-normalizing property
        assert abs(out.mean()) < 0.1 and abs(out.var() - 1) < 0.15
    _check_config(ours, theirs)


def test_activity_regularization_losses_match_keras():
    ours = layers.ActivityRegularization(l1=0.01, l2=0.02, name="ar")
    theirs = keras.layers.ActivityRegularization(l1=0.01, l2=0.02, name="ar")
    assert_close(ours(NORMAL), NORMAL)
    assert_close(theirs(NORMAL), NORMAL)
    assert len(ours.losses) == 1
    assert_close(ours.losses[0], theirs.losses[0])
    _, _, losses = ours.stateless_call([], [], NORMAL, return_losses=True)
    assert_close(losses[0], theirs.losses[0])
    _check_config(ours, theirs)
    clone = layers.ActivityRegularization.from_config(ours.get_config())
    clone(NORMAL)
    assert_close(clone.losses[0], theirs.losses[0])


@pytest.mark.parametrize("name,args", [
    ("GaussianNoise", (1.5,)), ("GaussianNoise", (-0.1,)), ("GaussianDropout", (1.2,)),
    ("AlphaDropout", (-0.5,)), ("SpatialDropout1D", (2.0,))])
def test_bad_rates_raise_like_keras(name, args):
    with pytest.raises(ValueError):
        getattr(keras.layers, name)(*args)
    with pytest.raises(ValueError):
        getattr(layers, name)(*args)


def test_keys_are_deterministic_and_jittable():
    layer = layers.GaussianNoise(0.5, seed=7)
    x = np.zeros((4, 8), "float32")
    step = jax.jit(lambda x, key: layer.stateless_call([], [], x, training=True, seed=key)[0])
    a = step(x, jax.random.PRNGKey(1))
    b = step(x, jax.random.PRNGKey(1))
    c = step(x, jax.random.PRNGKey(2))
    assert_close(a, b)
    assert not np.allclose(a, c)
    # Inference under jit is the identity.
    infer = jax.jit(lambda x: layer.stateless_call([], [], x, training=False)[0])
    assert_close(infer(x + 3), x + 3)


def test_in_functional_model_training_and_inference():
    inp = lamina.Input(shape=(5, 32))
    h = layers.SpatialDropout1D(0.5)(inp)
    h = layers.GaussianNoise(0.1)(h)
    h = layers.GaussianDropout(0.1)(h)
    out = layers.ActivityRegularization(l2=0.1)(layers.AlphaDropout(0.1)(h))
    model = lamina.Model(inp, out)
    x = ONES3[:8]
    assert_close(model(x), x)
    assert_close(model(x, training=False), x)
    step = jax.jit(lambda x: model.stateless_call([], [], x, training=True, seed=0,
                                                  return_losses=True))
    y, _, losses = step(x)
    y = np.asarray(y)
    assert y.shape == x.shape and not np.allclose(y, x)
    assert len(losses) == 1 and float(losses[0]) > 0
    assert jnp.isfinite(y).all()
