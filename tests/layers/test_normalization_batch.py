"""BatchNormalization compared with Keras 3: inference, training statistics, masks,
frozen layers, renorm, gradients, configs, models and errors.

Most comparisons go through ``probe``: ONE jitted program per library and case that
returns the outputs, the new non-trainable values and the gradients (XLA compiles
cost ~0.3 s each on CI, so the suite keeps their number small).
"""

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X3 = (RNG.normal(size=(4, 3, 5)) * 2 + 1).astype("float32")
X4 = (RNG.normal(size=(3, 4, 2, 5)) * 3 - 1).astype("float32")
MASK = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 1]], dtype=bool)


def probe(layer, x, **kwargs):
    """One jitted program (Keras or lamina layer) giving the inference output, then the
    output, new non-trainable values and gradients w.r.t. (trainable values, x) of a
    call with ``kwargs`` (e.g. ``training=True``)."""
    nt = [v.value for v in layer.non_trainable_variables]
    weights = np.cos(np.arange(x.size)).reshape(x.shape).astype("float32")

    def loss(tv, x):
        out, new_nt = layer.stateless_call(tv, nt, x, **kwargs)
        return (out * weights).sum(), (out, new_nt)

    def f(tv, x):
        inference = layer.stateless_call(tv, nt, x)[0]
        (_, (out, new_nt)), grads = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, x)
        return inference, out, new_nt, grads

    return jax.jit(f)([v.value for v in layer.trainable_variables], x)


def assert_probes_close(lam_probe, k_probe):
    assert_close(lam_probe[:3], k_probe[:3])
    assert_close(lam_probe[3], k_probe[3], rtol=1e-4, atol=1e-4)


def _pair(x, **kwargs):
    """Keras and lamina BatchNormalization on ``x`` with the same random weights."""
    kwargs.setdefault("name", "bn")
    k = keras.layers.BatchNormalization(**kwargs)
    lam = L.BatchNormalization(**kwargs)
    k.build(x.shape)
    lam.build(x.shape)
    # Positive values: valid as gammas and variances.
    k.set_weights([np.abs(RNG.normal(size=w.shape)).astype("float32") + 0.5
                   for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam


@pytest.mark.parametrize("x,kwargs", [
    (X3[:, 0], {}),
    (X3, {"axis": 1, "momentum": 0.9, "epsilon": 1e-2}),
    (X4, {"axis": -2, "center": False, "scale": False}),
])
def test_outputs_statistics_and_gradients_match_keras(x, kwargs):
    k, lam = _pair(x, **kwargs)
    assert [w.name for w in lam.weights] == [w.name for w in k.weights]
    assert [v.name for v in lam.non_trainable_weights] == ["moving_mean", "moving_variance"]
    # training=True: batch statistics in the output and updated moving statistics.
    assert_probes_close(probe(lam, x, training=True), probe(k, x, training=True))


def test_masked_statistics_match_keras():
    k, lam = _pair(X3)
    assert_probes_close(probe(lam, X3, training=True, mask=MASK),
                        probe(k, X3, training=True, mask=MASK))
    with pytest.raises(ValueError, match="one dimension less"):
        lam(X3, training=True, mask=MASK[:, :, None])


def test_frozen_layer_runs_in_inference_mode():
    k, lam = _pair(X3)
    k.trainable = False
    lam.trainable = False
    assert lam.trainable_weights == [] and len(lam.non_trainable_weights) == 4
    lam_probe = probe(lam, X3, training=True)
    assert_probes_close(lam_probe, probe(k, X3, training=True))
    assert_close(lam_probe[1], lam_probe[0])  # inference mode
    assert_close(lam_probe[2], lam.get_weights())  # nothing updated


def test_renorm_matches_keras():
    kwargs = {"renorm": True, "renorm_clipping": {"rmax": 1.5, "rmin": 0.8, "dmax": 0.5},
              "renorm_momentum": 0.9}
    k, lam = _pair(X3, **kwargs)
    assert [w.name for w in lam.weights] == [w.name for w in k.weights]
    assert_probes_close(probe(lam, X3, training=True), probe(k, X3, training=True))
    assert lam.get_config() == k.get_config()


def test_eager_calls_and_models_update_moving_statistics():
    k, lam = _pair(X3)
    k_inf, k_train, k_stats, _ = probe(k, X3, training=True)
    assert_close(lam(X3), k_inf)
    assert_close(lam(X3, training=True), k_train)
    assert_close(lam.get_weights()[2:], k_stats)

    inp = lamina.Input((3, 5))
    model = lamina.Model(inp, L.BatchNormalization()(inp))
    seq = lamina.Sequential([lamina.Input((3, 5)), L.BatchNormalization()])
    for m in (model, seq):
        copy_weights(k, m)
        assert_close(m(X3), k_inf)
        assert_close(m(X3, training=True), k_train)
        assert_close(m.get_weights()[2:], k_stats)


def test_config_round_trip_and_errors():
    kwargs = {"axis": 1, "momentum": 0.5, "gamma_regularizer": "l2", "beta_constraint":
              "non_neg", "moving_variance_initializer": "zeros"}
    k, lam = _pair(X3, **kwargs)
    assert lam.get_config() == k.get_config()
    clone = L.BatchNormalization.from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()
    clone.build(X3.shape)
    assert [w.shape for w in clone.weights] == [w.shape for w in lam.weights]

    with pytest.raises(ValueError, match="'bn'"):
        lam(X3[:, 0])
    with pytest.raises(ValueError, match="bn_axis"):
        L.BatchNormalization(axis=3, name="bn_axis").build((2, 3))
    with pytest.raises(ValueError, match="synchronized"):
        L.BatchNormalization(synchronized=True)
    with pytest.raises(ValueError, match="renorm_clipping"):
        L.BatchNormalization(renorm=True, renorm_clipping={"rmx": 1.0})
