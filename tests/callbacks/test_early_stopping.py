"""EarlyStopping vs Keras 3, driven epoch by epoch on the same sequences of logs."""

import keras
import numpy as np
import pytest

from lamina.callbacks import CallbackList, EarlyStopping


class Model:
    """Weights are [epoch] after each epoch, so restored weights name their epoch."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.array([-1.0])]
        self.set_calls = 0

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.set_calls += 1
        self.weights = [np.array(w) for w in weights]


def run(cls, values, monitor="val_loss", **kwargs):
    cb = cls(monitor=monitor, **kwargs)
    model = Model()
    cb.set_model(model)
    cb.on_train_begin()
    trace = []
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        logs = {} if value is None else {monitor: value}
        cb.on_epoch_end(epoch, logs)
        trace.append((cb.wait, None if cb.best is None else float(cb.best)))
        if model.stop_training:
            break
    cb.on_train_end()
    return dict(trace=trace, stopped_epoch=cb.stopped_epoch, best_epoch=cb.best_epoch,
                stop=model.stop_training, weights=float(model.weights[0][0]),
                set_calls=model.set_calls)


DOWN = [1.0, 0.8, 0.85, 0.79, 0.81, 0.82, 0.9, 0.7, 0.95, 0.96, 0.97]
UP = [0.1, 0.3, 0.29, 0.5, 0.49, 0.48, 0.47, 0.6, 0.2, 0.2]
FLAT = [0.5] * 6

CASES = [
    (DOWN, {}),
    (DOWN, dict(patience=2)),
    (DOWN, dict(patience=2, restore_best_weights=True)),
    (DOWN, dict(patience=3, min_delta=0.05, restore_best_weights=True)),
    (DOWN, dict(patience=2, baseline=0.75)),
    (DOWN, dict(patience=2, baseline=0.5, restore_best_weights=True)),
    (DOWN, dict(patience=1, start_from_epoch=3, restore_best_weights=True)),
    (DOWN, dict(patience=100, restore_best_weights=True)),
    (DOWN, dict(patience=2, mode="max")),
    (UP, dict(patience=2, mode="max", restore_best_weights=True)),
    (UP, dict(patience=1, mode="min")),
    (FLAT, dict(patience=0)),
    (FLAT, dict(patience=2, restore_best_weights=True)),
    ([1.0], dict(patience=0, restore_best_weights=True)),
]


@pytest.mark.parametrize("values,kwargs", CASES)
def test_matches_keras(values, kwargs):
    ours = run(EarlyStopping, values, **kwargs)
    theirs = run(keras.callbacks.EarlyStopping, values, **kwargs)
    assert ours == theirs


def test_restore_best_weights_example():
    got = run(EarlyStopping, DOWN, patience=2, restore_best_weights=True)
    assert got["stopped_epoch"] == 5 and got["best_epoch"] == 3
    assert got["weights"] == 3.0  # the weights from the end of the best epoch


@pytest.mark.parametrize("monitor,values", [("val_accuracy", UP), ("accuracy", UP),
                                            ("loss", DOWN), ("val_mae", DOWN),
                                            ("val_mean_squared_error", DOWN)])
def test_auto_mode_direction(monitor, values):
    got = run(EarlyStopping, values, monitor=monitor, patience=1)
    mode = "min" if values is DOWN else "max"
    assert got == run(EarlyStopping, values, monitor=monitor, patience=1, mode=mode)
    expected = run(keras.callbacks.EarlyStopping, values, monitor=monitor, patience=1, mode=mode)
    assert got == expected


def test_auto_mode_reads_metric_direction_from_model():
    class Metric:
        name = "custom"
        _direction = "up"

    model = Model()
    model.metrics = [Metric()]
    cb = EarlyStopping(monitor="val_custom")
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_custom": 1.0})
    cb.on_epoch_end(1, {"val_custom": 2.0})
    assert cb.best == 2.0 and cb.wait == 0


def test_auto_mode_unknown_metric_raises():
    cb = EarlyStopping(monitor="val_something")
    cb.set_model(Model())
    with pytest.raises(ValueError, match="mode='max'"):
        cb.on_epoch_end(0, {"val_something": 1.0})


def test_unknown_mode_warns_and_missing_monitor_warns():
    with pytest.warns(UserWarning, match="unknown"):
        cb = EarlyStopping(mode="bogus")
    assert cb.mode == "auto"
    cb.set_model(Model())
    cb.on_train_begin()
    with pytest.warns(UserWarning, match="Available metrics are: loss"):
        cb.on_epoch_end(0, {"loss": 1.0})
    assert cb.wait == 0 and cb.best is None


def test_missing_values_like_keras():
    values = [1.0, None, 0.9, None, 1.2, 1.3]
    with pytest.warns(UserWarning):
        ours = run(EarlyStopping, values, patience=1)
    with pytest.warns(UserWarning):
        theirs = run(keras.callbacks.EarlyStopping, values, patience=1)
    assert ours == theirs


def test_verbose_messages(capsys):
    model = Model()
    cl = CallbackList([EarlyStopping(patience=1, verbose=1, restore_best_weights=True)],
                      model=model)
    cl.on_train_begin()
    for epoch, value in enumerate([1.0, 0.5, 0.7, 0.8]):
        model.weights = [np.array([float(epoch)])]
        cl.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    cl.on_train_end()
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\n"
        "Restoring model weights from the end of the best epoch: 2.\n")
    assert model.weights[0][0] == 1.0


def test_state_resets_on_train_begin():
    cb = EarlyStopping(patience=0)
    model = Model()
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 2.0})
    assert cb.stopped_epoch == 1 and model.stop_training
    cb.on_train_begin()
    assert (cb.wait, cb.stopped_epoch, cb.best, cb.best_weights) == (0, 0, None, None)
