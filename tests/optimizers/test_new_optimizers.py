"""Muon, ScheduleFreeAdamW and MultiOptimizer/OptimizerMap give Keras 3's numbers after
several steps, through the stateful and the pure APIs, and in a fit."""

import jax
import numpy as np
import pytest
from optimizer_harness import gradients, initial_values, run_keras, run_lamina_stateful
from oracle import assert_close, keras

import lamina
from lamina.state import Variable

STEPS = 5

CASES = {
    "muon": lambda m: m.Muon(0.01),
    "muon_no_nesterov": lambda m: m.Muon(0.02, nesterov=False, momentum=0.8, rms_rate=None),
    "muon_exclude_kernel": lambda m: m.Muon(0.01, exclude_layers=["ker"]),
    "muon_decay_ratio": lambda m: m.Muon(0.05, weight_decay=0.1, adam_weight_decay=0.3,
                                         adam_lr_ratio=0.5, ns_steps=3),
    "muon_schedule_clip": lambda m: m.Muon(m.schedules.ExponentialDecay(0.05, 2, 0.5),
                                           clipnorm=1.0),
    "schedule_free": lambda m: m.ScheduleFreeAdamW(0.01),
    "schedule_free_warmup_decay": lambda m: m.ScheduleFreeAdamW(0.05, warmup_steps=3,
                                                                weight_decay=0.1, beta_1=0.8),
    "schedule_free_ema": lambda m: m.ScheduleFreeAdamW(0.05, use_ema=True, ema_momentum=0.5),
    "multi_map": lambda m: m.MultiOptimizer(m.OptimizerMap(
        m.SGD(0.1, momentum=0.5), {"ker.*": m.Adam(0.01)})),
    "multi_callable": lambda m: m.MultiOptimizer(_selector(m.RMSprop(0.01), m.Lion(0.02))),
    "multi_loss_scale": lambda m: m.MultiOptimizer(m.OptimizerMap(m.Adam(0.01)),
                                                   loss_scale_factor=4.0),
}


def _selector(for_bias, for_others):
    """A callable optimizer map: ``for_bias`` for the variable named bias."""
    return lambda variable: for_bias if variable.path == "bias" else for_others


def _normalize(names):
    return ["variable" if n.startswith("variable") else n for n in names]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras_stateful_and_pure(name):
    factory = CASES[name]
    k_params, k_opt_values, k_names = run_keras(factory, STEPS)
    opt, (params, opt_values, names) = run_lamina_stateful(factory, STEPS)
    assert_close(params, k_params)
    assert _normalize(names) == _normalize(k_names)
    assert_close(opt_values, k_opt_values)

    # The pure step, jitted, from a fresh state of the built optimizer.
    step = opt._compiled_apply()
    params = [jax.numpy.asarray(v) for v in initial_values()]
    state = opt.init(params)
    for s in range(STEPS):
        params, state = step(state, gradients(s), params)
    assert_close(params, k_params)
    assert_close(opt.flatten_state(state), k_opt_values)


@pytest.mark.parametrize("shape", [(2, 5), (4, 4), (6, 3)])
def test_muon_newton_schulz_on_wide_square_tall_matrices(shape):
    rng = np.random.default_rng(1)
    init = rng.normal(size=shape).astype("float32")
    grads = [rng.normal(size=shape).astype("float32") for _ in range(3)]
    results = []
    for mod, var_cls in ((keras, keras.Variable), (lamina, Variable)):
        opt = mod.optimizers.Muon(0.01)
        var = var_cls(init, name="w")
        for g in grads:
            opt.apply_gradients([(g, var)])
        results.append(np.asarray(var.value))
    assert_close(results[1], results[0])


def test_muon_embedding_variables_take_adamw_steps():
    layer = lamina.layers.Embedding(5, 3)
    layer.build((None,))
    dense = lamina.layers.Dense(3)
    dense.build((None, 3))
    opt = lamina.optimizers.Muon()
    opt.build([layer.embeddings, dense.kernel, dense.bias])
    assert opt._adamw_mask == [True, False, True]
    names = [v.name for v in opt.variables]
    assert sum(n.endswith("_velocity") for n in names) == 2


def test_configs_and_names_match_keras():
    for name, factory in CASES.items():
        if name.startswith("multi"):
            continue
        k, c = factory(keras.optimizers), factory(lamina.optimizers)
        k_config, l_config = k.get_config(), c.get_config()
        k_config.pop("name"), l_config.pop("name")
        assert set(l_config) == set(k_config), name
        for key in l_config:
            if key != "learning_rate":
                assert l_config[key] == k_config[key], (name, key)
    assert lamina.optimizers.get("muon").get_config()["rms_rate"] == 0.2
    assert isinstance(lamina.optimizers.get("schedulefreeadamw"),
                      lamina.optimizers.ScheduleFreeAdamW)


def test_optimizer_map_lookup_like_keras():
    for m in (keras.optimizers, lamina.optimizers):
        adam, sgd, rms = m.Adam(), m.SGD(), m.RMSprop()
        mapping = m.OptimizerMap(default_optimizer=rms)
        mapping["encoder/layer_0/dense"] = adam
        mapping["encoder/.*"] = sgd
        mapping["decoder"] = adam
        assert mapping["decoder"] is adam
        assert mapping["encoder/layer_0/dense"] is adam
        assert mapping["encoder/layer_0/attention/query"] is sgd
        assert mapping["decoder/layer_0/dense"] is rms
        assert len(mapping) == 3 and list(mapping) == ["encoder/layer_0/dense", "encoder/.*",
                                                        "decoder"]
        mapping["enc.*"] = rms
        with pytest.raises(ValueError, match="Multiple"):
            mapping["encoder/x"]
        for bad in (("decoder", adam), ("x", "adam"), (3, adam),
                    ("y", m.LossScaleOptimizer(m.SGD()))):
            with pytest.raises(ValueError):
                mapping[bad[0]] = bad[1]
        with pytest.raises(TypeError):
            m.OptimizerMap("sgd")


def test_multi_optimizer_api_and_config_round_trip():
    opt = lamina.optimizers.MultiOptimizer(lamina.optimizers.OptimizerMap(
        lamina.optimizers.SGD(0.1), {"ker.*": lamina.optimizers.Adam(0.01)}), name="multi")
    assert [type(o).__name__ for o in opt.optimizers] == ["Adam", "SGD"]
    with pytest.raises(AttributeError):
        opt.learning_rate  # noqa: B018
    with pytest.raises(AttributeError):
        opt.learning_rate = 0.1
    config = lamina.optimizers.serialize(opt)
    k_config = keras.optimizers.serialize(keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.1),
                                      {"ker.*": keras.optimizers.Adam(0.01)}), name="multi"))
    assert config["class_name"] == k_config["class_name"] == "MultiOptimizer"
    assert set(config["config"]) == set(k_config["config"])
    again = lamina.optimizers.deserialize(config)
    assert isinstance(again, lamina.optimizers.MultiOptimizer)
    assert [type(o).__name__ for o in again.optimizers] == ["Adam", "SGD"]
    # Keras's config loads in lamina.
    from_keras = lamina.optimizers.deserialize(k_config)
    assert [type(o).__name__ for o in from_keras.optimizers] == ["Adam", "SGD"]


def _model(mod):
    inputs = mod.Input((4,))
    hidden = mod.layers.Dense(8, activation="tanh", name="encoder")(inputs)
    return mod.Model(inputs, mod.layers.Dense(2, name="head")(hidden))


@pytest.mark.parametrize("make", [
    lambda m: m.MultiOptimizer(m.OptimizerMap(m.SGD(0.05), {"encoder/.*": m.Adam(0.01)})),
    lambda m: m.Muon(0.01, exclude_layers=["head"]),
    lambda m: m.ScheduleFreeAdamW(0.01, warmup_steps=2),
], ids=["multi", "muon", "schedule_free"])
def test_fit_matches_keras(make):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    k_model, l_model = _model(keras), _model(lamina)
    l_model.set_weights(k_model.get_weights())
    k_model.compile(optimizer=make(keras.optimizers), loss="mse")
    l_model.compile(optimizer=make(lamina.optimizers), loss="mse")
    k_hist = k_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    l_hist = l_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert_close(l_hist.history["loss"], k_hist.history["loss"], rtol=1e-4, atol=1e-5)
    assert_close(l_model.get_weights(), k_model.get_weights(), rtol=1e-4, atol=1e-5)
    assert_close([np.asarray(v.value) for v in l_model.optimizer.variables],
                 [np.asarray(v.value) for v in k_model.optimizer.variables],
                 rtol=1e-4, atol=1e-5)
