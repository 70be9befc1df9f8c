"""Cropping, ZeroPadding and UpSampling layers against Keras 3 (JAX backend)."""

import jax
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
from lamina import layers

RNG = np.random.RandomState(0)
X3 = RNG.randn(2, 6, 3).astype("float32")
X4 = RNG.randn(2, 5, 6, 3).astype("float32")
X5 = RNG.randn(1, 4, 5, 3, 2).astype("float32")

# (class name, constructor kwargs, input)
CASES = [
    ("Cropping1D", {}, X3),
    ("Cropping1D", {"cropping": (2, 0)}, X3),
    ("Cropping2D", {}, X4),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, X4),
    ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, X4),
    ("Cropping3D", {}, X5),
    ("Cropping3D", {"cropping": ((0, 1), (2, 0), (1, 1))}, X5),
    ("Cropping3D", {"cropping": (0, 1, 0), "data_format": "channels_first"}, X5),
    ("ZeroPadding1D", {}, X3),
    ("ZeroPadding1D", {"padding": 2, "data_format": "channels_first"}, X3),
    ("ZeroPadding2D", {}, X4),
    ("ZeroPadding2D", {"padding": 1, "data_format": "channels_first"}, X4),
    ("ZeroPadding3D", {}, X5),
    ("ZeroPadding3D", {"padding": (1, 0, 2), "data_format": "channels_first"}, X5),
    ("UpSampling1D", {"size": 3}, X3),
    ("UpSampling2D", {}, X4),
    ("UpSampling2D", {"size": 2, "data_format": "channels_first"}, X4),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, X4),
    ("UpSampling3D", {"size": (1, 2, 3), "data_format": "channels_first"}, X5),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _pair(name, kwargs):
    return (getattr(layers, name)(name="subject", **kwargs),
            getattr(keras.layers, name)(name="subject", **kwargs))


@pytest.mark.parametrize("name,kwargs,x", CASES, ids=IDS)
def test_outputs_config_and_model_match_keras(name, kwargs, x):
    ours, theirs = _pair(name, kwargs)
    expected = np.asarray(theirs(x))
    assert_close(ours(x), expected)
    assert ours.get_config() == theirs.get_config()
    assert ours.get_weights() == [] and theirs.get_weights() == []
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()
    assert_close(clone(x), expected)
    # In a functional model with one unknown spatial dimension: same symbolic shape.
    shape = (None,) + x.shape[2:]
    inp = lamina.Input(shape=shape)
    out = getattr(layers, name)(**kwargs)(inp)
    k_out = getattr(keras.layers, name)(**kwargs)(keras.Input(shape=shape))
    assert tuple(out.shape) == tuple(k_out.shape)
    assert_close(lamina.Model(inp, out)(x), expected)


def test_sequential_and_jit():
    model = lamina.Sequential([lamina.Input(shape=(5, 6, 3)), layers.ZeroPadding2D(1),
                               layers.Cropping2D(((1, 0), (0, 1))), layers.UpSampling2D(2)])
    k_model = keras.Sequential([keras.Input(shape=(5, 6, 3)), keras.layers.ZeroPadding2D(1),
                                keras.layers.Cropping2D(((1, 0), (0, 1))),
                                keras.layers.UpSampling2D(2)])
    expected = np.asarray(k_model(X4))
    assert_close(model(X4), expected)
    layer = layers.UpSampling3D((2, 1, 2))
    jitted = jax.jit(lambda x: layer.stateless_call([], [], x)[0])
    assert_close(jitted(X5), keras.layers.UpSampling3D((2, 1, 2))(X5))


def test_gradients_match_keras():
    ours, theirs = _pair("Cropping2D", {"cropping": ((1, 0), (2, 1))})
    ours(X4), theirs(X4)
    g = jax.grad(lambda x: ours.stateless_call([], [], x)[0].sum())(X4)
    k_g = jax.grad(lambda x: theirs.stateless_call([], [], x)[0].sum())(X4)
    assert_close(g, k_g)


@pytest.mark.parametrize("name,rank", [
    ("Cropping1D", 3), ("Cropping2D", 4), ("Cropping3D", 5), ("ZeroPadding1D", 3),
    ("ZeroPadding2D", 4), ("ZeroPadding3D", 5), ("UpSampling1D", 3), ("UpSampling2D", 4),
    ("UpSampling3D", 5)])
def test_wrong_rank_names_the_layer(name, rank):
    layer = getattr(layers, name)(name=f"bad_{name.lower()}")
    with pytest.raises(ValueError, match=f"bad_{name.lower()}.*ndim={rank}"):
        layer(lamina.Input(shape=(4,) * rank))


@pytest.mark.parametrize("name,kwargs,shape", [
    ("Cropping1D", {"cropping": (3, 3)}, (6, 2)),
    ("Cropping2D", {"cropping": ((2, 3), (0, 0))}, (5, 6, 3)),
    ("Cropping3D", {"cropping": 2}, (4, 5, 3, 2)),
])
def test_cropping_too_much_raises(name, kwargs, shape):
    layer = getattr(layers, name)(name="greedy", **kwargs)
    with pytest.raises(ValueError, match="greedy"):
        layer(lamina.Input(shape=shape))
    with pytest.raises(ValueError, match="greedy"):
        layer(np.zeros((1,) + shape, "float32"))


@pytest.mark.parametrize("name,kwargs", [
    ("Cropping1D", {"cropping": (1, 2, 3)}),
    ("Cropping2D", {"cropping": (1, 2, 3)}),
    ("Cropping2D", {"cropping": -1}),
    ("Cropping3D", {"cropping": ((1, 1), (1, 1))}),
    ("ZeroPadding1D", {"padding": (1, -1)}),
    ("ZeroPadding2D", {"padding": "same"}),
    ("ZeroPadding3D", {"padding": (1, 2)}),
    ("UpSampling2D", {"size": 0}),
    ("UpSampling2D", {"data_format": "channels_middle"}),
    ("UpSampling3D", {"size": (2, 2)}),
])
def test_bad_arguments_raise_like_keras(name, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.layers, name)(**kwargs)
    with pytest.raises(ValueError):
        getattr(layers, name)(**kwargs)


def test_upsampling1d_size_type_error():
    with pytest.raises(TypeError):
        layers.UpSampling1D(size=2.0)
