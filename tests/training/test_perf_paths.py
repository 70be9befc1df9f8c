"""The fast paths of fit/evaluate/predict: one compiled program per batch shape, fused
and unfused runs giving bitwise the same weights, host blocks used in place, predict
slicing host batches, and the trainer's key split only for models that draw."""

import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
from lamina.training.loops import AUTO_FUSED_STEPS, aligned_empty, gather_block

RNG = np.random.default_rng(7)
X = RNG.standard_normal((200, 5)).astype("float32")
Y = np.eye(3, dtype="float32")[RNG.integers(0, 3, 200)]


def _model(K, dropout=False):
    inputs = K.Input((5,))
    h = K.layers.Dense(8, activation="relu")(inputs)
    if dropout:
        h = K.layers.Dropout(0.3)(h)
    return K.Model(inputs, K.layers.Dense(3, activation="softmax")(h))


class _EveryBatch(lamina.callbacks.Callback):
    """Acts on single batches, so fit runs one batch per compiled call."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def _trained(dropout, callbacks=(), steps_per_execution=1):
    lamina.utils.set_random_seed(3)
    model = _model(lamina, dropout)
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=list(callbacks))
    return model, history


@pytest.fixture(scope="module")
def fused_runs():
    return {dropout: _trained(dropout) for dropout in (False, True)}


@pytest.mark.parametrize("dropout", [False, True])
def test_fused_and_unfused_fit_give_identical_weights(fused_runs, dropout):
    fused, fused_history = fused_runs[dropout]
    counter = _EveryBatch()
    unfused, unfused_history = _trained(dropout, [counter])
    assert counter.batches == 2 * 25  # 200 / 8 batches per epoch, one call each
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fused_history.history == unfused_history.history
    grouped, _ = _trained(dropout, steps_per_execution=3)  # 25 = 8 calls of 3 + 1
    for a, b in zip(fused.get_weights(), grouped.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_one_train_program_per_batch_shape():
    model = _model(lamina)
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(X[:8], Y[:8], batch_size=8, verbose=0)  # one batch
    assert model._trace_counts["train"] == 1
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)  # 25 batches: 16 + 9 per epoch
    assert model._trace_counts["train"] == 1
    model.fit(X[:196], Y[:196], batch_size=8, verbose=0)  # a partial last batch of 4
    assert model._trace_counts["train"] == 2
    model.evaluate(X, Y, batch_size=8, verbose=0)
    model.evaluate(X[:24], Y[:24], batch_size=8, verbose=0)
    assert model._trace_counts["test"] == 1


def test_trainer_key_advances_only_for_models_that_draw(fused_runs):
    plain, dropped = fused_runs[False][0], fused_runs[True][0]
    start = lamina.random.next_key()
    for model in (plain, dropped):
        model._rng = start
        model.fit(X[:16], Y[:16], batch_size=8, verbose=0)
    np.testing.assert_array_equal(np.asarray(plain._rng), np.asarray(start))
    assert not np.array_equal(np.asarray(dropped._rng), np.asarray(start))


def test_host_blocks_are_aligned_and_gathered_in_order():
    block = aligned_empty((3, 5, 7), "float32")
    assert block.ctypes.data % 64 == 0 and block.shape == (3, 5, 7)
    perm = RNG.permutation(200).astype("int32")
    x, y, sw = gather_block((X, Y, None), perm, 10, 4, 2, AUTO_FUSED_STEPS)
    assert x.shape == (AUTO_FUSED_STEPS, 4, 5) and y.shape == (AUTO_FUSED_STEPS, 4, 3)
    assert sw is None and x.ctypes.data % 64 == 0
    np.testing.assert_array_equal(x[:2].reshape(8, 5), X[perm[10:18]])
    x, _, _ = gather_block((X, Y, None), None, 10, 4, 1, 2)
    np.testing.assert_array_equal(x[0], X[10:14])


@pytest.mark.parametrize("n, batch_size", [(200, 8), (131, 16), (1, 1024)])
def test_predict_matches_keras(n, batch_size):
    km = _model(keras)
    lm = _model(lamina)
    lm.set_weights(km.get_weights())
    expected = km.predict(X[:n], batch_size=batch_size, verbose=0)
    got = lm.predict(X[:n], batch_size=batch_size, verbose=0)
    assert got.shape == (n, 3) and got.flags.writeable
    assert_close(got, expected)
    assert_close(lm.predict_on_batch(X[:n]), expected)


def test_run_eagerly_steps_see_concrete_values():
    class Probe(lamina.Model):
        def train_step(self, state, data):
            self.total = float(np.asarray(data[0]).sum())  # raises on a traced value
            return super().train_step(state, data)

    inputs = lamina.Input((5,))
    model = Probe(inputs, lamina.layers.Dense(3)(inputs))
    model.compile("sgd", "mse", run_eagerly=True)
    model.fit(X[:16], Y[:16], batch_size=8, shuffle=False, verbose=0)
    assert model.total == pytest.approx(float(X[8:16].sum()), rel=1e-5)


def _bn_model(K):
    inputs = K.Input((5,))
    h = K.layers.Dense(4)(inputs)
    return K.Model(inputs, K.layers.BatchNormalization(momentum=0.5)(h))


def test_kept_variable_lists_follow_trainable_flips_like_keras():
    km, lm = _bn_model(keras), _bn_model(lamina)
    lm.set_weights(km.get_weights())

    def step(label):
        assert lm._eager_variables() == (lm.trainable_variables, lm.non_trainable_variables)
        assert_close(lm(X[:16], training=True), km(X[:16], training=True), err_msg=label)
        assert_close(lm.get_weights(), km.get_weights(), err_msg=label)

    step("first call")
    for K_model in (km, lm):  # frozen BatchNormalization runs in inference mode
        K_model.layers[2].trainable = False
    step("layer frozen")
    assert len(lm._eager_variables()[0]) == 2
    for K_model in (km, lm):
        K_model.layers[2].trainable = True
        K_model.layers[1].kernel.trainable = False
    step("variable frozen")
    assert lm._eager_variables()[0] == [lm.layers[1].bias] + lm.layers[2].trainable_weights


def test_optimizer_state_compiles_nothing(caplog):
    import jax

    model = _model(lamina)
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    with jax.log_compiles(True), caplog.at_level("WARNING", logger="jax"):
        model.optimizer.build(model.trainable_variables)
    assert [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()] == []
    # The check sees compilations: an eager jnp.full compiles one.
    with jax.log_compiles(True), caplog.at_level("WARNING", logger="jax"):
        jax.numpy.full((3, 7), 2.5)
    assert any("Compiling" in r.getMessage() for r in caplog.records)
    rms = [np.asarray(v.value) for v in model.optimizer.variables if "velocity" in v.path]
    assert [a.shape for a in rms] == [tuple(v.shape) for v in model.trainable_variables]
    assert all(not a.any() for a in rms)


def _compiled_names(caplog):
    return [r.getMessage().split(" with ")[0] for r in caplog.records
            if r.getMessage().startswith("Compiling")]


def test_first_fit_and_evaluate_compile_one_program_each(caplog):
    import jax

    model = _model(lamina, dropout=True)
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    with jax.log_compiles(True), caplog.at_level("WARNING", logger="jax"):
        logs = model.fit(X[:8], Y[:8], batch_size=8, verbose=0).history
    # The metric results come out of the train program: no separate `results` program,
    # and the step is traced once (the key is split inside it, when Dropout draws).
    assert _compiled_names(caplog) == ["Compiling jit(blocks)"], _compiled_names(caplog)
    assert model._trace_counts["train"] == 1
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level("WARNING", logger="jax"):
        evaluated = model.evaluate(X[:8], Y[:8], batch_size=8, verbose=0, return_dict=True)
    assert _compiled_names(caplog) == ["Compiling jit(blocks)"], _compiled_names(caplog)
    assert set(evaluated) == set(logs) == {"loss", "accuracy"}
    assert 0.0 <= evaluated["accuracy"] <= 1.0


def test_logs_read_from_the_train_program_equal_the_metric_state():
    model = _model(lamina)
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=8, verbose=0)
    results = model.get_metrics_result()  # from the metric variables written back
    assert history.history["loss"][0] == pytest.approx(float(results["loss"]), rel=1e-6)
    assert history.history["accuracy"][0] == pytest.approx(float(results["accuracy"]),
                                                           rel=1e-6)


def test_objects_alive_at_import_are_frozen_unless_switched_off():
    import subprocess
    import sys

    code = ("import gc; before = gc.get_freeze_count(); import lamina; "
            "print(before, gc.get_freeze_count())")
    for env, frozen in ((None, True), ("0", False)):
        environ = {k: v for k, v in __import__("os").environ.items() if k != "LAMINA_GC_FREEZE"}
        if env is not None:
            environ["LAMINA_GC_FREEZE"] = env
        out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                             text=True, check=True).stdout.split()
        before, after = int(out[0]), int(out[1])
        assert (after > before + 10_000) is frozen, (env, before, after)


def test_predict_stages_unaligned_batches_in_reused_aligned_buffers():
    from lamina.training.staging import HostStaging

    inputs = lamina.Input((64,))
    model = lamina.Model(inputs, lamina.layers.Dense(3)(inputs))
    n = 5 * 1024 + 100
    raw = aligned_empty((n * 64 + 4,), "float32")
    raw[:] = RNG.standard_normal(raw.shape).astype("float32")
    unaligned = raw[4:].reshape(n, 64)  # starts 16 bytes past a 64-byte boundary
    assert unaligned.ctypes.data % 64 == 16
    aligned = aligned_empty(unaligned.shape, "float32")
    aligned[:] = unaligned
    expected = model.predict(aligned, batch_size=1024, verbose=0)
    got = model.predict(unaligned, batch_size=1024, verbose=0)
    np.testing.assert_array_equal(got, expected)
    staging = model._staging
    buffers = [slot[0] for slots in staging._slots.values() for slot in slots]
    assert {b.shape for b in buffers} == {(1024, 64)}  # the 100-row tail is below the minimum
    assert len(buffers) == staging.depth and all(b.ctypes.data % 64 == 0 for b in buffers)
    np.testing.assert_array_equal(model.predict(unaligned, batch_size=1024, verbose=0), expected)
    assert [slot[0] for slots in staging._slots.values() for slot in slots] == buffers

    small = HostStaging(depth=2)
    first = small.stage(unaligned[:512])
    small.used_by(np.zeros(1))
    assert first.ctypes.data % 64 == 0
    np.testing.assert_array_equal(first, unaligned[:512])
    assert small.stage(unaligned[512:1024]) is not first  # the second buffer of two
    small.used_by(None)
    assert small.stage(unaligned[1024:1536]) is first  # then the first again, rewritten
    np.testing.assert_array_equal(first, unaligned[1024:1536])


def _count_full_calls(monkeypatch, model):
    """Counts calls that take the full eager path (input conversion) on ``model``."""
    counter = {"n": 0}
    original = type(model)._convert_inputs

    def counting(self, *args, **kwargs):
        if self is model:
            counter["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "_convert_inputs", counting)
    return counter


def test_repeated_one_sample_calls_take_the_recorded_compiled_call(monkeypatch):
    inputs = lamina.Input((5,))
    h = lamina.layers.BatchNormalization()(lamina.layers.Dense(4, activation="relu")(inputs))
    model = lamina.Model(inputs, lamina.layers.Dense(3, activation="softmax")(h))
    x = X[:1]
    full = _count_full_calls(monkeypatch, model)
    first = np.asarray(model(x))
    recorded = full["n"]
    assert recorded >= 1
    np.testing.assert_array_equal(np.asarray(model(x)), first)
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)
    np.testing.assert_array_equal(model.predict_on_batch(x), first)
    assert full["n"] == recorded and isinstance(model.predict_on_batch(x), np.ndarray)
    np.testing.assert_array_equal(np.asarray(model(X[:2])), model.predict(X[:2], verbose=0))
    assert full["n"] > recorded  # a new shape is recorded by a full call
    recorded = full["n"]
    weights = model.get_weights()
    model.set_weights([w * 2 for w in weights])  # new values are read on every call
    doubled = np.asarray(model(x))
    assert full["n"] == recorded and not np.allclose(doubled, first)
    model.set_weights(weights)
    model.layers[1].trainable = False  # a flipped flag: the next call takes the full path
    np.testing.assert_allclose(np.asarray(model(x)), first, rtol=1e-6)
    assert full["n"] > recorded


def test_calls_with_losses_or_masks_always_take_the_full_path(monkeypatch):
    inputs = lamina.Input((5,))
    regularized = lamina.Model(inputs, lamina.layers.Dense(
        2, activity_regularizer=lamina.regularizers.L2(0.1))(inputs))
    full = _count_full_calls(monkeypatch, regularized)
    regularized(X[:1])
    counts = [full["n"]]
    for _ in range(2):
        regularized(X[:1])
        assert len(regularized.losses) == 1
        counts.append(full["n"])
    assert counts[0] < counts[1] < counts[2]
    tokens = lamina.Input((4,), dtype="int32")
    masked = lamina.Model(tokens, lamina.layers.Embedding(6, 3, mask_zero=True)(tokens))
    ids = np.array([[1, 2, 0, 0]], "int32")
    for _ in range(2):
        out = masked(ids)
        np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, True, False, False]])
