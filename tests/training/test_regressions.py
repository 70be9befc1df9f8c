"""Regression tests for behaviours that differed from Keras 3 (each failed before its fix)."""

import warnings

import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(1)
X = RNG.random((64, 3)).astype("float32")
TOL = {"rtol": 1e-4, "atol": 1e-5}


def _mlp(K, units=2):
    inputs = K.Input((3,))
    return K.Model(inputs, K.layers.Dense(units)(K.layers.Dense(4, activation="relu")(inputs)))


def _pair(build):
    km, lm = build(keras), build(lamina)
    lm.set_weights(km.get_weights())
    return km, lm


# 1. stop_training stops training loops only.
def test_evaluate_and_predict_see_every_batch_after_early_stopping():
    y = RNG.random((64, 2)).astype("float32")
    km, lm = _pair(_mlp)
    for m in (km, lm):
        m.compile("sgd", "mse")
    stop = {"monitor": "loss", "patience": 0, "min_delta": 1e9}
    for m, K in ((km, keras), (lm, lamina)):
        m.fit(X, y, epochs=5, batch_size=32, verbose=0, shuffle=False,
              callbacks=[K.callbacks.EarlyStopping(**stop)])
    assert lm.stop_training
    expected = km.evaluate(X, y, batch_size=32, verbose=0)
    assert_close(lm.evaluate(X, y, batch_size=32, verbose=0), expected, **TOL)
    full = np.mean((lm.predict(X, batch_size=32, verbose=0) - y) ** 2)
    assert lm.evaluate(X, y, batch_size=32, verbose=0) == pytest.approx(full, rel=1e-5)
    assert lm.predict(X, batch_size=32, verbose=0).shape == (64, 2)


# 2. Dict outputs pair by key, whatever the insertion orders.
def _dict_model(K):
    inputs = K.Input((3,), name="inp")
    return K.Model(inputs, {"reg": K.layers.Dense(2, name="r")(inputs),
                            "cls": K.layers.Dense(1, activation="sigmoid", name="c")(inputs)})


def test_dict_outputs_match_targets_losses_and_weights_by_key():
    y = {"cls": (RNG.random((64, 1)) > 0.5).astype("float32"),
         "reg": RNG.random((64, 2)).astype("float32")}
    sw = {"reg": RNG.random(64).astype("float32"), "cls": RNG.random(64).astype("float32")}
    km, lm = _pair(_dict_model)
    for m in (km, lm):
        m.compile(keras.optimizers.SGD(0.1) if m is km else lamina.optimizers.SGD(0.1),
                  loss={"reg": "mse", "cls": "binary_crossentropy"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    hk = km.fit(X, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False, verbose=0)
    hl = lm.fit(X, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert set(hl.history) == set(hk.history) == {
        "loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae"}
    for key in hk.history:
        assert_close(hl.history[key], hk.history[key], **TOL, err_msg=key)
    assert_close(lm.get_weights(), km.get_weights(), **TOL)
    assert lm.output_names == km.output_names
    assert_close(lm.evaluate(X, y, verbose=0, return_dict=True),
                 km.evaluate(X, y, verbose=0, return_dict=True), **TOL)
    pl, pk = lm.predict(X, verbose=0), km.predict(X, verbose=0)
    assert isinstance(pl, dict) and pl["reg"].shape == (64, 2) and pl["cls"].shape == (64, 1)
    assert_close(pl, pk, **TOL)


# 5. A fully frozen model trains as in Keras: losses reported, nothing moves.
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fully_frozen_model_fits_like_keras(optimizer):
    def build(K):
        inputs = K.Input((3,))
        x = K.layers.BatchNormalization()(inputs)
        return K.Model(inputs, K.layers.Dense(2)(x))

    y = RNG.random((64, 2)).astype("float32")
    km, lm = _pair(build)
    for m in (km, lm):
        m.trainable = False
        m.compile(optimizer, "mse", metrics=["mae"])
    before = lm.get_weights()
    hk = km.fit(X, y, epochs=2, batch_size=16, verbose=0)
    hl = lm.fit(X, y, epochs=2, batch_size=16, verbose=0)
    for key in hk.history:
        assert_close(hl.history[key], hk.history[key], **TOL, err_msg=key)
    assert_close(lm.get_weights(), before, rtol=0, atol=0)
    assert int(lm.optimizer.iterations) == int(km.optimizer.iterations) == 0
    assert lm.train_on_batch(X[:8], y[:8]) == pytest.approx(
        km.train_on_batch(X[:8], y[:8]), rel=1e-5)


# 6. Calls before compile raise ValueError, as Keras code expects.
@pytest.mark.parametrize("call", [
    lambda m: m.fit(X, X, verbose=0), lambda m: m.evaluate(X, X, verbose=0),
    lambda m: m.train_on_batch(X, X), lambda m: m.test_on_batch(X, X)])
def test_training_before_compile_raises_value_error(call):
    with pytest.raises(ValueError, match="compile"):
        call(_mlp(lamina, units=3))


# 7. input_spec set on a functional model is kept and checked.
def test_functional_model_keeps_user_input_spec():
    model = _mlp(lamina)
    spec = lamina.layers.InputSpec(shape=(None, 3), dtype="float32")
    model.input_spec = spec
    assert model.input_spec is spec
    model.input_spec = lamina.layers.InputSpec(ndim=3)
    with pytest.raises(ValueError, match="ndim"):
        model(X)


# 9. Streamed data on unbuilt models, as Keras.
class _Batches:
    """A sequence of (x, y) batches, wrapped as PyDataset for each library."""

    def __init__(self, x, y, batch_size, as_list=False):
        self.x, self.y, self.batch_size, self.as_list = x, y, batch_size, as_list

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return [self.x[s], self.y[s]] if self.as_list else (self.x[s], self.y[s])


def _dataset(K, batches):
    class Data(K.utils.PyDataset):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return len(batches)

        def __getitem__(self, i):
            return batches[i]

    return Data()


def _unbuilt_sequential(K):
    return K.Sequential([K.layers.Dense(4, activation="relu"), K.layers.Dense(2)])


def _unbuilt_subclassed(K):
    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden = K.layers.Dense(4, activation="relu")
            self.out = K.layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    return Net()


@pytest.mark.parametrize("build", [_unbuilt_sequential, _unbuilt_subclassed])
@pytest.mark.parametrize("source", ["pydataset", "generator", "pydataset_lists"])
def test_streamed_data_trains_unbuilt_models_like_keras(build, source):
    y = RNG.random((64, 2)).astype("float32")
    batches = _Batches(X, y, 16, as_list=source == "pydataset_lists")
    models = {}
    for K in (keras, lamina):
        K.utils.set_random_seed(3)
        models[K] = build(K)
    for m in models.values():
        m(X[:1])  # Keras builds a subclassed model's weights on its first call
    models[lamina].set_weights(models[keras].get_weights())
    results = {}
    for K, m in models.items():
        m.compile(K.optimizers.SGD(0.1), "mse")
        data = (_dataset(K, batches) if source != "generator" else
                (batches[i % len(batches)] for i in range(10 ** 6)))
        kwargs = {} if source != "generator" else {"steps_per_epoch": len(batches)}
        results[K] = m.fit(data, epochs=2, verbose=0, shuffle=False, **kwargs).history
    assert_close(results[lamina]["loss"], results[keras]["loss"], **TOL)
    assert_close(models[lamina].get_weights(), models[keras].get_weights(), **TOL)


@pytest.mark.parametrize("build", [_unbuilt_sequential, _unbuilt_subclassed])
def test_fit_on_generator_builds_an_unbuilt_model(build):
    y = RNG.random((64, 2)).astype("float32")
    model = build(lamina)
    model.compile("sgd", "mse")
    gen = ((X[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    history = model.fit(gen, epochs=1, verbose=0)
    assert model.built and len(history.history["loss"]) == 1
    assert model.predict(X, verbose=0).shape == (64, 2)


def test_batch_size_with_a_dataset_is_ignored_with_a_warning():
    y = RNG.random((64, 2)).astype("float32")
    model = _unbuilt_sequential(lamina)
    model.compile("sgd", "mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(_dataset(lamina, _Batches(X, y, 16)), batch_size=64, epochs=1, verbose=0)
    assert any("batch_size" in str(w.message) for w in caught)
    assert model.built


def test_fit_shuffles_the_batch_order_of_a_pydataset():
    y = RNG.random((64, 2)).astype("float32")
    seen = []

    class Recording(_Batches):
        def __getitem__(self, i):
            seen.append(i)
            return super().__getitem__(i)

    model = _mlp(lamina)
    model.compile("sgd", "mse")
    lamina.utils.set_random_seed(0)
    model.fit(_dataset(lamina, Recording(X, y, 4)), epochs=3, verbose=0)
    epochs = [seen[i:i + 16] for i in range(len(seen) - 48, len(seen), 16)]
    assert all(sorted(e) == list(range(16)) for e in epochs)
    assert any(e != list(range(16)) for e in epochs)
    seen.clear()
    model.fit(_dataset(lamina, Recording(X, y, 4)), epochs=1, verbose=0, shuffle=False)
    assert seen[-16:] == list(range(16))


def _hook_recorder(base):
    class Recorder(base):
        def __init__(self):
            super().__init__()
            self.calls = []

    for hook in ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_test_begin",
                 "on_test_end", "on_train_end", "on_predict_begin", "on_predict_end"):
        def record(self, *args, _hook=hook, **kwargs):
            self.calls.append(_hook)
        setattr(Recorder, hook, record)

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append("on_test_batch_end")
    Recorder.on_test_batch_end = on_test_batch_end
    return Recorder()


def test_validation_in_fit_calls_the_test_hooks_of_fit_callbacks_as_keras():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)).astype("float32"), rng.normal(size=(12, 1)).astype("float32")
    calls = []
    for lib in (keras, lamina):
        inputs = lib.Input((3,))
        model = lib.Model(inputs, lib.layers.Dense(1)(inputs))
        model.compile("sgd", "mse")
        recorder = _hook_recorder(lib.callbacks.Callback)
        model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:8], y[:8]), verbose=0,
                  callbacks=[recorder])
        model.predict(x, verbose=0, callbacks=[recorder])
        calls.append(recorder.calls)
    assert calls[1] == calls[0]
    assert calls[1].count("on_test_batch_end") == 4  # 2 validation batches per epoch


def test_callbacks_see_the_weights_validation_and_predict_use():
    """A callback that replaces the weights in on_test_begin/on_predict_begin changes
    what validation and predict compute (SwapEMAWeights relies on it)."""
    x = np.ones((4, 2), "float32")
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, lamina.layers.Dense(1, use_bias=False,
                                                   kernel_initializer="ones")(inputs))
    model.compile("sgd", "mse")

    class Zero(lamina.callbacks.Callback):
        def _zero(self, logs=None):
            self.saved = model.get_weights()
            model.set_weights([np.zeros_like(w) for w in self.saved])

        def _restore(self, logs=None):
            model.set_weights(self.saved)

        on_test_begin = on_predict_begin = _zero
        on_test_end = on_predict_end = _restore

    history = model.fit(x, np.zeros((4, 1), "float32"), epochs=1, verbose=0,
                        validation_data=(x, np.ones((4, 1), "float32")), callbacks=[Zero()])
    assert history.history["val_loss"][0] == pytest.approx(1.0)  # zero weights -> 0 vs 1
    np.testing.assert_array_equal(model.predict(x, verbose=0, callbacks=[Zero()]), 0.0)
    assert float(np.abs(model.get_weights()[0]).sum()) > 0  # restored afterwards
