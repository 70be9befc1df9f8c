"""SpectralNormalization compared with Keras 3 (power iteration, outputs, vector_u,
gradients, weights order, config round trip, errors)."""

import json

import jax
import numpy as np
import pytest
from oracle import assert_close, keras

from lamina import layers as L

RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 4)).astype("float32")


def probe(layer, x, training):
    """(outputs, new vector_u, grads w.r.t. (trainable values, x)), one jitted program."""
    nt = [v.value for v in layer.non_trainable_variables]

    def loss(tv, x):
        out, new_nt = layer.stateless_call(tv, nt, x, training=training)
        return (out * np.cos(np.arange(out.size)).reshape(out.shape)).sum(), (out, new_nt)

    def f(tv, x):
        (_, (out, new_nt)), grads = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, x)
        return out, new_nt, grads

    return jax.jit(f)([v.value for v in layer.trainable_variables], x)


@pytest.mark.parametrize("power_iterations", [1, 3])
def test_matches_keras(power_iterations):
    k = keras.layers.SpectralNormalization(keras.layers.Dense(5, name="d"),
                                           power_iterations=power_iterations, name="sn")
    lam = L.SpectralNormalization(L.Dense(5, name="d"), power_iterations=power_iterations,
                                  name="sn")
    k.build(X.shape)
    lam.build(X.shape)
    assert [w.name for w in lam.weights] == [w.name for w in k.weights]
    assert [w.name for w in lam.non_trainable_weights] == ["vector_u"]
    k.set_weights([RNG.normal(size=w.shape).astype("float32") for w in k.get_weights()])
    lam.set_weights(k.get_weights())
    for training in (True, False):
        lam_probe, k_probe = probe(lam, X, training), probe(k, X, training)
        assert_close(lam_probe[:2], k_probe[:2])
        assert_close(lam_probe[2], k_probe[2], rtol=1e-4, atol=1e-4)
    # As JSON (the nested build_config's shape is a tuple in Keras, a list in lamina).
    assert json.loads(json.dumps(lam.get_config())) == json.loads(json.dumps(k.get_config()))
    clone = L.SpectralNormalization.from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()
    assert isinstance(clone.layer, L.Dense)


def test_zero_kernel_and_errors():
    lam = L.SpectralNormalization(L.Dense(2, kernel_initializer="zeros"))
    before = lam(X)  # builds
    u = lam.get_weights()[1]
    assert_close(lam(X, training=True), before)
    assert_close(lam.get_weights()[1], u)
    with pytest.raises(ValueError, match="power_iterations"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="kernel"):
        L.SpectralNormalization(L.Dropout(0.5), name="sn_bad").build(X.shape)
