"""Separable, depthwise and transposed convolutions compared with Keras 3."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(11)


def _x(shape):
    return RNG.normal(size=shape).astype("float32")


def _config(layer):
    config = dict(layer.get_config())
    config.pop("name")
    return config


CASES = [
    # (class, args, kwargs, input shape)
    ("SeparableConv1D", (3, 3), {}, (2, 7, 2)),
    ("SeparableConv1D", (2, 2), {"strides": 2, "padding": "same", "depth_multiplier": 2},
     (2, 7, 3)),
    ("SeparableConv1D", (4, 3), {"dilation_rate": 2, "data_format": "channels_first",
                                 "activation": "relu"}, (2, 2, 8)),
    ("SeparableConv2D", (3, 3), {"depth_multiplier": 2}, (2, 5, 6, 2)),
    ("SeparableConv2D", (2, 2), {"strides": 2, "padding": "same", "use_bias": False},
     (2, 5, 5, 3)),
    ("SeparableConv2D", (2, (3, 2)), {"padding": "same", "data_format": "channels_first",
                                      "dilation_rate": (1, 2)}, (2, 3, 5, 6)),
    ("DepthwiseConv1D", (3,), {}, (2, 6, 3)),
    ("DepthwiseConv1D", (2,), {"strides": 2, "padding": "same", "depth_multiplier": 3},
     (2, 7, 2)),
    ("DepthwiseConv1D", (3,), {"dilation_rate": 2, "data_format": "channels_first"},
     (2, 2, 8)),
    ("DepthwiseConv2D", (3,), {"depth_multiplier": 2}, (2, 5, 5, 2)),
    ("DepthwiseConv2D", ((2, 3),), {"strides": (2, 1), "padding": "same"}, (2, 6, 5, 3)),
    ("DepthwiseConv2D", (2,), {"strides": 2, "dilation_rate": 2, "padding": "same"},
     (2, 7, 7, 2)),
    ("DepthwiseConv2D", (3,), {"data_format": "channels_first", "activation": "sigmoid"},
     (2, 2, 5, 4)),
    ("Conv1DTranspose", (3, 3), {}, (2, 5, 2)),
    ("Conv1DTranspose", (2, 4), {"strides": 2, "padding": "same"}, (2, 5, 3)),
    ("Conv1DTranspose", (2, 3), {"strides": 3, "output_padding": 2, "padding": "same"},
     (2, 4, 2)),
    ("Conv1DTranspose", (2, 3), {"dilation_rate": 2, "data_format": "channels_first"},
     (2, 3, 5)),
    ("Conv2DTranspose", (2, 3), {"strides": 2}, (2, 4, 3, 2)),
    ("Conv2DTranspose", (3, 2), {"strides": 2, "padding": "same"}, (2, 3, 4, 2)),
    ("Conv2DTranspose", (2, (4, 3)), {"strides": (2, 3), "padding": "same",
                                      "output_padding": (1, 0)}, (2, 3, 3, 1)),
    ("Conv2DTranspose", (2, 3), {"strides": 2, "output_padding": 1, "padding": "valid",
                                 "data_format": "channels_first"}, (2, 2, 3, 4)),
    ("Conv2DTranspose", (2, 2), {"dilation_rate": 2, "padding": "same", "use_bias": False},
     (2, 4, 4, 3)),
    ("Conv3DTranspose", (2, 2), {"strides": 2}, (1, 2, 3, 2, 2)),
    ("Conv3DTranspose", (2, 3), {"strides": (1, 2, 2), "padding": "same",
                                 "output_padding": (0, 1, 0)}, (1, 2, 2, 3, 1)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_outputs_weights_and_config_match_keras(name, args, kwargs, shape):
    x = _x(shape)
    kl = getattr(keras.layers, name)(*args, **kwargs)
    ll = getattr(L, name)(*args, **kwargs)
    ky = np.asarray(kl(x))
    ll(x)
    assert [w.name for w in ll.weights] == [w.name for w in kl.weights]
    assert [tuple(w.shape) for w in ll.weights] == [tuple(w.shape) for w in kl.weights]
    copy_weights(kl, ll)
    y = ll(x)
    assert y.shape == ky.shape
    assert_close(y, ky)
    assert _config(ll) == _config(kl)
    clone = type(ll).from_config(json.loads(json.dumps(ll.get_config())))
    clone(x)
    clone.set_weights(ll.get_weights())
    assert_close(clone(x), ky)
    assert _config(clone) == _config(ll)


def _sin_loss(layer, trainable, inputs):
    return jnp.sum(jnp.sin(layer.stateless_call(trainable, [], inputs)[0]))


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Conv2DTranspose", (2, 3), {"strides": 2, "padding": "same", "output_padding": 1},
     (2, 3, 3, 2)),
    ("SeparableConv2D", (3, 2), {"depth_multiplier": 2, "padding": "same"}, (2, 4, 4, 2)),
])
def test_gradients_match_keras(name, args, kwargs, shape):
    x = jnp.asarray(_x(shape))
    kl = getattr(keras.layers, name)(*args, **kwargs)
    ll = getattr(L, name)(*args, **kwargs)
    kl(x)
    ll(x)
    tv = [jnp.asarray(w) for w in kl.get_weights()]
    kg = jax.grad(lambda t, i: _sin_loss(kl, t, i), argnums=(0, 1))(tv, x)
    lg = jax.grad(lambda t, i: _sin_loss(ll, t, i), argnums=(0, 1))(tv, x)
    assert_close(lg, kg, rtol=1e-4, atol=1e-5)


def test_symbolic_shapes_with_unknown_dims():
    y = L.Conv2DTranspose(3, 3, strides=2)(lamina.Input((None, 4, 2)))
    ky = keras.layers.Conv2DTranspose(3, 3, strides=2)(keras.Input((None, 4, 2)))
    assert y.shape == tuple(ky.shape) == (None, None, 9, 3)
    y = L.SeparableConv1D(4, 3, padding="same", strides=2)(lamina.Input((None, 2)))
    assert y.shape == (None, None, 4)
    y = L.DepthwiseConv2D(3, depth_multiplier=2)(lamina.Input((6, None, 3)))
    assert y.shape == (None, 4, None, 6)


@pytest.mark.parametrize("name,shape", [("SeparableConv2D", (2, 5, 5)),
                                        ("DepthwiseConv1D", (2, 5, 5, 1)),
                                        ("Conv2DTranspose", (2, 5, 5)),
                                        ("Conv3DTranspose", (2, 4, 4, 4))])
def test_wrong_rank_raises_naming_layer_and_shape(name, shape):
    args = (2,) if name.startswith("Depthwise") else (2, 2)
    layer = getattr(L, name)(*args, name=f"bad_{name.lower()}")
    with pytest.raises(ValueError, match=f"bad_{name.lower()}") as info:
        layer(np.zeros(shape, "float32"))
    assert str(shape) in str(info.value)


@pytest.mark.parametrize("make,arg", [
    (lambda: L.SeparableConv1D(2, 3, padding="causal"), "padding"),
    (lambda: L.DepthwiseConv1D(3, padding="causal"), "padding"),
    (lambda: L.Conv1DTranspose(2, 3, padding="causal"), "padding"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: L.SeparableConv2D(0, 3), "filters"),
    (lambda: L.SeparableConv2D(2, 3, depth_multiplier=-1), "depth_multiplier"),
    (lambda: L.Conv2DTranspose(-1, 3), "filters"),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
    (lambda: L.Conv2DTranspose(2, 3, output_padding=1), "output_padding"),
    (lambda: L.Conv2DTranspose(2, 3, strides=2, output_padding=-1), "output_padding"),
    (lambda: L.Conv1DTranspose(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: L.DepthwiseConv2D((2, 2, 2)), "kernel_size"),
    (lambda: L.SeparableConv2D(2, 3, data_format="channels_middle"), "data_format"),
])
def test_invalid_arguments_raise_naming_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_aliases_and_positional_order():
    assert L.SeparableConvolution2D is L.SeparableConv2D
    assert L.SeparableConvolution1D is L.SeparableConv1D
    assert L.Convolution2DTranspose is L.Conv2DTranspose
    assert L.Convolution1DTranspose is L.Conv1DTranspose
    assert L.Convolution3DTranspose is L.Conv3DTranspose
    # Keras orders Conv3DTranspose's data_format before output_padding, others after.
    layer = L.Conv3DTranspose(2, 3, 2, "same", "channels_first", 1)
    assert layer.data_format == "channels_first" and layer.output_padding == (1, 1, 1)
    layer = L.Conv2DTranspose(2, 3, 2, "same", 1, "channels_first")
    assert layer.data_format == "channels_first" and layer.output_padding == (1, 1)
    layer = L.DepthwiseConv2D(3, 1, "same", 4)
    assert layer.depth_multiplier == 4
