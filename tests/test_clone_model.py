"""models.clone_model against Keras 3.15: structure, fresh weights, input_tensors,
clone_function, call_function, recursive cloning, compiled models, errors."""

import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina

RNG = np.random.default_rng(0)
XA = RNG.normal(size=(4, 3)).astype("float32")
XB = RNG.normal(size=(4, 5)).astype("float32")


def _functional(mod):
    a = mod.Input((3,), name="a")
    b = mod.Input((5,), name="b")
    shared = mod.layers.Dense(4, activation="relu", name="shared")
    h = mod.layers.Concatenate(name="cat")([shared(a), mod.layers.Dense(4, name="proj")(b)])
    h2 = shared(mod.layers.Dense(3, name="back")(h))
    return mod.Model([a, b], {"out": mod.layers.Dense(2, name="out")(h2),
                              "aux": mod.layers.Dense(1, name="aux")(h)}, name="net")


def _structure(model):
    return [(type(layer).__name__, layer.name) for layer in model.layers]


def test_functional_clone_like_keras():
    k_model, l_model = _functional(keras), _functional(lamina)
    k_clone, l_clone = keras.models.clone_model(k_model), lamina.models.clone_model(l_model)
    assert _structure(l_clone) == _structure(k_clone) == _structure(l_model)
    assert l_clone.name == k_clone.name == "net"
    assert [t.name for t in l_clone.inputs] == ["a", "b"]
    assert all(x is not y for x, y in zip(l_clone.layers, l_model.layers))
    # Shared layers stay shared: as many weights as the original.
    assert len(l_clone.weights) == len(l_model.weights) == len(k_clone.weights)
    # New weights, but the same function once the weights are copied.
    assert not np.allclose(l_clone.get_weights()[0], l_model.get_weights()[0])
    copy_weights(k_model, l_model)
    copy_weights(k_model, l_clone)
    assert_close(l_clone.predict([XA, XB], verbose=0), k_model.predict([XA, XB], verbose=0))


def test_clone_function_like_keras():
    def clone_function(layer):
        config = layer.get_config()
        if "kernel_initializer" in config:
            config["kernel_initializer"] = "ones"
            config["activation"] = "tanh"
        return type(layer).from_config(config)

    k = keras.models.clone_model(_functional(keras), clone_function=clone_function)
    c = lamina.models.clone_model(_functional(lamina), clone_function=clone_function)
    assert_close(c.predict([XA, XB], verbose=0), k.predict([XA, XB], verbose=0))


def test_call_function_inserts_layers_and_identity_clone_shares_like_keras():
    def make_call_function(mod):
        def call_function(layer, *args, **kwargs):
            out = layer(*args, **kwargs)
            if isinstance(layer, mod.layers.Dense):
                out = mod.layers.Activation("sigmoid")(out)
            return out
        return call_function

    results = {}
    for mod in (keras, lamina):
        model = _functional(mod)
        clone = mod.models.clone_model(model, clone_function=lambda layer: layer,
                                       call_function=make_call_function(mod))
        results[mod] = (model, clone)
        assert sum(isinstance(x, mod.layers.Activation) for x in clone.layers) == 6
        assert model.get_layer("shared") is clone.get_layer("shared")
    k_model, k_clone = results[keras]
    l_model, l_clone = results[lamina]
    assert [type(x).__name__ for x in l_clone.layers] == [type(x).__name__ for x in k_clone.layers]
    copy_weights(k_model, l_model)  # the clone shares the weights
    assert_close(l_clone.predict([XA, XB], verbose=0), k_clone.predict([XA, XB], verbose=0))


def test_input_tensors():
    for mod in (keras, lamina):
        model = _functional(mod)
        a, b = mod.Input((3,), name="new_a"), mod.Input((5,), name="new_b")
        clone = mod.models.clone_model(model, input_tensors=[a, b])
        assert clone.inputs[0] is a and clone.inputs[1] is b
        with pytest.raises(ValueError):
            mod.models.clone_model(model, input_tensors=[a])
        with pytest.raises(ValueError):
            mod.models.clone_model(model, input_tensors=[XA, XB])


@pytest.mark.parametrize("with_input", [True, False])
def test_sequential_clone_like_keras(with_input):
    models = {}
    for mod in (keras, lamina):
        layers = [mod.layers.Dense(4, activation="relu", name="d1"),
                  mod.layers.Dense(2, name="d2")]
        if with_input:
            layers.insert(0, mod.Input((3,), name="x"))
        model = mod.Sequential(layers, name="seq")
        clone = mod.models.clone_model(model)
        models[mod] = (model, clone)
        assert clone.name == "seq" and [x.name for x in clone.layers] == ["d1", "d2"]
        assert all(x is not y for x, y in zip(clone.layers, model.layers))
        assert isinstance(clone, mod.Sequential)
        with pytest.raises(ValueError):
            mod.models.clone_model(model, call_function=lambda layer, *a, **k: layer(*a, **k))
    k_model, k_clone = models[keras]
    l_model, l_clone = models[lamina]
    assert l_clone.built == k_clone.built == with_input
    l_clone.build((None, 3))
    k_clone.build((None, 3))
    copy_weights(k_clone, l_clone)
    assert_close(l_clone.predict(XA, verbose=0), k_clone.predict(XA, verbose=0))


def test_sequential_input_tensors():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    x = lamina.Input((3,), name="given")
    clone = lamina.models.clone_model(model, input_tensors=[x])
    assert clone.input.shape == (None, 3)
    assert clone.predict(XA, verbose=0).shape == (4, 2)
    with pytest.raises(ValueError):
        lamina.models.clone_model(model, input_tensors=[x, x])
    with pytest.raises(ValueError):
        lamina.models.clone_model(model, input_tensors=XA)


@pytest.mark.parametrize("recursive", [False, True])
def test_nested_models_like_keras(recursive):
    structures = {}
    for mod in (keras, lamina):
        inner = mod.Sequential([mod.Input((3,)), mod.layers.Dense(4, name="inner_dense")],
                               name="inner")
        x = mod.Input((3,))
        model = mod.Model(x, mod.layers.Dense(1, name="head")(inner(x)))
        seen = []

        def clone_function(layer, seen=seen):
            seen.append(layer.name)
            return type(layer).from_config(layer.get_config())

        clone = mod.models.clone_model(model, clone_function=clone_function,
                                       recursive=recursive)
        assert clone.get_layer("inner") is not inner
        assert clone.get_layer("inner").layers[0] is not inner.layers[0]
        structures[mod] = sorted(seen)
        assert clone.predict(XA, verbose=0).shape == (4, 1)
    assert structures[lamina] == structures[keras]


def test_compiled_model_clone_is_compiled():
    model = _functional(lamina)
    model.compile(optimizer=lamina.optimizers.Adam(0.01),
                  loss={"out": "mse", "aux": "mae"}, metrics={"out": ["mae"]})
    clone = lamina.models.clone_model(model)
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    y = {"out": np.zeros((4, 2), "float32"), "aux": np.zeros((4, 1), "float32")}
    clone.fit([XA, XB], y, epochs=1, verbose=0)
    copy = lamina.models.clone_model(model)
    copy.set_weights(model.get_weights())
    assert_close(copy.evaluate([XA, XB], y, verbose=0), model.evaluate([XA, XB], y, verbose=0))


def test_subclassed_models_and_errors():
    class Net(lamina.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = lamina.layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {"units": self.units, "name": self.name}

    net = Net(units=3, name="net")
    clone = lamina.models.clone_model(net)
    assert isinstance(clone, Net) and clone.units == 3 and clone is not net
    with pytest.raises(ValueError, match="clone_function"):
        lamina.models.clone_model(net, clone_function=lambda layer: layer)
    with pytest.raises(ValueError, match="call_function"):
        lamina.models.clone_model(net, call_function=lambda layer, *a: layer(*a))
    with pytest.raises(ValueError, match="Unexpected keyword"):
        lamina.models.clone_model(_functional(lamina), foo=1)


# -- Lambda layers: a clone is made from the user's own objects, not from a file -----

SHIFT = np.float32(0.5)


def _halve(x):
    return x / 2


def _lambda_models(mod):
    """A functional model with Lambdas of a lambda that reads a module global, of a
    named (unregistered) function and of a functools.partial; and a Sequential with a
    lambda nested in a model (cloned through its config)."""
    import functools

    inp = mod.Input((3,), name="x")
    h = mod.layers.Lambda(lambda x: x * 3 + SHIFT, name="affine")(inp)
    h = mod.layers.Lambda(_halve, name="halve")(h)
    out = mod.layers.Lambda(functools.partial(mod.ops.multiply, 2.0), name="double")(h)
    inner = mod.Sequential([mod.Input((3,)), mod.layers.Lambda(lambda x: x - 1)],
                           name="inner")
    outer = mod.Sequential([mod.Input((3,)), inner], name="outer")
    return mod.Model(inp, out), outer


def test_lambda_layers_clone_outside_safe_mode():
    model, outer = _lambda_models(lamina)
    for original in (model, outer):
        clone = lamina.models.clone_model(original)
        assert clone.layers[-1] is not original.layers[-1]
        assert_close(clone(XA), original(XA))
    assert_close(lamina.models.clone_model(model)(XA), (XA * 3 + SHIFT) / 2 * 2)
    assert lamina.models.clone_model(model).get_layer("halve").function is _halve
    # Safe mode is back on afterwards: a config is still refused outside a clone.
    assert lamina.saving.serialization.in_safe_mode()
    with pytest.raises(ValueError, match="safe mode"):
        lamina.Sequential.from_config(outer.get_config())
    # Keras applies safe mode to its clones and refuses them (lamina deliberately does not).
    k_model, k_outer = _lambda_models(keras)
    for original in (k_model, k_outer):
        with pytest.raises(ValueError, match="safe_mode=False"):
            keras.models.clone_model(original)
