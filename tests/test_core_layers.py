"""Core, merging and reshaping layers: same weights and inputs give Keras 3's outputs."""

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4, 6)).astype("float32")


def _pair(name, *args, **kwargs):
    return getattr(keras.layers, name)(*args, **kwargs), getattr(L, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs,x", [
    ("Dense", (5,), {"activation": "relu"}, X),
    ("Dense", (2,), {"use_bias": False, "activation": "softmax"}, X[:, 0]),
    ("Activation", ("tanh",), {}, X),
    ("Flatten", (), {}, X),
    ("Reshape", ((6, 4),), {}, X),
    ("Reshape", ((-1, 2),), {}, X),
    ("Permute", ((2, 1),), {}, X),
    ("RepeatVector", (3,), {}, X[:, 0]),
    ("Identity", (), {}, X),
    ("Dropout", (0.5,), {}, X),
])
def test_single_input_layers_match_keras(name, args, kwargs, x):
    kl, ll = _pair(name, *args, **kwargs)
    expected = kl(x)
    got = ll(x)
    copy_weights(kl, ll)
    got = ll(x)
    assert tuple(got.shape) == tuple(expected.shape)
    assert_close(got, expected)
    config = ll.get_config()
    kconfig = kl.get_config()
    config.pop("name"), kconfig.pop("name")
    assert config == kconfig
    clone = type(ll).from_config(ll.get_config())
    clone(x)
    clone.set_weights(ll.get_weights())
    assert_close(clone(x), expected)


def test_embedding_matches_keras_and_masks():
    kl, ll = _pair("Embedding", 12, 3, mask_zero=True)
    ids = np.array([[1, 5, 0, 0], [3, 0, 2, 11]], "int32")
    kl(ids)
    ll(ids)
    copy_weights(kl, ll)
    assert_close(ll(ids), kl(ids))
    assert_close(ll.compute_mask(ids), kl.compute_mask(ids))
    legacy = L.Embedding(output_dim=4, input_dim=10, input_length=100)
    assert legacy(lamina.Input((100,), dtype="int32")).shape == (None, 100, 4)


@pytest.mark.parametrize("name,kwargs", [
    ("Add", {}), ("Subtract", {}), ("Multiply", {}), ("Average", {}), ("Maximum", {}),
    ("Minimum", {}), ("Concatenate", {}), ("Concatenate", {"axis": 1}),
    ("Dot", {"axes": 2}), ("Dot", {"axes": (1, 1), "normalize": True}),
])
def test_merge_layers_match_keras(name, kwargs):
    a = RNG.standard_normal((2, 3, 4)).astype("float32")
    b = RNG.standard_normal((2, 3, 4)).astype("float32")
    kl, ll = _pair(name, **kwargs)
    assert_close(ll([a, b]), kl([a, b]))
    ka, kb = keras.Input((3, 4)), keras.Input((3, 4))
    la, lb = lamina.Input((3, 4)), lamina.Input((3, 4))
    assert ll([la, lb]).shape == tuple(kl([ka, kb]).shape)


@pytest.mark.parametrize("fn", ["add", "subtract", "multiply", "average", "maximum", "minimum",
                                "concatenate"])
def test_merge_functions(fn):
    a = RNG.standard_normal((2, 4)).astype("float32")
    b = RNG.standard_normal((2, 4)).astype("float32")
    assert_close(getattr(L, fn)([a, b]), getattr(keras.layers, fn)([a, b]))


def test_dot_function_and_merge_errors():
    a = RNG.standard_normal((2, 4)).astype("float32")
    assert_close(L.dot([a, a], axes=1), keras.layers.dot([a, a], axes=1))
    with pytest.raises(ValueError, match="add_err.*list of inputs"):
        L.Add(name="add_err")(lamina.Input((3,)))
    with pytest.raises(ValueError, match="matching shapes"):
        L.add([lamina.Input((3,)), lamina.Input((4,))])


def test_concatenate_masks_propagate_through_model():
    ids = lamina.Input((4,), dtype="int32")
    emb = L.Embedding(10, 3, mask_zero=True)(ids)
    dense = L.Dense(2)(emb)
    out = L.concatenate([emb, dense])
    model = lamina.Model(ids, out)
    data = np.array([[1, 2, 0, 0]], "int32")
    _, masks = model._run_graph(data)
    assert_close(np.asarray(masks), np.array([[True, True, False, False]]))


def test_dropout_training_statistics_and_seed():
    layer = L.Dropout(0.25, seed=3)
    x = np.ones((200, 50), "float32")
    y = np.asarray(layer(x, training=True))
    zero_fraction = float((y == 0).mean())
    assert abs(zero_fraction - 0.25) < 0.02
    assert_close(y[y != 0], np.full(int((y != 0).sum()), 1 / 0.75))
    assert_close(layer(x, training=False), x)
    tv, ntv = [], []
    a, _ = layer.stateless_call(tv, ntv, x, training=True, seed=7)
    b, _ = layer.stateless_call(tv, ntv, x, training=True, seed=7)
    c, _ = layer.stateless_call(tv, ntv, x, training=True, seed=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_lambda_layer_and_symbolic_arithmetic():
    x = lamina.Input((3,))
    y = L.Lambda(lambda t: t * 2.0)(x)
    z = (y + 1.0) * x - x / 2.0
    model = lamina.Model(x, z)
    data = RNG.standard_normal((2, 3)).astype("float32")
    assert_close(model(data), (data * 2 + 1) * data - data / 2)
    # A lambda function is saved as Keras's bytecode record (refused when loading in
    # safe mode; see tests/saving/test_loader_safety.py).
    lambda_entry = model.get_config()["layers"][1]
    assert lambda_entry["config"]["function"]["class_name"] == "__lambda__"


def test_sequential_constructors_add_pop_and_deferred_build():
    seq = lamina.Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(2)])
    assert seq.built and seq.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    ks = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                           keras.layers.Dense(2)])
    copy_weights(ks, seq)
    data = RNG.standard_normal((5, 3)).astype("float32")
    assert_close(seq(data), ks(data))
    deferred = lamina.Sequential()
    deferred.add(L.Dense(4))
    deferred.add(L.Dense(1))
    assert not deferred.built
    assert deferred(data).shape == (5, 1) and deferred.built
    popped = deferred.pop()
    assert popped.units == 1 and len(deferred.layers) == 1
    with pytest.raises(TypeError, match="Layer instance"):
        deferred.add("dense")
    clone = lamina.Sequential.from_config(seq.get_config())
    clone.set_weights(seq.get_weights())
    assert_close(clone(data), ks(data))
    kclone = keras.Sequential.from_config(seq.get_config())
    copy_weights(seq, kclone)
    assert_close(kclone(data), ks(data))


def test_subclassed_model():
    class Tower(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = L.Dense(8, activation="relu")
            self.out = L.Dense(1)

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    model = Tower()
    data = RNG.standard_normal((4, 5)).astype("float32")
    y = model(data)
    assert y.shape == (4, 1) and model.name == "tower"
    assert len(model.weights) == 4 and model.count_params() == 5 * 8 + 8 + 8 + 1
    out, _ = jax.jit(model.stateless_call)([v.value for v in model.trainable_variables], [], data)
    assert_close(out, y)


def test_regularization_losses_collected():
    x = lamina.Input((3,))
    dense = L.Dense(2, kernel_regularizer=lamina.regularizers.L2(0.1))
    model = lamina.Model(x, dense(x))
    kernel = dense.kernel.numpy()
    assert_close(model.losses[0], 0.1 * np.sum(kernel ** 2))
    tv = [v.value for v in model.trainable_variables]
    _, _, losses = model.stateless_call([t * 0 for t in tv], [], np.ones((1, 3)),
                                        return_losses=True)
    assert_close(losses[0], 0.0)
