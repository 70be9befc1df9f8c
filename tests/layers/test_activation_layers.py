"""ReLU, LeakyReLU, PReLU, ELU and Softmax layers against Keras 3 (JAX backend)."""

import json

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers

RNG = np.random.RandomState(0)
EDGES = np.array([-7.0, -3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 1.5, 3.0, 6.0, 7.0], "float32")
X = np.concatenate([EDGES, RNG.randn(12).astype("float32") * 3]).reshape(2, 3, 4)

CASES = [
    ("ReLU", {}),
    ("ReLU", {"max_value": 6.0}),
    ("ReLU", {"max_value": 1.5, "negative_slope": 0.2, "threshold": 1.0}),
    ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {"alpha": 0.5}),
    ("Softmax", {}),
    ("Softmax", {"axis": (1, 2)}),
    ("PReLU", {}),
    ("PReLU", {"shared_axes": [1]}),
    ("PReLU", {"shared_axes": 2, "alpha_initializer": "ones"}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]


def _jsonable(value):
    return json.loads(json.dumps(value))


def _pair(name, kwargs):
    return (getattr(layers, name)(name="subject", **kwargs),
            getattr(keras.layers, name)(name="subject", **kwargs))


def _set_random_alpha(ours, theirs):
    """Gives PReLU non-trivial weights (Keras -> lamina) so the test can see them."""
    if theirs.weights:
        theirs.set_weights([RNG.uniform(0.1, 0.9, size=w.shape).astype("float32")
                            for w in theirs.get_weights()])
        copy_weights(theirs, ours)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_outputs_gradients_config_match_keras(name, kwargs):
    ours, theirs = _pair(name, kwargs)
    theirs(X), ours(X)
    assert [(w.path, w.shape) for w in ours.weights] == [(w.path, tuple(w.shape))
                                                        for w in theirs.weights]
    _set_random_alpha(ours, theirs)
    expected = np.asarray(theirs(X))
    assert_close(ours(X), expected)
    assert ours.get_config() == theirs.get_config()
    assert _jsonable(ours.get_build_config()) == _jsonable(theirs.get_build_config())
    # Gradients w.r.t. inputs and weights, through stateless_call.
    tv = [v.value for v in ours.trainable_variables]
    k_tv = [v.value for v in theirs.trainable_variables]

    def loss(fn, tv, x):
        return (fn(tv, [], x)[0] * np.arange(X.size, dtype="float32").reshape(X.shape)).sum()

    grads = jax.grad(loss, argnums=(1, 2))(ours.stateless_call, tv, X)
    k_grads = jax.grad(loss, argnums=(1, 2))(theirs.stateless_call, k_tv, X)
    assert_close(grads, k_grads)
    # Config round trip keeps the behaviour.
    clone = type(ours).from_config(ours.get_config())
    clone(X)
    clone.set_weights(ours.get_weights())
    assert_close(clone(X), expected)
    assert clone.get_config() == ours.get_config()


@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {"max_value": 6.0}), ("PReLU", {"shared_axes": [1]}), ("Softmax", {"axis": 1}),
    ("ELU", {}), ("LeakyReLU", {})])
def test_functional_sequential_and_jit(name, kwargs):
    inp = lamina.Input(shape=X.shape[1:])
    layer = getattr(layers, name)(**kwargs)
    out = layer(inp)
    model = lamina.Model(inp, out)
    k_inp = keras.Input(shape=X.shape[1:])
    k_layer = getattr(keras.layers, name)(**kwargs)
    k_model = keras.Model(k_inp, k_layer(k_inp))
    _set_random_alpha(layer, k_layer)
    expected = np.asarray(k_model(X))
    assert_close(model(X), expected)
    assert tuple(out.shape) == tuple(k_model.output.shape)
    seq = lamina.Sequential([lamina.Input(shape=X.shape[1:]), getattr(layers, name)(**kwargs)])
    seq.set_weights(model.get_weights())
    assert_close(seq(X), expected)
    tv = [v.value for v in model.trainable_variables]
    jitted = jax.jit(lambda tv, x: model.stateless_call(tv, [], x)[0])
    assert_close(jitted(tv, X), expected)


MASK = np.array([[[1, 1, 0, 1], [0, 0, 0, 1], [1, 1, 1, 1]],
                 [[0, 1, 1, 1], [1, 0, 1, 0], [0, 0, 1, 1]]], bool)


@pytest.mark.parametrize("axis,mask", [
    (-1, MASK), (1, MASK[:, :, :1].astype("float32")), ((1, 2), MASK)])
def test_softmax_with_mask_matches_keras(axis, mask):
    ours, theirs = _pair("Softmax", {"axis": axis})
    expected = np.asarray(theirs(X, mask=mask))
    got = np.asarray(ours(X, mask=mask))
    assert_close(got, expected)
    full = np.broadcast_to(np.asarray(mask, bool), X.shape)
    assert np.all(got[~full] < 1e-6)


def test_softmax_with_mask_input_in_a_functional_model():
    scores = RNG.randn(2, 4).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    x_in, m_in = lamina.Input(shape=(4,)), lamina.Input(shape=(4,), dtype="bool")
    model = lamina.Model([x_in, m_in], layers.Softmax()(x_in, mask=m_in))
    kx_in, km_in = keras.Input(shape=(4,)), keras.Input(shape=(4,), dtype="bool")
    k_model = keras.Model([kx_in, km_in], keras.layers.Softmax()(kx_in, mask=km_in))
    got = np.asarray(model([scores, mask]))
    assert_close(got, k_model([scores, mask]))
    assert np.all(got[~mask] == 0)
    assert_close(got.sum(axis=1), np.ones(2))


def test_softmax_receives_an_implicit_mask():
    # Masking emits a (batch, steps) mask; with one sample it broadcasts over (1, steps, steps).
    x = RNG.randn(1, 4, 4).astype("float32")
    x[0, 2] = 0.0
    inp = lamina.Input(shape=(4, 4))
    model = lamina.Model(inp, layers.Softmax()(layers.Masking()(inp)))
    k_inp = keras.Input(shape=(4, 4))
    k_model = keras.Model(k_inp, keras.layers.Softmax()(keras.layers.Masking()(k_inp)))
    got = np.asarray(model(x))
    assert_close(got, k_model(x))
    assert np.all(got[0, :, 2] == 0)


def test_softmax_bad_mask_names_the_layer():
    layer = layers.Softmax(name="picky")
    with pytest.raises(ValueError, match="picky"):
        layer(X, mask=np.ones((2, 3, 5), bool))


def test_prelu_weight_shape_and_input_spec():
    layer = layers.PReLU(shared_axes=[1, 2], name="pre")
    layer(np.zeros((2, 5, 6, 3), "float32"))
    assert layer.weights[0].shape == (1, 1, 3)
    theirs = keras.layers.PReLU(shared_axes=[1, 2])
    theirs(np.zeros((2, 5, 6, 3), "float32"))
    assert tuple(theirs.weights[0].shape) == (1, 1, 3)
    # Built for rank 4 with 3 channels: other ranks/channels are rejected, naming the layer.
    with pytest.raises(ValueError, match="pre.*ndim=4"):
        layer(lamina.Input(shape=(5, 3)))
    with pytest.raises(ValueError, match="pre"):
        layer(lamina.Input(shape=(5, 6, 4)))
    # Shared axes may be unknown (e.g. image sizes); the channels must be known.
    flexible = layers.PReLU(shared_axes=[1, 2])
    out = flexible(lamina.Input(shape=(None, None, 3)))
    assert tuple(out.shape) == (None, None, None, 3)


def test_prelu_regularizer_and_constraint():
    ours = layers.PReLU(alpha_regularizer="l2", alpha_constraint="non_neg",
                        alpha_initializer="ones")
    theirs = keras.layers.PReLU(alpha_regularizer="l2", alpha_constraint="non_neg",
                                alpha_initializer="ones")
    ours(X), theirs(X)
    assert ours.get_config()["alpha_regularizer"] == theirs.get_config()["alpha_regularizer"]
    assert ours.get_config()["alpha_constraint"] == theirs.get_config()["alpha_constraint"]
    assert_close(ours.losses[0], theirs.losses[0])


@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {"max_value": -1.0}), ("ReLU", {"negative_slope": -0.1}),
    ("ReLU", {"threshold": None}), ("LeakyReLU", {"negative_slope": -1})])
def test_bad_arguments_raise_like_keras(name, kwargs):
    with pytest.raises(ValueError):
        getattr(keras.layers, name)(**kwargs)
    with pytest.raises(ValueError):
        getattr(layers, name)(**kwargs)


def test_leaky_relu_accepts_deprecated_alpha():
    layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    assert_close(layer(X), keras.layers.LeakyReLU(negative_slope=0.1)(X))
