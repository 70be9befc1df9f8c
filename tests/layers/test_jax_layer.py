"""JaxLayer against keras.layers.JaxLayer: outputs, weights, a fit step, state updates,
init_fn, rng handling and argument checks; FlaxLayer without Flax."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 3)).astype("float32")
Y = RNG.normal(size=(8, 2)).astype("float32")
PARAMS = {
    "w1": RNG.normal(size=(3, 4)).astype("float32"),
    "b1": np.zeros(4, "float32"),
    "w2": RNG.normal(size=(4, 2)).astype("float32"),
    "b2": np.full(2, 0.1, "float32"),
}


def mlp(params, inputs):
    h = jnp.tanh(inputs @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def counting_mlp(params, state, inputs, training):
    """An MLP whose state counts training calls and tracks a running input mean."""
    outputs = mlp(params, inputs) * state["scale"]
    if training:
        state = {"count": state["count"] + 1,
                 "mean": 0.9 * state["mean"] + 0.1 * jnp.mean(inputs, axis=0),
                 "scale": state["scale"]}
    return outputs, state


STATE = {"count": np.zeros((), "int32"), "mean": np.zeros(3, "float32"),
         "scale": np.float32(1.5)}


def _model(mod, layer_factory):
    inputs = mod.Input((3,))
    hidden = layer_factory(mod)(inputs)
    outputs = mod.layers.Dense(2, kernel_initializer="ones")(hidden)
    return mod.Model(inputs, outputs)


FACTORIES = {
    "stateless": lambda mod: mod.layers.JaxLayer(mlp, params=dict(PARAMS)),
    "stateful": lambda mod: mod.layers.JaxLayer(counting_mlp, params=dict(PARAMS),
                                                state=dict(STATE)),
}


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_outputs_weights_and_fit_step_match_keras(kind):
    k_model, l_model = _model(keras, FACTORIES[kind]), _model(lamina, FACTORIES[kind])
    k_layer, l_layer = k_model.layers[1], l_model.layers[1]
    assert [w.shape for w in l_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    assert len(l_layer.trainable_weights) == len(k_layer.trainable_weights)
    assert [str(w.dtype) for w in l_layer.weights] == [str(w.dtype) for w in k_layer.weights]
    assert_close(l_model.predict(X, verbose=0), k_model.predict(X, verbose=0))
    assert_close(l_model(X), np.asarray(k_model(X)))

    for model in (k_model, l_model):
        model.compile(optimizer=_sgd(model), loss="mse")
    k_hist = k_model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    l_hist = l_model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert_close(l_hist.history["loss"], k_hist.history["loss"])
    assert_close(l_model.get_weights(), k_model.get_weights())
    if kind == "stateful":
        assert int(l_layer.state["count"].numpy()) == 4
        assert_close(l_layer.state["mean"].numpy(), np.asarray(k_layer.state["mean"].value))
    assert_close(l_model.evaluate(X, Y, verbose=0), k_model.evaluate(X, Y, verbose=0))


def _sgd(model):
    mod = keras if isinstance(model, keras.Model) else lamina
    return mod.optimizers.SGD(0.1)


def init_mlp(rng, inputs):
    # Deterministic (ignores rng) so Keras and lamina start alike.
    n = inputs.shape[-1]
    return {"w": jnp.full((n, 2), 0.25), "b": jnp.zeros(2)}


def affine(params, inputs):
    return inputs @ params["w"] + params["b"]


def test_init_fn_builds_from_the_input_shape_like_keras():
    # Keras's init_fn path needs TensorFlow (absent here): its model gets the params
    # init_fn makes for the input shape.
    models = {}
    for mod in (keras, lamina):
        inputs = mod.Input((5,))
        if mod is keras:
            params = jax.tree_util.tree_map(np.asarray, init_mlp(None, jnp.ones((1, 5))))
            layer = mod.layers.JaxLayer(affine, params=params)
        else:
            layer = mod.layers.JaxLayer(affine, init_fn=init_mlp)
        models[mod] = mod.Model(inputs, layer(inputs))
        assert layer.params["w"].shape == (5, 2)
    x = RNG.normal(size=(3, 5)).astype("float32")
    assert_close(models[lamina].predict(x, verbose=0), models[keras].predict(x, verbose=0))
    layer = lamina.layers.JaxLayer(affine, init_fn=init_mlp)
    np.testing.assert_allclose(np.asarray(layer(x)), x @ np.full((5, 2), 0.25), rtol=1e-6)


def test_init_fn_receives_an_rng_and_training_and_returns_state():
    seen = {}

    def init(rng, inputs, training):
        seen.update(rng=rng, training=training, shape=inputs.shape)
        w = jax.random.normal(rng, (inputs.shape[-1], 3))
        return {"w": w}, {"calls": jnp.zeros((), "int32")}

    def call(params, state, inputs):
        return inputs @ params["w"], {"calls": state["calls"] + 1}

    layer = lamina.layers.JaxLayer(call, init_fn=init)
    out = layer(np.ones((2, 4), "float32"))
    assert out.shape == (2, 3)
    assert seen["training"] is True and seen["shape"] == (2, 4)
    assert seen["rng"].shape == (2,)
    assert int(layer.state["calls"].numpy()) == 1
    assert [w.trainable for w in layer.weights] == [True, False]


def test_rng_is_fresh_in_training_and_none_in_inference():
    def call(rng, inputs, training):
        if rng is None:
            return inputs
        keep = jax.random.bernoulli(rng, 0.5, inputs.shape)
        return jnp.where(keep, inputs * 2.0, 0.0)

    inputs = lamina.Input((64,))
    model = lamina.Model(inputs, lamina.layers.JaxLayer(call, seed=3)(inputs))
    x = np.ones((4, 64), "float32")
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)
    a = np.asarray(model(x, training=True))
    b = np.asarray(model(x, training=True))
    assert set(np.unique(a)) <= {0.0, 2.0} and not np.array_equal(a, b)
    assert 0.3 < (a == 0).mean() < 0.7


def test_argument_checks_like_keras():
    for mod in (keras, lamina):
        with pytest.raises(ValueError, match="inputs"):
            mod.layers.JaxLayer(lambda params, x: x, params={})
        with pytest.raises(ValueError, match="Unsupported argument"):
            mod.layers.JaxLayer(lambda params, inputs, other: inputs, params={})
        with pytest.raises(ValueError, match="cannot all be `None`"):
            mod.layers.JaxLayer(lambda params, inputs: inputs)
        with pytest.raises(ValueError, match="Unsupported argument"):
            mod.layers.JaxLayer(affine, init_fn=lambda key, inputs: {})
    layer = lamina.layers.JaxLayer(lambda inputs: inputs * 2)  # no params at all
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2), "float32"))), 2.0)


def test_config_keys_like_keras():
    k_config = keras.layers.JaxLayer(affine, init_fn=init_mlp).get_config()
    l_config = lamina.layers.JaxLayer(affine, init_fn=init_mlp).get_config()
    assert set(l_config) == set(k_config)


def test_python_numbers_and_config_leaves():
    params = {"w": np.ones((2, 2), "float64"), "scale": 2.0, "k": 3}

    def call(params, inputs):
        out = inputs @ params["w"] * params["scale"] + params["k"]
        return out if params.get("mode", "relu") == "relu" else -out

    k_layer = keras.layers.JaxLayer(call, params=dict(params))
    l_layer = lamina.layers.JaxLayer(call, params=dict(params))
    assert [str(w.dtype) for w in l_layer.weights] == [str(w.dtype) for w in k_layer.weights]
    x = np.ones((1, 2), "float32")
    assert_close(np.asarray(l_layer(x)), np.asarray(k_layer(x)))
    # Non-numeric leaves are configuration passed through as they are (Keras documents
    # this but its call fails on them).
    with_mode = lamina.layers.JaxLayer(call, params=dict(params, mode="negate"))
    assert len(with_mode.weights) == 3
    assert_close(np.asarray(with_mode(x)), -np.asarray(k_layer(x)))


def test_flax_layer_needs_flax(monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)  # as if flax were not installed
    monkeypatch.setitem(sys.modules, "flax.linen", None)
    with pytest.raises(ImportError, match="flax"):
        lamina.layers.FlaxLayer(object())
