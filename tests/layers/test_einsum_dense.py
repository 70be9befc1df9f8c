"""EinsumDense compared with Keras 3: shapes, numbers, configs, initializer fans, errors."""

import math

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)

# (equation, output_shape, bias_axes, input_shape)
CASES = [
    ("ab,bc->ac", 4, "c", (2, 3)),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 3)),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 5, 3)),
    ("abc,cd->abd", (5, 4), "b", (2, 5, 3)),  # bias over an input axis: shape (5, 1)
    ("...b,bc->...c", (4,), "c", (2, 5, 3)),  # left "..."
    ("ab...,bc->ac...", (4,), "c", (2, 3, 5)),  # right "...": bias shape (4, 1)
    ("abc,cd->abd", (None, 4), None, (2, 5, 3)),
]


def _randomized_pair(equation, output_shape, bias_axes, shape, **kwargs):
    k = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, **kwargs)
    lam = L.EinsumDense(equation, output_shape, bias_axes=bias_axes, **kwargs)
    x = RNG.normal(size=shape).astype("float32")
    k(x)
    lam(x)
    k.set_weights([RNG.normal(size=w.shape).astype("float32") for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam, x


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", CASES)
def test_matches_keras(equation, output_shape, bias_axes, shape):
    k, lam, x = _randomized_pair(equation, output_shape, bias_axes, shape)
    assert [w.shape for w in lam.weights] == [tuple(w.shape) for w in k.weights]
    assert [w.name for w in lam.weights] == [w.name for w in k.weights]
    assert_close(lam(x), k(x))
    assert lam.compute_output_shape(shape) == k.compute_output_shape(shape)
    assert lam.get_config() == k.get_config()


def test_activation_config_round_trip_and_symbolic_shape():
    k, lam, x = _randomized_pair("abc,cde->abde", (None, 2, 4), "de", (2, 5, 3),
                                 activation="relu", kernel_regularizer="l2")
    assert_close(lam(x), k(x))
    cfg = lam.get_config()
    assert cfg == k.get_config()
    clone = L.EinsumDense.from_config(cfg)
    clone(x)
    clone.set_weights(lam.get_weights())
    assert_close(clone(x), lam(x))
    assert clone.get_config()["output_shape"] == (None, 2, 4)
    inp = lamina.Input((None, 3))
    assert L.EinsumDense("abc,cde->abde", (None, 2, 4))(inp).shape == (None, None, 2, 4)


def test_gradients_match_keras():
    k, lam, x = _randomized_pair("abc,cde->abde", (None, 2, 4), "de", (2, 5, 3))

    def loss(layer):
        def f(tv, xx):
            out, _ = layer.stateless_call(tv, [], xx)
            return (out ** 2).sum()
        return f

    kg = jax.grad(loss(k), argnums=(0, 1))([v.value for v in k.trainable_variables], x)
    lg = jax.grad(loss(lam), argnums=(0, 1))([v.value for v in lam.trainable_variables], x)
    assert_close(lg, kg, rtol=1e-4, atol=1e-5)


def test_kernel_initializer_uses_equation_fans():
    # Kernel (c, d, e) = (16, 8, 8): fan_in = c, fan_out = d * e (not Keras's conv-style
    # receptive-field rule), so the glorot limit is sqrt(6 / (16 + 64)).
    lam = L.EinsumDense("abc,cde->abde", (None, 8, 8))
    lam.build((2, 5, 16))
    kernel = np.asarray(lam.kernel.value)
    limit = math.sqrt(6.0 / (16 + 64))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit
    # The layer's own initializer (and so its config) is left without axes.
    assert lam.get_config()["kernel_initializer"]["config"]["input_axes"] is None


def test_errors_name_the_layer():
    lam = L.EinsumDense("abc,cd->abd", (None, 4), name="proj")
    lam(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="proj"):
        lam(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        L.EinsumDense("ab->b", 4).build((2, 3))
    with pytest.raises(ValueError, match="proj2"):
        L.EinsumDense("abc,cd->abd", (7, 4), name="proj2").build((2, 5, 3))
    with pytest.raises(ValueError, match="did not have a match"):
        L.EinsumDense("ab,bzc->ac", 4).build((2, 3))
    with pytest.raises(NotImplementedError, match="LoRA"):
        L.EinsumDense("ab,bc->ac", 4, lora_rank=2)
