"""Top-level names of ``keras`` that lamina exports: scopes, remat, device, base classes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import keras

import lamina


def test_base_classes_are_the_package_classes():
    assert lamina.Loss is lamina.losses.Loss
    assert lamina.Metric is lamina.metrics.Metric
    assert lamina.Optimizer is lamina.optimizers.Optimizer
    assert lamina.Initializer is lamina.initializers.Initializer
    assert lamina.Regularizer is lamina.regularizers.Regularizer
    assert lamina.Variable is lamina.state.Variable
    assert issubclass(lamina.FloatDTypePolicy, lamina.DTypePolicy)
    assert lamina.FloatDTypePolicy("mixed_float16").compute_dtype == "float16"
    assert isinstance(lamina.Input((2,)), lamina.KerasTensor)
    assert lamina.version() == lamina.__version__


def test_stateless_scope_like_keras():
    for mod in (keras, lamina):
        v = mod.Variable(np.ones((2,), "float32"), name="v")
        with mod.StatelessScope(state_mapping=[(v, np.full((2,), 3.0, "float32"))]) as scope:
            np.testing.assert_allclose(np.asarray(v.value), 3.0)
            v.assign(np.full((2,), 5.0, "float32"))
            np.testing.assert_allclose(np.asarray(scope.get_current_value(v)), 5.0)
            np.testing.assert_allclose(np.asarray(v.value), 5.0)
        np.testing.assert_allclose(np.asarray(v.value), 1.0)  # unchanged outside
        w = mod.Variable(np.zeros((1,), "float32"), name="w")
        with mod.StatelessScope() as scope:
            assert scope.get_current_value(w) is None
            scope.add_update((w, np.ones((1,), "float32")))
            np.testing.assert_allclose(np.asarray(scope.get_current_value(w)), 1.0)
        with mod.StatelessScope(collect_losses=True) as scope:
            scope.add_loss(2.0)
        assert scope.losses == [2.0]


def test_stateless_scope_runs_a_layer_on_given_weights():
    layer = lamina.layers.Dense(2, use_bias=False)
    layer.build((None, 3))
    kernel = np.arange(6, dtype="float32").reshape(3, 2)
    with lamina.StatelessScope([(layer.kernel, kernel)]):
        out = layer(np.ones((1, 3), "float32"))
    np.testing.assert_allclose(np.asarray(out), np.ones((1, 3)) @ kernel)
    assert not np.allclose(layer.kernel.numpy(), kernel)


def test_name_scope_paths_like_keras():
    paths = {}
    for name, mod in (("keras", keras), ("lamina", lamina)):
        with mod.name_scope("outer"):
            v = mod.Variable(1.0, name="v")
            with mod.name_scope("inner"):
                w = mod.Variable(1.0, name="w")
            with mod.name_scope("x", override_parent="root"):
                z = mod.Variable(1.0, name="z")
        u = mod.Variable(1.0, name="u")
        paths[name] = (v.path, w.path, z.path, u.path)
    assert paths["lamina"] == paths["keras"] == ("outer/v", "outer/inner/w", "root/x/z", "u")
    with pytest.raises(ValueError):
        lamina.name_scope("a/b")


def test_name_scope_prefixes_layer_weights_and_deduplicates_callers():
    with lamina.name_scope("block"):
        layer = lamina.layers.Dense(2, name="d")
        layer.build((None, 3))
    assert layer.kernel.path == "block/d/kernel"
    owner = object()
    with lamina.name_scope("s", caller=owner):
        with lamina.name_scope("s", caller=owner):
            assert lamina.name_scope.__module__ == "lamina.name_scopes"
            v = lamina.Variable(1.0, name="v")
    assert v.path == "s/v"


def test_symbolic_scope():
    from lamina.symbolic_scope import in_symbolic_scope

    assert not in_symbolic_scope()
    with lamina.SymbolicScope() as scope:
        assert in_symbolic_scope()
        with lamina.SymbolicScope():
            assert in_symbolic_scope()
        assert in_symbolic_scope()
    assert not in_symbolic_scope()
    assert isinstance(scope, lamina.SymbolicScope)


def test_device_places_arrays():
    with lamina.device("cpu:0"):
        x = jnp.ones(3)
    assert next(iter(x.devices())) == jax.devices("cpu")[0]
    with lamina.device(jax.devices("cpu")[0]):
        pass
    for bad in ("cpu:99", "nodevice:0", 3):
        with pytest.raises(ValueError):
            lamina.device(bad)


def test_remat_gives_the_same_values_and_gradients():
    def f(x):
        return jnp.sum(jnp.sin(x) ** 2)

    x = jnp.linspace(0.0, 1.0, 5)
    g = lamina.remat(f)
    np.testing.assert_allclose(g(x), f(x), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(g)(x), jax.grad(f)(x), rtol=1e-6)
    k = keras.remat(f)
    np.testing.assert_allclose(g(x), k(x), rtol=1e-6)


def test_remat_scope_like_keras():
    from lamina.rematerialization import get_current_remat_mode

    assert get_current_remat_mode() is None
    with lamina.RematScope(mode="list_of_layers", layer_names=["d1"]) as outer:
        assert get_current_remat_mode() is outer
        with lamina.RematScope(mode=None):
            assert get_current_remat_mode() is None
        assert get_current_remat_mode().layer_names == ["d1"]
    assert get_current_remat_mode() is None
    for mod in (keras, lamina):
        with pytest.raises(ValueError):
            mod.RematScope(mode="bogus")
        scope = mod.RematScope()
        assert (scope.mode, scope.output_size_threshold, scope.layer_names) == ("full", 1024, [])


def test_quantizer_base_like_keras():
    for mod in (keras, lamina):
        q = mod.Quantizer()
        assert q.output_dtype == "int8"
        assert q(3) == 3
        with pytest.raises(NotImplementedError):
            q.get_config()
        assert mod.Quantizer.from_config({"output_dtype": "int4"}).output_dtype == "int4"
