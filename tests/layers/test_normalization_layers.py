"""LayerNormalization, GroupNormalization and UnitNormalization compared with Keras 3.

Numbers go through ``probe``: one jitted program per library and case giving the
outputs and the gradients (XLA compiles are the cost that matters on CI).
"""

import warnings

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(1)
X3 = (RNG.normal(size=(2, 3, 6)) * 2 + 0.5).astype("float32")
X4 = (RNG.normal(size=(2, 3, 4, 6)) * 3 - 1).astype("float32")


def probe(layer, x, grads=True):
    """(outputs, grads w.r.t. (trainable values, x)) of a weighted sum of the outputs."""
    if not grads:
        fn = jax.jit(lambda tv, x: layer.stateless_call(tv, [], x)[0])
        return fn([v.value for v in layer.trainable_variables], x), None
    weights = np.cos(np.arange(x.size)).reshape(x.shape).astype("float32")

    def loss(tv, x):
        out, _ = layer.stateless_call(tv, [], x)
        return (out * weights).sum(), out

    def f(tv, x):
        (_, out), grads = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, x)
        return out, grads

    return jax.jit(f)([v.value for v in layer.trainable_variables], x)


def _pair(cls_name, x, **kwargs):
    """Keras and lamina layers built on ``x``, sharing random weights."""
    kwargs.setdefault("name", "norm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling's deprecation warning
        k = getattr(keras.layers, cls_name)(**kwargs)
        lam = getattr(L, cls_name)(**kwargs)
    k.build(x.shape)
    lam.build(x.shape)
    k.set_weights([RNG.normal(size=w.shape).astype("float32") for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam


# (class, input, kwargs, compare gradients too)
CASES = [
    ("LayerNormalization", X3, {}, True),
    ("LayerNormalization", X4, {"axis": [-3, -1], "center": False, "epsilon": 1e-5}, False),
    ("LayerNormalization", X3, {"rms_scaling": True}, False),
    ("GroupNormalization", X3, {"groups": 3}, True),
    ("GroupNormalization", X4, {"groups": 2, "axis": 2, "scale": False, "epsilon": 1e-2},
     False),
    ("GroupNormalization", X4, {"groups": -1, "center": False}, False),
    ("UnitNormalization", X4, {"axis": [1, 3]}, True),
]


@pytest.mark.parametrize("cls_name,x,kwargs,grads", CASES)
def test_matches_keras(cls_name, x, kwargs, grads):
    k, lam = _pair(cls_name, x, **kwargs)
    assert [(w.name, w.shape) for w in lam.weights] == [(w.name, tuple(w.shape))
                                                         for w in k.weights]
    lam_out, lam_grads = probe(lam, x, grads)
    k_out, k_grads = probe(k, x, grads)
    assert_close(lam_out, k_out)
    if grads:
        assert_close(lam_grads, k_grads, rtol=1e-4, atol=1e-4)
    # Configs after building (LayerNormalization's axis becomes a sorted list then,
    # GroupNormalization's groups=-1 the channel count).
    assert lam.get_config() == k.get_config()
    clone = type(lam).from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()


def test_eager_calls_models_and_zero_slices():
    x = X3.copy()
    x[0, 1] = 0.0
    k, lam = _pair("UnitNormalization", x)
    assert_close(lam(x), probe(k, x, grads=False)[0])
    for cls_name, kwargs in (("LayerNormalization", {"axis": (1, 2)}),
                             ("GroupNormalization", {"groups": 2})):
        k, lam = _pair(cls_name, X3, **kwargs)
        expected = probe(k, X3, grads=False)[0]
        if cls_name == "LayerNormalization":  # eager top-level calls run op by op: slow
            assert_close(lam(X3), expected)
        inp = lamina.Input((3, 6))
        model = lamina.Model(inp, getattr(L, cls_name)(**kwargs)(inp))
        seq = lamina.Sequential([lamina.Input((3, 6)), getattr(L, cls_name)(**kwargs)])
        for m in (model, seq):
            copy_weights(k, m)
            assert_close(jax.jit(m)(X3), expected)


def test_masks_pass_through():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    inp = lamina.Input((3,), dtype="int32")
    x = L.Embedding(5, 4, mask_zero=True)(inp)
    for layer in (L.LayerNormalization(), L.GroupNormalization(groups=2),
                  L.UnitNormalization()):
        x = layer(x)
    _, mask = jax.jit(lamina.Model(inp, x)._run_graph)(ids)
    np.testing.assert_array_equal(np.asarray(mask), ids != 0)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="ln_bad"):
        L.LayerNormalization(axis=3, name="ln_bad").build(X3.shape)
    with pytest.raises(ValueError, match="gn_bad"):
        L.GroupNormalization(groups=4, name="gn_bad").build(X3.shape)
    with pytest.raises(ValueError, match="gn_many"):
        L.GroupNormalization(groups=12, name="gn_many").build(X3.shape)
    with pytest.raises(ValueError, match="groups"):
        L.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="un_bad"):
        L.UnitNormalization(axis=5, name="un_bad").build(X3.shape)
    gn = L.GroupNormalization(groups=3, name="gn_rank")
    gn.build(X3.shape)
    with pytest.raises(ValueError, match="gn_rank"):
        gn(lamina.Input((3, 4, 6)))
    with pytest.raises(TypeError, match="axis"):
        L.LayerNormalization(axis="last")
