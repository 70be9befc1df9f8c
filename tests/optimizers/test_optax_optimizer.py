"""optax transformations as optimizers: ``compile(optimizer=optax.adamw(1e-3))``.

``fit`` must give the weights of optax applied by hand in a plain JAX loop over
the same batches, starting from the model's initial weights.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamina
from lamina import callbacks, constraints, layers, optimizers
from lamina.state import Variable

TOL = dict(rtol=2e-5, atol=2e-6)
RNG = np.random.default_rng(7)
X = RNG.standard_normal((20, 3)).astype("float32")
Y = RNG.standard_normal((20, 2)).astype("float32")
BATCH = 8  # batches of 8, 8 and a partial 4


def tiny_model(kernel_constraint=None):
    inputs = lamina.Input(shape=(3,))
    hidden = layers.Dense(4, activation="tanh", kernel_constraint=kernel_constraint)(inputs)
    return lamina.Model(inputs, layers.Dense(2)(hidden))


def mse(params, x, y):
    k1, b1, k2, b2 = params
    pred = jnp.tanh(x @ k1 + b1) @ k2 + b2
    return jnp.mean(jnp.mean((pred - y) ** 2, axis=-1))


def hand_loop(tx, weights, epochs, lr_for_epoch=None, constraint=None):
    """optax by hand over the batches fit takes with ``shuffle=False``."""
    params = [jnp.asarray(w) for w in weights]
    state = tx.init(params)
    grad = jax.jit(jax.grad(mse))
    for epoch in range(epochs):
        if lr_for_epoch is not None:
            state.hyperparams["learning_rate"] = jnp.asarray(lr_for_epoch(epoch), jnp.float32)
        for start in range(0, len(X), BATCH):
            g = grad(params, X[start:start + BATCH], Y[start:start + BATCH])
            updates, state = tx.update(g, state, params)
            params = optax.apply_updates(params, updates)
            if constraint is not None:
                params[0] = constraint(params[0])
    return [np.asarray(p) for p in params], state


TRANSFORMATIONS = {
    "adamw": lambda: optax.adamw(1e-2, weight_decay=0.1),
    "sgd_momentum": lambda: optax.sgd(0.05, momentum=0.9, nesterov=True),
    "chain_clip_adam": lambda: optax.chain(optax.clip_by_global_norm(0.5),
                                           optax.scale_by_adam(), optax.scale(-1e-2)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
def test_fit_matches_optax_by_hand(name):
    model = tiny_model()
    initial = model.get_weights()
    model.compile(optimizer=TRANSFORMATIONS[name](), loss="mse")
    assert isinstance(model.optimizer, optimizers.OptaxOptimizer)
    history = model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    expected, _ = hand_loop(TRANSFORMATIONS[name](), initial, epochs=2)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, **TOL)
    assert int(model.optimizer.iterations) == 6
    assert len(history.history["loss"]) == 2


def test_fit_applies_variable_constraints_after_the_optax_update():
    model = tiny_model(kernel_constraint=constraints.NonNeg())
    initial = model.get_weights()
    model.compile(optimizer=optax.sgd(0.5), loss="mse")
    model.fit(X, Y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    expected, _ = hand_loop(optax.sgd(0.5), initial, epochs=2,
                            constraint=lambda w: w * (w >= 0).astype(w.dtype))
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, **TOL)
    assert (model.get_weights()[0] >= 0).all()


def test_learning_rate_scheduler_sets_injected_learning_rate():
    def tx():
        return optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9)

    def schedule(epoch):
        return 0.1 * 0.5 ** epoch

    model = tiny_model()
    initial = model.get_weights()
    model.compile(optimizer=tx(), loss="mse")
    history = model.fit(X, Y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(schedule)])
    expected, state = hand_loop(tx(), initial, epochs=3, lr_for_epoch=schedule)
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, **TOL)
    # A constant rate would give other weights: the callback's rates were used.
    constant, _ = hand_loop(tx(), initial, epochs=3)
    assert not np.allclose(model.get_weights()[0], constant[0], **TOL)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.025)
    held = model.optimizer.opt_state
    for got, want in zip(jax.tree.leaves(held), jax.tree.leaves(state)):
        np.testing.assert_allclose(got, want, **TOL)


def test_reduce_lr_on_plateau_lowers_injected_learning_rate():
    def tx():
        return optax.inject_hyperparams(optax.adam)(learning_rate=0.01)

    model = tiny_model()
    initial = model.get_weights()
    model.compile(optimizer=tx(), loss="mse")
    # Only the first epoch improves (on inf), so the ends of epochs 1 and 2 halve the rate.
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    history = model.fit(X, Y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                        callbacks=[reduce])
    used = [0.01, 0.01, 0.005]  # the rate each epoch trained with
    expected, _ = hand_loop(tx(), initial, epochs=3, lr_for_epoch=lambda epoch: used[epoch])
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, **TOL)
    # Logged at each epoch end before the reduction, as Keras does.
    np.testing.assert_allclose(history.history["learning_rate"], used, rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0025)


def test_learning_rate_get_and_set():
    var = Variable(np.ones((2, 2), "float32"), name="kernel", path="dense/kernel")
    opt = optimizers.get(optax.inject_hyperparams(optax.adamw)(learning_rate=1e-3))
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    opt.learning_rate = 0.5  # before build: kept and used once built
    opt.build([var])
    assert float(opt.learning_rate) == pytest.approx(0.5)
    opt.learning_rate.assign(0.25)  # the rate is a Variable view of the state's leaf
    assert float(opt.opt_state.hyperparams["learning_rate"]) == pytest.approx(0.25)
    before = opt.state
    opt.learning_rate = np.float32(0.125)
    assert opt.state is not before  # the trainer notices a replaced state
    assert float(opt.opt_state.hyperparams["learning_rate"]) == pytest.approx(0.125)

    plain = optimizers.get(optax.adamw(1e-3))
    with pytest.raises(AttributeError, match="inject_hyperparams"):
        plain.learning_rate  # noqa: B018
    with pytest.raises(TypeError, match="inject_hyperparams"):
        plain.learning_rate = 0.1
    plain.build([var])
    with pytest.raises(TypeError, match="inject_hyperparams"):
        plain.learning_rate = 0.1

    scheduled = optimizers.get(optax.inject_hyperparams(optax.sgd)(
        learning_rate=optax.linear_schedule(0.1, 0.0, 10)))
    scheduled.build([var])
    assert float(scheduled.learning_rate) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="schedule"):
        scheduled.learning_rate = 0.1
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = lamina.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)


def test_learning_rate_scheduler_on_plain_transformation_fails_clearly():
    model = tiny_model()
    model.compile(optimizer=optax.sgd(0.1), loss="mse")
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(lambda epoch: 0.1)])


def test_get_wraps_transformations_and_rejects_garbage():
    for tx in (optax.sgd(0.1), optax.inject_hyperparams(optax.adam)(learning_rate=0.1),
               optax.chain(optax.clip(1.0), optax.adam(1e-3)), optax.MultiSteps(optax.sgd(0.1), 2)):
        opt = optimizers.get(tx)
        assert isinstance(opt, optimizers.OptaxOptimizer)
        assert isinstance(opt, optimizers.Optimizer)
        assert opt.transformation is tx
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    for garbage in ("not_an_optimizer", 42, object(), (lambda p: p, lambda u, s, p: (u, s))):
        with pytest.raises(ValueError, match="optax GradientTransformation"):
            optimizers.get(garbage)
    with pytest.raises(TypeError, match="GradientTransformation"):
        optimizers.OptaxOptimizer("sgd")
    opt = optimizers.get(optax.sgd(0.1))
    with pytest.raises(NotImplementedError, match="cannot be serialized"):
        opt.get_config()
    with pytest.raises(NotImplementedError, match="mask"):
        opt.exclude_from_weight_decay(var_names=["bias"])
    assert opt.scale_loss(3.0, opt.state) == 3.0


def test_stateless_apply_round_trip():
    model = tiny_model()
    opt = optimizers.get(optax.adamw(1e-2))
    opt.build(model.trainable_variables)
    params = [v.value for v in model.trainable_variables]
    paths = [v.path for v in opt.variables]
    assert paths[0].endswith("/iteration") and len(set(paths)) == len(paths)
    assert any(p.endswith("_mu") and model.trainable_variables[0].path.replace("/", "_") in p
               for p in paths)
    held = opt.state
    opt_values = [v.value for v in opt.variables]
    grads = jax.grad(mse)(params, X[:BATCH], Y[:BATCH])

    step = jax.jit(opt.stateless_apply)
    new_params, new_opt_values = step(opt_values, grads, params)
    assert opt.state is held  # stateless: nothing held changed

    tx = optax.adamw(1e-2)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    for got, want in zip(new_params, optax.apply_updates(params, updates)):
        np.testing.assert_allclose(got, want, **TOL)
    assert int(new_opt_values[0]) == 1
    for got, want in zip(new_opt_values[1:], jax.tree.leaves(state)):
        np.testing.assert_allclose(got, want, **TOL)

    # Writing the values back (Keras's custom train_step does this) holds the new state,
    # and the stateful apply_gradients then continues from it.
    for var, value in zip(opt.variables, new_opt_values):
        var.assign(value)
    for var, value in zip(model.trainable_variables, new_params):
        var.assign(value)
    assert int(opt.iterations) == 1
    opt.apply_gradients(zip(grads, model.trainable_variables))
    updates, state = tx.update(grads, state, optax.apply_updates(params, updates))
    for got, want in zip(jax.tree.leaves(opt.opt_state), jax.tree.leaves(state)):
        np.testing.assert_allclose(got, want, **TOL)
    assert int(opt.iterations) == 2
    with pytest.raises(ValueError, match="expects"):
        opt.stateless_apply(opt_values[:-1], grads, params)


def test_pure_apply_is_jittable_and_passes_extra_args():
    def tx():  # needs the loss as `value`: a GradientTransformationExtraArgs
        return optax.chain(optax.sgd(0.1), optax.contrib.reduce_on_plateau(patience=1))

    opt = optimizers.get(tx())
    params = [jnp.ones(3)]
    state = opt.init(params)
    step = jax.jit(lambda s, g, p, v: opt.apply(s, g, p, value=v))
    expected, ref_state = params, tx().init(params)
    for value in (1.0, 2.0, 3.0):
        grads = [jnp.full(3, value)]
        params, state = step(state, grads, params, value)
        updates, ref_state = tx().update(grads, ref_state, expected, value=value)
        expected = optax.apply_updates(expected, updates)
    np.testing.assert_allclose(params[0], expected[0], rtol=1e-6)
    assert float(ref_state[1].scale) < 1.0  # the plateau did lower the rate
    assert int(state["iteration"]) == 3


def test_overwrite_with_gradient_variables_skip_the_transformation():
    kernel = Variable(np.ones((2,), "float32"), name="kernel", path="d/kernel")
    scale = Variable(np.ones((), "float32"), name="scale", path="d/scale")
    scale.overwrite_with_gradient = True
    opt = optimizers.get(optax.sgd(0.1, momentum=0.9))
    opt.build([kernel, scale])
    assert len(opt.variables) == 2  # the iteration and the kernel's momentum only
    opt.apply_gradients([(jnp.ones(2), kernel), (jnp.asarray(7.0), scale)])
    np.testing.assert_allclose(kernel.value, 0.9, rtol=1e-6)
    assert float(scale.value) == 7.0
    with pytest.raises(ValueError, match="needs a gradient"):
        opt.apply_gradients([(jnp.asarray(7.0), scale)])


def test_loss_scale_optimizer_wraps_an_optax_optimizer():
    kernel = Variable(np.ones((2,), "float32"), name="kernel", path="d/kernel")
    plain = Variable(np.ones((2,), "float32"), name="kernel", path="d/kernel")
    opt = optimizers.LossScaleOptimizer(optimizers.get(optax.adam(0.1)), initial_scale=8.0)
    reference = optimizers.get(optax.adam(0.1))
    for _ in range(2):
        opt.apply_gradients([(8.0 * jnp.arange(2.0), kernel)])
        reference.apply_gradients([(jnp.arange(2.0), plain)])
    np.testing.assert_allclose(kernel.value, plain.value, rtol=1e-6)
    # The wrapper's iteration, learning_rate, step_counter and dynamic_scale, then the inner's.
    assert len(opt.variables) == 4 + len(reference.variables)
    new_params, new_values = opt.stateless_apply([v.value for v in opt.variables],
                                                 [8.0 * jnp.ones(2)], [kernel.value])
    assert len(new_values) == len(opt.variables)
