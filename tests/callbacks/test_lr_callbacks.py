"""LearningRateScheduler and ReduceLROnPlateau vs Keras 3, on real optimizers of each library."""

import keras
import numpy as np
import pytest

import lamina.optimizers
from lamina.callbacks import CallbackList, History, LearningRateScheduler, ReduceLROnPlateau


class Model:
    def __init__(self, optimizer):
        self.stop_training = False
        self.optimizer = optimizer


def lamina_model(lr=0.1):
    return Model(lamina.optimizers.SGD(learning_rate=lr))


def keras_model(lr=0.1):
    return Model(keras.optimizers.SGD(learning_rate=lr))


def lr_of(model):
    return float(np.asarray(model.optimizer.learning_rate))


def run_scheduler(cls, model, schedule, epochs=5):
    cb = cls(schedule)
    cb.set_model(model)
    cb.on_train_begin()
    lrs, logged = [], []
    for epoch in range(epochs):
        cb.on_epoch_begin(epoch)
        lrs.append(lr_of(model))
        logs = {"loss": 1.0}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
    return lrs, logged


SCHEDULES = [
    lambda epoch, lr: lr if epoch < 2 else lr * 0.5,
    lambda epoch: 0.01 * (epoch + 1),
    lambda epoch: np.float32(0.2) / (epoch + 1),
    lambda epoch, lr: float(np.exp(-0.1 * epoch) * lr),
]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_scheduler_matches_keras(schedule):
    ours = run_scheduler(LearningRateScheduler, lamina_model(), schedule)
    theirs = run_scheduler(keras.callbacks.LearningRateScheduler, keras_model(), schedule)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert all(type(v) is float for v in ours[1])


def test_scheduler_rejects_non_float_and_prints(capsys):
    cb = LearningRateScheduler(lambda epoch: 1)
    cb.set_model(lamina_model())
    with pytest.raises(ValueError, match="should be a float"):
        cb.on_epoch_begin(0)
    cb = LearningRateScheduler(lambda epoch: 0.5, verbose=1)
    cb.set_model(lamina_model())
    cb.on_epoch_begin(2)
    assert capsys.readouterr().out == "\nEpoch 3: LearningRateScheduler setting learning rate to 0.5.\n"


def test_learning_rate_reaches_history():
    model = lamina_model()
    cl = CallbackList([LearningRateScheduler(lambda epoch: 0.5 ** epoch)], add_history=True,
                      model=model)
    cl.on_train_begin()
    for epoch in range(3):
        cl.on_epoch_begin(epoch)
        cl.on_epoch_end(epoch, {"loss": 1.0})
    cl.on_train_end()
    assert isinstance(model.history, History)
    assert model.history.history["learning_rate"] == [1.0, 0.5, 0.25]


def run_plateau(cls, model, values, **kwargs):
    cb = cls(**kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    trace = []
    for epoch, value in enumerate(values):
        logs = {"val_loss": value, "val_acc": -value}
        cb.on_epoch_end(epoch, logs)
        trace.append((logs["learning_rate"], lr_of(model), cb.wait, cb.cooldown_counter,
                      float(cb.best)))
    return trace


VALUES = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.89, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95]


@pytest.mark.parametrize("kwargs", [
    dict(patience=1),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.2, min_lr=0.01),
    dict(patience=1, min_delta=0.05),
    dict(patience=0, factor=0.5, min_lr=0.001),
    dict(monitor="val_acc", mode="max", patience=1, factor=0.5),
    dict(monitor="val_acc", mode="min", patience=2, factor=0.5),
])
def test_plateau_matches_keras(kwargs):
    ours = run_plateau(ReduceLROnPlateau, lamina_model(), VALUES, **kwargs)
    theirs = run_plateau(keras.callbacks.ReduceLROnPlateau, keras_model(), VALUES, **kwargs)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-6)


def test_plateau_errors_warnings_and_messages(capsys):
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="epsilon"):
        ReduceLROnPlateau(epsilon=0.1)
    cb = ReduceLROnPlateau(patience=0, factor=0.5, verbose=1)
    model = lamina_model(0.25)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 1.0})
    cb.on_epoch_end(1, {"val_loss": 1.0})
    assert capsys.readouterr().out == (
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.125.\n")
    logs = {"loss": 1.0}
    with pytest.warns(UserWarning, match="Available metrics are: loss,learning_rate"):
        cb.on_epoch_end(2, logs)
    assert logs["learning_rate"] == 0.125


def test_multi_optimizer_logs_each_rate():
    class Multi:
        def __init__(self):
            self.optimizers = [lamina.optimizers.SGD(0.1, name="a"),
                               lamina.optimizers.SGD(0.2, name="b")]
    model = Model(Multi())
    cb = ReduceLROnPlateau(patience=0, factor=0.5)
    cb.set_model(model)
    cb.on_train_begin()
    logs = {"val_loss": 1.0}
    cb.on_epoch_end(0, logs)
    cb.on_epoch_end(1, {"val_loss": 1.0})
    np.testing.assert_allclose([logs["learning_rate_a"], logs["learning_rate_b"]], [0.1, 0.2])
    np.testing.assert_allclose([lr_of(Model(o)) for o in model.optimizer.optimizers],
                               [0.05, 0.1], rtol=1e-6)
