"""Callback base, CallbackList, History and LambdaCallback, compared with Keras 3 where it applies."""

import types
from collections.abc import Mapping

import keras
import numpy as np
import pytest

import lamina.callbacks as lc
from lamina.callbacks import Callback, CallbackList, History, LambdaCallback, ProgbarLogger
from lamina.callbacks.callback_list import BatchLogs, pythonify_logs


class Model:
    def __init__(self):
        self.stop_training = False
        self.history = None


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("on_") and callable(attr):
            calls = object.__getattribute__(self, "calls")

            def wrapped(*args, **kwargs):
                calls.append(name)
                return attr(*args, **kwargs)
            return wrapped
        return attr


def test_public_names_match_keras():
    """Every public class of lamina.callbacks is a Keras callback name (modules aside),
    and the core ones are all there."""
    ours = {n for n in dir(lc) if not n.startswith("_")
            and not isinstance(getattr(lc, n), types.ModuleType)}
    assert ours <= set(dir(keras.callbacks))
    assert {"BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
            "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
            "OrbaxCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
            "SwapEMAWeights", "TensorBoard", "TerminateOnNaN"} <= ours


def test_base_hooks_and_batch_aliases():
    cb = Recorder()
    model = Model()
    cb.set_model(model)
    cb.set_params({"epochs": 3})
    assert cb.model is model and cb.params == {"epochs": 3}
    cb.on_train_batch_begin(0, {})
    cb.on_train_batch_end(0, {})
    # The training batch hooks fall through to the legacy aliases, as in Keras.
    assert cb.calls == ["on_train_batch_begin", "on_batch_begin", "on_train_batch_end",
                        "on_batch_end"]
    for hook in ("on_epoch_begin", "on_epoch_end", "on_test_batch_begin", "on_test_batch_end",
                 "on_predict_batch_begin", "on_predict_batch_end"):
        assert getattr(Callback(), hook)(0, None) is None
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):
        assert getattr(Callback(), hook)(None) is None


def test_model_property_syncs_state():
    class Syncing(Model):
        syncs = 0

        def jax_state_sync(self):
            self.syncs += 1
    cb = Callback()
    m = Syncing()
    cb.set_model(m)
    assert cb.model is m and m.syncs == 1


@pytest.mark.parametrize("add_history,add_progbar", [(False, False), (True, False),
                                                     (True, True), (False, True)])
def test_default_callbacks_like_keras(add_history, add_progbar):
    for given in ([], [History()], [ProgbarLogger(), Callback()]):
        cl = CallbackList(given, add_history=add_history, add_progbar=add_progbar,
                          model=Model(), verbose=1, epochs=2, steps=3)
        kgiven = [keras.callbacks.History() if isinstance(c, History) else
                  keras.callbacks.ProgbarLogger() if isinstance(c, ProgbarLogger) else
                  keras.callbacks.Callback() for c in given]
        kcl = keras.callbacks.CallbackList(kgiven, add_history=add_history,
                                           add_progbar=add_progbar, model=Model(), verbose=1,
                                           epochs=2, steps=3)
        assert [type(c).__name__ for c in cl.callbacks] == [
            type(c).__name__ for c in kcl.callbacks]
        for c in cl.callbacks:
            assert c.params == {"verbose": 1, "epochs": 2, "steps": 3}


def test_set_model_sets_history_and_params():
    model = Model()
    cl = CallbackList([Callback()], add_history=True, model=model, epochs=1)
    assert model.history is cl.callbacks[-1]
    assert all(c.model is model for c in cl.callbacks)
    cl.set_model(None)  # ignored
    assert cl.callbacks[0].model is model
    cl2 = CallbackList([Callback()])
    assert cl2.callbacks[0].params is None  # empty params are not handed on


def test_rejects_non_callbacks_and_unbalanced_end():
    with pytest.raises(TypeError, match="Callback"):
        CallbackList([object()])
    nested = CallbackList([[Callback(), [History()]]], add_history=True)
    assert [type(c) for c in nested.callbacks] == [Callback, History]
    assert len(CallbackList(Callback())) == 1
    cl = CallbackList([])
    with pytest.raises(ValueError, match="on_xxx_begin"):
        cl.on_train_end()
    cl.on_predict_begin()
    cl.on_predict_end()


def test_every_hook_is_forwarded_in_order():
    a, b = Recorder(), Recorder()
    cl = CallbackList([a, b], model=Model())
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    cl.on_train_batch_begin(0)
    cl.on_train_batch_end(0, {"loss": 1.0})
    cl.on_batch_begin(0)
    cl.on_batch_end(0)
    cl.on_test_begin()
    cl.on_test_batch_begin(0)
    cl.on_test_batch_end(0)
    cl.on_test_end()
    cl.on_epoch_end(0, {"loss": 1.0})
    cl.on_train_end()
    cl.on_predict_begin()
    cl.on_predict_batch_begin(0)
    cl.on_predict_batch_end(0, {"outputs": np.zeros(2)})
    cl.on_predict_end()
    assert a.calls == b.calls == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin",
        "on_train_batch_end", "on_batch_end", "on_batch_begin", "on_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end", "on_train_end", "on_predict_begin", "on_predict_batch_begin",
        "on_predict_batch_end", "on_predict_end"]


def test_epoch_logs_pythonified_like_keras():
    from keras.src.utils.python_utils import pythonify_logs as keras_pythonify
    logs = {"val_loss": np.float32(0.5), "loss": np.array(0.25, np.float32),
            "acc": 1, "nested": {"b": np.float64(2.0), "a": 3.0}, "vec": np.arange(2.0)}
    ours, theirs = pythonify_logs(logs), keras_pythonify(logs)
    assert list(ours) == list(theirs)
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k])
        assert type(ours[k]) is type(theirs[k])
    assert pythonify_logs(None) == {}


def test_epoch_logs_shared_between_callbacks():
    seen = []

    class AddLR(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["learning_rate"] = 0.5
    cl = CallbackList([AddLR(), LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))],
                      add_history=True, model=Model())
    given = {"loss": np.float32(1.5)}
    cl.on_train_begin()
    cl.on_epoch_end(0, given)
    assert seen == [{"loss": 1.5, "learning_rate": 0.5}]
    assert type(seen[0]["loss"]) is float
    assert cl._history.history == {"loss": [1.5], "learning_rate": [0.5]}
    assert given == {"loss": np.float32(1.5)}  # the loop's dict is left alone


class CountingLogs(Mapping):
    def __init__(self, values):
        self.values = values
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return self.values[key]

    def __iter__(self):
        self.reads += 1
        return iter(self.values)

    def __len__(self):
        self.reads += 1
        return len(self.values)


def test_batch_logs_are_lazy_and_converted_once():
    logs = CountingLogs({"loss": np.float32(2.0), "acc": np.float32(0.5)})
    readers = []
    cl = CallbackList([History(), Callback(),
                       LambdaCallback(on_train_batch_end=lambda batch, logs: readers.append(logs))],
                      model=Model())
    cl.on_train_batch_end(0, logs)
    assert logs.reads == 0  # handing on is free
    view = readers[0]
    assert isinstance(view, BatchLogs)
    assert view["loss"] == 2.0 and type(view["loss"]) is float
    assert view["loss"] == 2.0
    assert logs.reads == 1  # converted once, then cached
    assert list(view) == ["acc", "loss"]  # sorted, as Keras's pythonified logs
    assert view.get("missing") is None
    cl.on_train_batch_end(1, None)
    assert readers[-1] == {}


def test_needs_batch_hooks():
    assert not CallbackList([History(), Callback()], model=Model()).needs_batch_logs
    lam = CallbackList([LambdaCallback(on_epoch_end=print)], model=Model())
    assert not lam.needs_batch_logs
    lam = CallbackList([LambdaCallback(on_train_batch_end=print)], model=Model())
    assert lam.needs_train_batch_hooks and lam.needs_batch_logs
    assert not lam.needs_test_batch_hooks and not lam.needs_predict_batch_hooks

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class Pred(Callback):
        def on_predict_batch_end(self, batch, logs=None):
            pass
    assert CallbackList([Legacy()]).needs_train_batch_hooks
    pred = CallbackList([Pred()])
    assert pred.needs_predict_batch_hooks and not pred.needs_train_batch_hooks
    cl = CallbackList(None, add_progbar=True, verbose=2, epochs=1, steps=3)
    assert not cl.needs_batch_logs  # verbose=2 draws only at the end


def test_history_like_keras():
    results = []
    for H in (History, keras.callbacks.History):
        h, model = H(), Model()
        h.set_model(model)
        h.on_train_begin()
        h.on_epoch_end(0, {"loss": 1.0, "acc": 0.1})
        h.on_epoch_end(1, {"loss": 0.5, "acc": 0.2, "val_loss": 0.7})
        assert model.history is h
        h.on_train_begin()  # a second fit: epochs restart, values are kept
        h.on_epoch_end(0, {"loss": 0.25})
        results.append((h.history, h.epoch))
    assert results[0] == results[1]
    assert results[0] == ({"loss": [1.0, 0.5, 0.25], "acc": [0.1, 0.2], "val_loss": [0.7]}, [0])


def test_lambda_callback_hooks():
    events = []
    cb = LambdaCallback(on_epoch_begin=lambda e, logs: events.append(("eb", e)),
                        on_epoch_end=lambda e, logs: events.append(("ee", e, logs)),
                        on_train_begin=lambda logs: events.append("tb"),
                        on_train_end=lambda logs: events.append("te"),
                        on_train_batch_begin=lambda b, logs: events.append(("bb", b)),
                        on_train_batch_end=lambda b, logs: events.append(("be", b)),
                        on_test_end=lambda logs: events.append("test_end"))
    cl = CallbackList([cb], model=Model())
    cl.on_train_begin()
    cl.on_epoch_begin(0)
    cl.on_train_batch_begin(0)
    cl.on_train_batch_end(0, {"loss": 1.0})
    cl.on_epoch_end(0, {"loss": 1.0})
    cl.on_train_end()
    cl.on_test_begin()
    cl.on_test_end()
    cl.on_predict_begin()  # not given: the base hook runs
    cl.on_predict_end()
    assert events == ["tb", ("eb", 0), ("bb", 0), ("be", 0), ("ee", 0, {"loss": 1.0}), "te",
                      "test_end"]
