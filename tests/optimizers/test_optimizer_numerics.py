"""Optimizer numbers match Keras 3 after several steps, through both lamina APIs."""

import jax
import numpy as np
import pytest
from optimizer_harness import gradients, initial_values, run_keras, run_lamina_stateful

STEPS = 4

CASES = {
    "sgd": lambda m: m.SGD(0.1),
    "sgd_momentum": lambda m: m.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda m: m.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda m: m.RMSprop(0.01),
    "rmsprop_centered_momentum": lambda m: m.RMSprop(0.01, centered=True, momentum=0.5),
    "adam": lambda m: m.Adam(0.01),
    "adam_amsgrad": lambda m: m.Adam(0.01, amsgrad=True),
    "adamw": lambda m: m.AdamW(0.01, weight_decay=0.1),
    "adagrad": lambda m: m.Adagrad(0.1),
    "adadelta": lambda m: m.Adadelta(1.0),
    "adamax": lambda m: m.Adamax(0.01),
    "nadam": lambda m: m.Nadam(0.01),
    "lion": lambda m: m.Lion(0.01),
    "ftrl": lambda m: m.Ftrl(0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.1,
                             l2_shrinkage_regularization_strength=0.05, beta=0.2),
    "lamb_weight_decay": lambda m: m.Lamb(0.01, weight_decay=0.1),
    "adafactor_schedule": lambda m: m.Adafactor(m.schedules.ExponentialDecay(0.5, 2, 0.5),
                                                clip_threshold=0.5),
    "clipnorm": lambda m: m.SGD(0.1, clipnorm=1.0),
    "global_clipnorm": lambda m: m.Adam(0.1, global_clipnorm=1.0),
    "clipvalue": lambda m: m.RMSprop(0.1, clipvalue=0.5),
    "weight_decay_sgd": lambda m: m.SGD(0.1, momentum=0.5, weight_decay=0.2),
    "weight_decay_ftrl": lambda m: m.Ftrl(0.1, weight_decay=0.2),
    "schedule": lambda m: m.Adam(m.schedules.ExponentialDecay(0.1, 2, 0.5)),
    "schedule_piecewise": lambda m: m.SGD(m.schedules.PiecewiseConstantDecay([1, 2], [0.3, 0.2, 0.1]),
                                          momentum=0.5),
    "accumulation_schedule": lambda m: m.Nadam(m.schedules.CosineDecay(0.1, 4),
                                               gradient_accumulation_steps=2),
    "ema": lambda m: m.Adam(0.1, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=3),
    "loss_scale_factor": lambda m: m.SGD(0.1, loss_scale_factor=8.0),
}


def _normalize(names):
    # Keras numbers its unnamed variables globally ("variable", "variable_1", ...).
    return ["variable" if n.startswith("variable") else n for n in names]


def _assert_close(expected, actual):
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual):
        np.testing.assert_allclose(np.asarray(a), e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras_through_apply_gradients_and_pure_apply(name):
    factory = CASES[name]
    k_params, k_opt_values, k_names = run_keras(factory, STEPS)

    opt, (params, opt_values, names) = run_lamina_stateful(factory, STEPS)
    _assert_close(k_params, params)
    assert _normalize(names) == _normalize(k_names)
    _assert_close(k_opt_values, opt_values)
    assert int(opt.iterations) == STEPS // (opt.gradient_accumulation_steps or 1)

    # The pure step from a fresh state, through the jitted `apply` that apply_gradients used.
    step = opt._compiled_apply()
    params = [jax.numpy.asarray(v) for v in initial_values()]
    state = opt.init(params)
    for s in range(STEPS):
        params, state = step(state, gradients(s), params)
    _assert_close(k_params, params)
    _assert_close(k_opt_values, opt.flatten_state(state))
