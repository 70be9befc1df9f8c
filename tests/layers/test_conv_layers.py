"""Conv1D/Conv2D/Conv3D compared with Keras 3: numbers, gradients, configs, errors, models."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(7)


def _x(shape):
    return RNG.normal(size=shape).astype("float32")


def _config(layer):
    config = dict(layer.get_config())
    config.pop("name")
    return config


def build_pair(name, args, kwargs, x):
    """Builds Keras's and lamina's layer ``name`` on ``x`` and copies Keras's weights over."""
    kl = getattr(keras.layers, name)(*args, **kwargs)
    ll = getattr(L, name)(*args, **kwargs)
    ky = kl(x)
    ll(x)
    assert [w.name for w in ll.weights] == [w.name for w in kl.weights]
    assert [tuple(w.shape) for w in ll.weights] == [tuple(w.shape) for w in kl.weights]
    copy_weights(kl, ll)
    return kl, ll, np.asarray(ky)


CASES = [
    # (class, args, kwargs, input shape)
    ("Conv1D", (3, 3), {}, (2, 7, 2)),
    ("Conv1D", (2, 4), {"strides": 2, "padding": "same"}, (2, 9, 3)),
    ("Conv1D", (4, 3), {"padding": "causal", "dilation_rate": 2, "groups": 2}, (2, 8, 4)),
    ("Conv1D", (2, 3), {"padding": "causal", "strides": 2, "data_format": "channels_first"},
     (2, 3, 7)),
    ("Conv1D", (2, 2), {"strides": 3, "padding": "valid", "use_bias": False,
                        "activation": "relu"}, (2, 10, 2)),
    ("Conv2D", (3, 3), {}, (2, 6, 5, 2)),
    ("Conv2D", (2, 2), {"strides": 2, "padding": "same"}, (2, 5, 6, 3)),
    ("Conv2D", (2, 4), {"strides": (3, 2), "padding": "same"}, (2, 7, 7, 1)),
    ("Conv2D", (2, (3, 2)), {"dilation_rate": (2, 1), "padding": "same"}, (2, 6, 5, 2)),
    ("Conv2D", (4, 3), {"groups": 2, "activation": "tanh"}, (2, 5, 5, 4)),
    ("Conv2D", (2, 3), {"strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 6, 5)),
    ("Conv2D", (6, (2, 3)), {"groups": 3, "data_format": "channels_first", "padding": "same"},
     (2, 3, 5, 4)),
    ("Conv3D", (2, 2), {}, (1, 4, 3, 4, 2)),
    ("Conv3D", (2, 3), {"strides": 2, "padding": "same"}, (1, 4, 5, 3, 1)),
    ("Conv3D", (4, (1, 2, 2)), {"groups": 2, "data_format": "channels_first"}, (1, 2, 3, 3, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_outputs_weights_and_config_match_keras(name, args, kwargs, shape):
    x = _x(shape)
    kl, ll, ky = build_pair(name, args, kwargs, x)
    y = ll(x)
    assert y.shape == ky.shape
    assert_close(y, ky)
    assert _config(ll) == _config(kl)
    # Round trip through lamina's config (and through JSON, where tuples become lists).
    for config in (ll.get_config(), json.loads(json.dumps(ll.get_config()))):
        clone = type(ll).from_config(config)
        clone(x)
        clone.set_weights(ll.get_weights())
        assert_close(clone(x), ky)
        assert _config(clone) == _config(ll)


def test_keras_config_builds_lamina_layer():
    kl = keras.layers.Conv2D(3, (2, 3), strides=(1, 2), padding="same", activation="relu",
                             kernel_regularizer="l2", data_format="channels_first")
    ll = L.Conv2D.from_config(kl.get_config())
    assert _config(ll) == _config(kl)


def test_conv2d_gradients_match_keras():
    x = _x((2, 5, 6, 2))
    kl, ll, _ = build_pair("Conv2D", (3, 3), {"strides": 2, "padding": "same",
                                               "activation": "tanh"}, x)

    def loss(layer, tv, inp):
        out, _ = layer.stateless_call(tv, [], inp)
        return jnp.sum(out ** 2)

    tv = [jnp.asarray(w) for w in kl.get_weights()]
    kg = jax.grad(lambda t, i: loss(kl, t, i), argnums=(0, 1))(tv, jnp.asarray(x))
    lg = jax.grad(lambda t, i: loss(ll, t, i), argnums=(0, 1))(tv, jnp.asarray(x))
    assert_close(lg[0], kg[0], rtol=1e-4, atol=1e-5)
    assert_close(lg[1], kg[1], rtol=1e-4, atol=1e-5)
    # The same gradients under jit (the traced path the train step uses).
    jg = jax.jit(jax.grad(lambda t, i: loss(ll, t, i), argnums=(0, 1)))(tv, jnp.asarray(x))
    assert_close(jg[0], kg[0], rtol=1e-4, atol=1e-5)


def test_jit_of_stateless_call_and_regularizer_loss():
    x = _x((2, 6, 3))
    kl, ll, ky = build_pair("Conv1D", (2, 3), {"kernel_regularizer": "l2",
                                               "bias_regularizer": "l1",
                                               "padding": "causal"}, x)
    fn = jax.jit(lambda tv, inp: ll.stateless_call(tv, [], inp)[0])
    assert_close(fn([v.value for v in ll.trainable_variables], x), ky)
    ll(x)
    assert_close(sum(ll.losses), sum(np.asarray(v) for v in kl.losses))


def test_symbolic_shapes_with_unknown_dims():
    x = lamina.Input((None, None, 3))
    y = L.Conv2D(4, 3, strides=2, padding="same")(x)
    assert y.shape == (None, None, None, 4)
    y = L.Conv1D(5, 3, padding="causal", data_format="channels_first")(lamina.Input((2, None)))
    assert y.shape == (None, 5, None)
    y = L.Conv3D(2, 2, strides=2)(lamina.Input((5, 4, 3, 1)))
    assert y.shape == tuple(keras.layers.Conv3D(2, 2, strides=2)(keras.Input((5, 4, 3, 1))).shape)


@pytest.mark.parametrize("name,shape", [("Conv1D", (2, 5)), ("Conv2D", (2, 5, 5)),
                                        ("Conv3D", (2, 4, 4, 4)), ("Conv2D", (1, 2, 4, 4, 2))])
def test_wrong_rank_raises_naming_layer_and_shape(name, shape):
    layer = getattr(L, name)(2, 2, name=f"my_{name.lower()}")
    with pytest.raises(ValueError, match=f"my_{name.lower()}") as info:
        layer(np.zeros(shape, "float32"))
    assert str(shape) in str(info.value)
    symbolic = getattr(L, name)(2, 2, name=f"sym_{name.lower()}")
    with pytest.raises(ValueError, match=f"sym_{name.lower()}") as info:
        symbolic(lamina.Input(shape[1:]))
    assert str((None,) + shape[1:]) in str(info.value)


def test_built_layer_rejects_other_channel_count():
    layer = L.Conv2D(2, 2, name="chan_conv")
    layer(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="chan_conv"):
        layer(np.zeros((1, 4, 4, 2), "float32"))


@pytest.mark.parametrize("kwargs,arg", [
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding"),
    ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "padding"),
    ({"filters": -2, "kernel_size": 3}, "filters"),
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 2.5, "kernel_size": 3}, "filters"),
    ({"filters": 2, "kernel_size": 0}, "kernel_size"),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size"),
    ({"filters": 2, "kernel_size": 3, "strides": 0}, "strides"),
    ({"filters": 2, "kernel_size": 3, "data_format": "NHWC"}, "data_format"),
    ({"filters": 3, "kernel_size": 3, "groups": 2}, "groups"),
    ({"filters": 2, "kernel_size": 3, "groups": 0}, "groups"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
])
def test_invalid_arguments_raise_naming_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        L.Conv2D(**kwargs)


def test_build_errors_name_layer():
    with pytest.raises(ValueError, match="grp.*groups"):
        L.Conv2D(4, 3, groups=2, name="grp")(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="tiny.*zero or negative"):
        L.Conv2D(2, 3, name="tiny")(lamina.Input((2, 2, 3)))


def test_padding_is_case_insensitive_and_aliases():
    assert L.Conv2D(2, 3, padding="SAME").padding == "same"
    assert L.Convolution2D is L.Conv2D and L.Convolution1D is L.Conv1D
    assert L.Convolution3D is L.Conv3D


def _small_cnn(K):
    inputs = K.Input((8, 8, 3))
    x = K.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = K.layers.MaxPooling2D()(x)
    x = K.layers.SeparableConv2D(5, 2, strides=2, padding="same")(x)
    x = K.layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    x = K.layers.DepthwiseConv2D(3, depth_multiplier=2)(x)
    x = K.layers.GlobalAveragePooling2D()(x)
    outputs = K.layers.Dense(2)(x)
    return K.Model(inputs, outputs)


def test_inside_functional_model():
    km, lm = _small_cnn(keras), _small_cnn(lamina)
    assert lm.count_params() == km.count_params()
    assert [w.shape for w in lm.get_weights()] == [w.shape for w in km.get_weights()]
    copy_weights(km, lm)
    x = _x((2, 8, 8, 3))
    assert_close(lm(x), km(x))


def _sequence_stack(K):
    return K.Sequential([
        K.Input((10, 3)),
        K.layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
        K.layers.AveragePooling1D(2, padding="same"),
        K.layers.Conv1D(2, 2, strides=2),
        K.layers.GlobalMaxPooling1D(),
    ])


def test_inside_sequential():
    km, lm = _sequence_stack(keras), _sequence_stack(lamina)
    copy_weights(km, lm)
    x = _x((3, 10, 3))
    assert_close(lm(x), km(x))
