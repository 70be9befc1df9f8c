"""Max/average pooling and global pooling compared with Keras 3."""

import json

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(3)


def _x(shape):
    return RNG.normal(size=shape).astype("float32")


def _config(layer):
    config = dict(layer.get_config())
    config.pop("name")
    return config


def _compare(name, args, kwargs, x, **call_kwargs):
    kl = getattr(keras.layers, name)(*args, **kwargs)
    ll = getattr(L, name)(*args, **kwargs)
    ky = np.asarray(kl(x, **call_kwargs))
    y = ll(x, **call_kwargs)
    assert y.shape == ky.shape
    assert_close(y, ky, rtol=1e-6, atol=1e-6)
    assert _config(ll) == _config(kl)
    assert ll.weights == []
    return ll, ky


WINDOW_CASES = [
    ("MaxPooling1D", (), {}, (2, 7, 3)),
    ("MaxPooling1D", (3,), {"strides": 2, "padding": "same"}, (2, 8, 2)),
    ("MaxPooling1D", (2,), {"data_format": "channels_first", "padding": "same"}, (2, 3, 5)),
    ("MaxPooling2D", (), {}, (2, 5, 4, 2)),
    ("MaxPooling2D", ((3, 2),), {"strides": (2, 1), "padding": "same"}, (2, 6, 5, 1)),
    ("MaxPooling2D", (2,), {"strides": 1, "data_format": "channels_first"}, (2, 2, 4, 5)),
    ("MaxPooling3D", (), {"padding": "same"}, (1, 3, 4, 5, 2)),
    ("AveragePooling1D", (2,), {}, (2, 7, 3)),
    ("AveragePooling1D", (3,), {"strides": 2, "padding": "same"}, (2, 8, 2)),
    ("AveragePooling2D", (2,), {"padding": "same"}, (2, 5, 5, 2)),
    ("AveragePooling2D", ((3, 3),), {"strides": 2, "padding": "same",
                                     "data_format": "channels_first"}, (2, 2, 6, 7)),
    ("AveragePooling2D", (3,), {"strides": (1, 2)}, (2, 5, 6, 1)),
    ("AveragePooling3D", (2,), {"strides": 1}, (1, 3, 3, 4, 2)),
    ("AveragePooling3D", ((3, 2, 2),), {"padding": "same", "data_format": "channels_first"},
     (1, 2, 4, 3, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", WINDOW_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(WINDOW_CASES)])
def test_window_pooling_matches_keras(name, args, kwargs, shape):
    x = _x(shape)
    ll, ky = _compare(name, args, kwargs, x)
    clone = type(ll).from_config(json.loads(json.dumps(ll.get_config())))
    assert_close(clone(x), ky, rtol=1e-6, atol=1e-6)
    assert _config(clone) == _config(ll)


def test_same_average_pooling_excludes_padding():
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    # Windows [pad, 1, 2], [2, 3, 4], [4, 5, pad]: padded cells do not count.
    expected = np.array([1.5, 3.0, 4.5], "float32").reshape(1, 3, 1)
    assert_close(L.AveragePooling1D(3, strides=2, padding="same")(x), expected)
    assert_close(keras.layers.AveragePooling1D(3, strides=2, padding="same")(x), expected)


def test_same_max_pooling_ignores_padding_for_negative_inputs():
    x = -1.0 - np.abs(_x((1, 3, 3, 1)))
    y = np.asarray(L.MaxPooling2D(2, padding="same")(x))
    assert y.shape == (1, 2, 2, 1)
    assert np.all(y < 0)
    assert_close(y[0, 1, 1, 0], x[0, 2, 2, 0])


GLOBAL_CASES = [(kind, rank, keepdims, fmt)
                for kind in ("GlobalMaxPooling", "GlobalAveragePooling")
                for rank, keepdims, fmt in ((1, False, "channels_last"),
                                            (2, True, "channels_first"),
                                            (3, False, "channels_first"),
                                            (2, False, "channels_last"))]


@pytest.mark.parametrize("kind,rank,keepdims,fmt", GLOBAL_CASES)
def test_global_pooling_matches_keras(kind, rank, keepdims, fmt):
    x = _x((2, 3) + (4,) * rank)
    ll, ky = _compare(f"{kind}{rank}D", (), {"keepdims": keepdims, "data_format": fmt}, x)
    clone = type(ll).from_config(ll.get_config())
    assert_close(clone(x), ky, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt,keepdims", [("channels_last", False), ("channels_first", True)])
def test_global_average_pooling_1d_mask(fmt, keepdims):
    x = _x((3, 5, 2) if fmt == "channels_last" else (3, 2, 5))
    mask = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    _compare("GlobalAveragePooling1D", (), {"data_format": fmt, "keepdims": keepdims}, x,
             mask=mask)
    assert L.GlobalAveragePooling1D().compute_mask(x, mask) is None


def _masked_model(K):
    inputs = K.Input((6,), dtype="int32")
    x = K.layers.Embedding(9, 3, mask_zero=True)(inputs)
    x = K.layers.GlobalAveragePooling1D()(x)
    return K.Model(inputs, K.layers.Dense(2)(x))


def test_mask_flows_into_global_average_pooling_in_a_model():
    km, lm = _masked_model(keras), _masked_model(lamina)
    copy_weights(km, lm)
    tokens = np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6]], "int32")
    assert_close(lm(tokens), km(tokens))


def test_jit_of_stateless_call():
    layer = L.AveragePooling2D(2, strides=1, padding="same")
    x = _x((2, 3, 3, 2))
    expected = layer(x)
    out = jax.jit(lambda inp: layer.stateless_call([], [], inp)[0])(x)
    assert_close(out, expected)


@pytest.mark.parametrize("make,shape", [
    (lambda name: L.MaxPooling2D(name=name), (2, 5, 5)),
    (lambda name: L.AveragePooling1D(2, name=name), (2, 5, 5, 1)),
    (lambda name: L.MaxPooling3D(name=name), (2, 4, 4, 4)),
    (lambda name: L.GlobalAveragePooling2D(name=name), (2, 5, 5)),
    (lambda name: L.GlobalMaxPooling1D(name=name), (2, 5)),
])
def test_wrong_rank_raises_naming_layer_and_shape(make, shape):
    with pytest.raises(ValueError, match="pool_under_test") as info:
        make("pool_under_test")(np.zeros(shape, "float32"))
    assert str(shape) in str(info.value)
    with pytest.raises(ValueError, match="sym_pool"):
        make("sym_pool")(lamina.Input(shape[1:]))


@pytest.mark.parametrize("make,arg", [
    (lambda: L.MaxPooling2D(padding="full"), "padding"),
    (lambda: L.MaxPooling1D(padding="causal"), "padding"),
    (lambda: L.AveragePooling2D(0), "pool_size"),
    (lambda: L.AveragePooling2D((2, 2, 2)), "pool_size"),
    (lambda: L.MaxPooling2D(2, strides=0), "strides"),
    (lambda: L.MaxPooling3D(data_format="NDHWC"), "data_format"),
    (lambda: L.GlobalMaxPooling2D(data_format="NHWC"), "data_format"),
])
def test_invalid_arguments_raise_naming_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_pool_too_large_for_input_raises():
    with pytest.raises(ValueError, match="small_pool.*zero or negative"):
        L.MaxPooling2D(3, name="small_pool")(lamina.Input((2, 5, 1)))


def test_aliases():
    pairs = [("MaxPool1D", "MaxPooling1D"), ("MaxPool2D", "MaxPooling2D"),
             ("MaxPool3D", "MaxPooling3D"), ("AvgPool1D", "AveragePooling1D"),
             ("AvgPool2D", "AveragePooling2D"), ("AvgPool3D", "AveragePooling3D"),
             ("GlobalMaxPool1D", "GlobalMaxPooling1D"), ("GlobalMaxPool2D", "GlobalMaxPooling2D"),
             ("GlobalMaxPool3D", "GlobalMaxPooling3D"),
             ("GlobalAvgPool1D", "GlobalAveragePooling1D"),
             ("GlobalAvgPool2D", "GlobalAveragePooling2D"),
             ("GlobalAvgPool3D", "GlobalAveragePooling3D")]
    for alias, name in pairs:
        assert getattr(L, alias) is getattr(L, name)
        assert getattr(keras.layers, alias) is getattr(keras.layers, name)
    # Defaults: strides follow pool_size; padding is stored as given.
    config = L.MaxPool2D((3, 2), padding="SAME").get_config()
    assert config["strides"] == (3, 2) and config["padding"] == "SAME"
