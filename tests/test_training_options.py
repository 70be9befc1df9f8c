"""fit/evaluate options beyond the basics: eager mode, targets, verbosity, LR callbacks."""

import numpy as np
import pytest
from oracle import assert_close

import lamina

RNG = np.random.default_rng(4)
X = RNG.standard_normal((48, 5)).astype("float32")
Y = (X[:, :1] > 0).astype("float32")


def model(seed=0):
    lamina.utils.set_random_seed(seed)
    inputs = lamina.Input((5,))
    out = lamina.layers.Dense(1, activation="sigmoid")(lamina.layers.Dense(4)(inputs))
    return lamina.Model(inputs, out)


def test_run_eagerly_matches_jit():
    a, b = model(), model()
    a.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    b.compile("adam", "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
    ha = a.fit(X, Y, batch_size=16, shuffle=False, verbose=0, epochs=2)
    hb = b.fit(X, Y, batch_size=16, shuffle=False, verbose=0, epochs=2)
    assert_close(hb.history["loss"], ha.history["loss"])
    assert_close(b.get_weights(), a.get_weights())
    assert b._trace_counts["train"] >= 6  # eager: the step body runs every batch


def test_target_tensors_are_used_when_y_is_missing():
    a, b = model(), model()
    a.compile("sgd", "binary_crossentropy", target_tensors=Y)
    b.compile("sgd", "binary_crossentropy")
    ha = a.fit(X, batch_size=16, shuffle=False, verbose=0)
    hb = b.fit(X, Y, batch_size=16, shuffle=False, verbose=0)
    assert_close(ha.history["loss"], hb.history["loss"])
    assert_close(a.evaluate(X, verbose=0), b.evaluate(X, Y, verbose=0))


def test_verbose_2_prints_one_line_per_epoch(capsys):
    m = model()
    m.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    m.fit(X, Y, batch_size=16, epochs=2, verbose=2, validation_split=0.25)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert "accuracy:" in lines[1] and "loss:" in lines[1] and "val_loss:" in lines[1]
    assert "\r" not in out


def test_learning_rate_scheduler_changes_training():
    m = model()
    m.compile(lamina.optimizers.SGD(0.1), "binary_crossentropy")
    before = m.get_weights()
    zero_after_first = lamina.callbacks.LearningRateScheduler(
        lambda epoch, lr: 0.1 if epoch == 0 else 0.0)
    history = m.fit(X, Y, batch_size=16, epochs=3, verbose=0, callbacks=[zero_after_first])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.0, 0.0])
    after_first = m.get_weights()
    assert not np.allclose(after_first[0], before[0])
    m.fit(X, Y, batch_size=16, epochs=1, verbose=0)  # lr stays 0: nothing moves
    assert_close(m.get_weights(), after_first)


def test_validation_steps_with_a_generator():
    m = model()
    m.compile("sgd", "binary_crossentropy")

    def batches():
        while True:
            yield X[:16], Y[:16]

    history = m.fit(X, Y, batch_size=16, epochs=1, verbose=0, validation_data=batches(),
                    validation_steps=2)
    assert_close(history.history["val_loss"][0], m.evaluate(X[:16], Y[:16], verbose=0))


def test_terminate_on_nan_and_stop_training():
    import jax.numpy as jnp

    def broken_loss(y_true, y_pred):  # a custom callable loss that yields NaN
        return jnp.log(y_pred - 2.0)

    m = model()
    m.compile("sgd", broken_loss)
    history = m.fit(X, Y, batch_size=8, epochs=5, verbose=0,
                    callbacks=[lamina.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and m.stop_training
    assert np.isnan(history.history["loss"][0])


def test_pandas_inputs():
    pd = pytest.importorskip("pandas")
    m = model()
    m.compile("sgd", "binary_crossentropy")
    frame = pd.DataFrame(X, columns=list("abcde"))
    history = m.fit(frame, pd.Series(Y[:, 0]), batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_step_fusion_follows_callbacks_and_layers():
    from lamina.callbacks import CallbackList

    dense = model()
    dense.compile("sgd", "mse")
    assert dense._fused_steps(CallbackList(None, model=dense), "train") == 16

    class PerBatch(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    assert dense._fused_steps(CallbackList([PerBatch()], model=dense), "train") == 1
    inputs = lamina.Input((6, 6, 1))
    conv = lamina.Model(inputs, lamina.layers.Conv2D(2, 3)(inputs))
    conv.compile("sgd", "mse")
    # On CPU, convolutions inside a loop run several times slower: no fusion.
    assert conv._fused_steps(CallbackList(None, model=conv), "train") == 1


def test_interrupted_fit_leaves_a_usable_model():
    m = model()
    m.compile("sgd", "binary_crossentropy")
    m.fit(X, Y, batch_size=16, verbose=0)
    before = m.get_weights()

    class Interrupt(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    m.fit(X, Y, batch_size=16, verbose=0, shuffle=False, steps_per_epoch=2)
    two_batches = m.get_weights()
    m.set_weights(before)
    with pytest.raises(KeyboardInterrupt):
        m.fit(X, Y, batch_size=16, verbose=0, shuffle=False, callbacks=[Interrupt()])
    # The state after the last completed batch (its call donated the earlier arrays).
    assert_close(m.get_weights(), two_batches)
    assert not np.allclose(two_batches[0], before[0])
    assert m.predict(X[:2], verbose=0).shape == (2, 1)
    m.fit(X, Y, batch_size=16, verbose=0)
