"""The stateful (Keras) API and the held state: learning-rate assignment, partial
gradients, weight-decay exclusion, EMA finalization, and optimizer weights that
move between Keras and lamina."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from optimizer_harness import NAMES, gradients, initial_values

import lamina.optimizers as lo
from lamina.state import Variable


def _lamina_vars():
    return [Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]


def _keras_vars():
    return [keras.Variable(v, name=n) for v, n in zip(initial_values(), NAMES)]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_learning_rate_assignment_does_not_retrace():
    opt = lo.SGD(0.1, momentum=0.5)
    traces = []

    def train_step(state, grads, params):
        traces.append(1)
        return opt.apply(state, grads, params)

    step = jax.jit(train_step)
    params = [jnp.asarray(v) for v in initial_values()]
    state = opt.init(params)
    opt.state = state
    grads = gradients(0)
    out = []
    for value, how in [(0.1, None), (0.5, "setter"), (0.25, "assign"), (2.0, "setter")]:
        if how == "setter":
            opt.learning_rate = value
        elif how == "assign":
            opt.learning_rate.assign(value)
        new_params, new_state = step(opt.state, grads, params)
        opt.state = new_state
        out.append(float(new_state["learning_rate"]))
        assert float(opt.learning_rate) == pytest.approx(value)
    assert len(traces) == 1
    assert out == pytest.approx([0.1, 0.5, 0.25, 2.0])


def test_learning_rate_reads_like_keras():
    for make in (lambda m: m.Adam(0.01),
                 lambda m: m.Adam(m.schedules.ExponentialDecay(0.1, 2, 0.5))):
        ours, theirs = make(lo), make(keras.optimizers)
        lv, kv = _lamina_vars(), _keras_vars()
        for s in range(3):
            ours.apply_gradients(zip(gradients(s), lv))
            theirs.apply_gradients(zip(gradients(s), kv))
        _close(ours.learning_rate, theirs.learning_rate)
        assert int(ours.iterations) == int(np.asarray(theirs.iterations)) == 3
        assert [v.path for v in ours.variables][:2] == [
            v.path.replace(theirs.name, ours.name) for v in theirs.variables][:2]
    with pytest.raises(TypeError, match="not settable"):
        lo.Adam(lo.schedules.ExponentialDecay(0.1, 2, 0.5)).learning_rate = 0.1


def test_assigning_a_schedule_replaces_the_rate():
    ours, theirs = lo.SGD(0.1), keras.optimizers.SGD(0.1)
    lv, kv = _lamina_vars(), _keras_vars()
    ours.apply_gradients(zip(gradients(0), lv))
    theirs.apply_gradients(zip(gradients(0), kv))
    ours.learning_rate = lo.schedules.ExponentialDecay(0.2, 1, 0.5)
    theirs.learning_rate = keras.optimizers.schedules.ExponentialDecay(0.2, 1, 0.5)
    for s in (1, 2):
        ours.apply_gradients(zip(gradients(s), lv))
        theirs.apply_gradients(zip(gradients(s), kv))
    for a, b in zip(lv, kv):
        _close(a.value, b.value)
    assert len(ours.variables) == len(theirs.variables) == 1


def test_partial_gradients_and_weight_decay_exclusion_match_keras():
    def make(m):
        return m.AdamW(0.05, weight_decay=0.3)

    ours, theirs = make(lo), make(keras.optimizers)
    ours.exclude_from_weight_decay(var_names=["bias"])
    theirs.exclude_from_weight_decay(var_names=["bias"])
    lv, kv = _lamina_vars(), _keras_vars()
    ours.build(lv)
    theirs.build(kv)
    for s in range(3):
        g = gradients(s)
        # Only the kernel gets a gradient on odd steps.
        pairs_l = [(g[0], lv[0])] if s % 2 else list(zip(g, lv))
        pairs_k = [(g[0], kv[0])] if s % 2 else list(zip(g, kv))
        ours.apply_gradients(pairs_l)
        theirs.apply_gradients(pairs_k)
    for a, b in zip(lv, kv):
        _close(a.value, b.value)
    for a, b in zip(ours.variables, theirs.variables):
        _close(a.value, b.value)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        ours.exclude_from_weight_decay(var_names=["kernel"])


def test_none_gradient_in_pure_apply_leaves_param_and_slots():
    opt = lo.Adam(0.1)
    params = [jnp.asarray(v) for v in initial_values()]
    state = opt.init(params)
    new_params, new_state = opt.apply(state, [gradients(0)[0], None], params)
    assert np.array_equal(new_params[1], params[1])
    assert np.array_equal(new_state["slots"]["momentum"][1], state["slots"]["momentum"][1])
    assert not np.array_equal(new_params[0], params[0])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply(state, [None, None], params)


def test_keras_style_apply_and_stateless_apply():
    ours = lo.RMSprop(0.01, momentum=0.3)
    lv = _lamina_vars()
    ours.build(lv)
    start = [np.asarray(v.value) for v in ours.variables]
    new_values, new_opt_values = ours.stateless_apply(start, gradients(0),
                                                      [v.value for v in lv])
    ours.apply(gradients(0))  # Keras's apply(grads) on the built variables
    for a, b in zip(new_values, lv):
        _close(a, b.value)
    for a, b in zip(new_opt_values, ours.variables):
        _close(a, b.value)
    with pytest.raises(ValueError, match="Unknown variable"):
        ours.apply_gradients([(gradients(0)[1], Variable(np.zeros(2, np.float32)))])


def test_optimizer_weights_move_between_keras_and_lamina():
    ours, theirs = lo.Nadam(0.01, name="n"), keras.optimizers.Nadam(0.01, name="n")
    lv, kv = _lamina_vars(), _keras_vars()
    for s in range(2):
        ours.apply_gradients(zip(gradients(s), lv))
    # lamina's store loads into Keras (same order, same shapes), and both continue alike.
    store = {}
    ours.save_own_variables(store)
    theirs.build(kv)
    for k, v in zip(kv, lv):
        k.assign(np.asarray(v.value))
    theirs.load_own_variables(store)
    for s in (2, 3):
        ours.apply_gradients(zip(gradients(s), lv))
        theirs.apply_gradients(zip(gradients(s), kv))
    for a, b in zip(lv, kv):
        _close(a.value, b.value)
    # And back: Keras's weights into a fresh lamina optimizer.
    fresh = lo.Nadam(0.01)
    fresh.build(_lamina_vars())
    fresh.set_weights([np.asarray(v.value) for v in theirs.variables])
    for a, b in zip(fresh.get_weights(), theirs.variables):
        _close(a, b.value)
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        fresh.load_own_variables({"0": np.zeros((), np.int32)})


def test_ema_finalize_matches_keras():
    ours = lo.SGD(0.1, use_ema=True, ema_momentum=0.5)
    theirs = keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    lv, kv = _lamina_vars(), _keras_vars()
    for s in range(3):
        ours.apply_gradients(zip(gradients(s), lv))
        theirs.apply_gradients(zip(gradients(s), kv))
    ours.finalize_variable_values(lv)
    theirs.finalize_variable_values(kv)
    for a, b in zip(lv, kv):
        _close(a.value, b.value)


def test_held_state_is_copy_on_write_and_scale_loss():
    opt = lo.Adam(0.1, loss_scale_factor=4.0)
    opt.build(_lamina_vars())
    before = opt.state
    opt.learning_rate = 0.5
    assert float(before["learning_rate"]) == pytest.approx(0.1)
    assert float(opt.state["learning_rate"]) == pytest.approx(0.5)
    assert float(opt.scale_loss(jnp.float32(2.0))) == 8.0
    with pytest.raises(TypeError, match="state dict"):
        opt.state = [1, 2]
    paths = [v.path for v in opt.variables]
    assert paths[0] == f"{opt.name}/iteration" and paths[2] == f"{opt.name}/kernel_momentum"


def test_constraints_and_overwrite_with_gradient_match_keras():
    ours = lo.Adam(0.1, weight_decay=0.1, use_ema=True, name="o")
    theirs = keras.optimizers.Adam(0.1, weight_decay=0.1, use_ema=True, name="o")
    lv = [Variable(v, name=n, path=f"dense/{n}") for v, n in zip(initial_values(), NAMES)]
    with keras.name_scope("dense"):
        kv = _keras_vars()
    lv[0].constraint = lambda w: jnp.clip(w, -0.2, 0.2)
    kv[0].constraint = lambda w: keras.ops.clip(w, -0.2, 0.2)
    lv[1].overwrite_with_gradient = True
    kv[1].overwrite_with_gradient = True
    for s in range(2):
        ours.apply_gradients(zip(gradients(s), lv))
        theirs.apply_gradients(zip(gradients(s), kv))
    for a, b in zip(lv, kv):
        _close(a.value, b.value)
    assert float(np.max(np.abs(np.asarray(lv[0].value)))) <= 0.2 + 1e-7
    # No slots for the overwritten variable; slots named after the variable's path.
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    assert "o/dense_kernel_momentum" in [v.path for v in ours.variables]
    for a, b in zip(ours.variables, theirs.variables):
        _close(a.value, b.value)
    _close(lv[1].value, gradients(1)[1])


def test_loss_scale_optimizer_matches_keras_stateless_apply():
    def make(m):
        return m.LossScaleOptimizer(m.SGD(0.1, momentum=0.5), initial_scale=4.0,
                                    dynamic_growth_steps=2)

    ours, theirs = make(lo), make(keras.optimizers)
    lv, kv = _lamina_vars(), _keras_vars()
    ours.build(lv)
    theirs.build(kv)
    assert [v.path.split("/")[-1] for v in ours.variables] == [
        v.path.split("/")[-1] for v in theirs.variables]
    # Keras's eager apply of this wrapper fails on JAX; its trainer uses stateless_apply.
    k_opt, k_params = [v.value for v in theirs.variables], [v.value for v in kv]
    for s in range(5):
        g = gradients(s)
        if s == 1:
            g[0] = g[0].copy()
            g[0][0, 0] = np.inf
        k_params, k_opt = theirs.stateless_apply(k_opt, g, k_params)
        ours.apply_gradients(zip(g, lv))
        for a, b in zip(lv, k_params):
            _close(a.value, b)
        for a, b in zip(ours.variables, k_opt):
            _close(a.value, b)
    assert int(ours.iterations) == 4
    assert float(ours.scale_loss(1.0)) == 4.0
    assert float(ours.scale_loss(1.0, {**ours.state, "dynamic_scale": 8.0})) == 8.0
    config = ours.get_config()
    assert config["inner_optimizer"]["config"]["momentum"] == 0.5
    assert lo.deserialize(lo.serialize(ours)).get_config() == config
    assert keras.optimizers.deserialize(lo.serialize(ours)).get_config() == config
    ours.learning_rate = 0.05
    assert float(ours.inner_optimizer.learning_rate) == pytest.approx(0.05)
