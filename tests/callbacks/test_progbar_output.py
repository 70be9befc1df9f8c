"""Progbar / ProgbarLogger output text vs Keras 3, and laziness of batch-log reads."""

import io
import sys
import types
from collections.abc import Mapping

import keras
import keras.src.utils.progbar as keras_progbar
import pytest

import lamina.utils.progbar as lamina_progbar
from lamina.callbacks import CallbackList, ProgbarLogger
from lamina.utils.progbar import Progbar

BAR = "\u2501"


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.fixture
def clock(monkeypatch):
    clk = Clock()
    monkeypatch.setattr(lamina_progbar, "_now", clk)
    monkeypatch.setattr(keras_progbar, "time", types.SimpleNamespace(time=clk))
    return clk


def run_bar(cls, monkeypatch, clock, tty, verbose, updates, **kwargs):
    """Runs a progress bar through ``updates`` = [(dt, current, values, finalize)]."""
    out = Stream(tty)
    monkeypatch.setattr(sys, "stdout", out)
    clock.t = 1000.0
    bar = cls(**kwargs, verbose=verbose)
    for dt, current, values, finalize in updates:
        clock.t += dt
        bar.update(current, values, finalize=finalize)
    monkeypatch.setattr(sys, "stdout", sys.__stdout__)
    return out.getvalue()


UPDATES = [
    (0.2, 1, [("loss", 0.9), ("acc", 0.1)], None),
    (0.01, 2, [("loss", 0.7), ("acc", 0.0)], None),  # within the interval: not drawn
    (0.3, 3, [("loss", 0.5), ("acc", 0.3)], None),
    (0.2, 4, [("loss", -0.0005), ("acc", 0.5)], None),
    (90.0, 5, [("loss", 0.4), ("acc", 0.6)], None),
]


@pytest.mark.parametrize("kwargs", [
    dict(target=5),
    dict(target=5, stateful_metrics=["acc"]),
    dict(target=5, stateless_metrics=[]),
    dict(target=12, width=10, unit_name="sample"),
    dict(target=None),
])
def test_verbose1_tty_matches_keras(monkeypatch, clock, kwargs):
    updates = UPDATES
    if kwargs["target"] is None:
        updates = UPDATES + [(0.1, 5, [("loss", 0.4)], True)]
    expected = run_bar(keras.utils.Progbar, monkeypatch, clock, True, 1, updates, **kwargs)
    got = run_bar(Progbar, monkeypatch, clock, True, 1, updates, **kwargs)
    # Keras also backspaces over the previous line before "\r"; lamina only uses "\r".
    assert got == expected.replace("\b", "")
    assert got.count("\r") == (5 if kwargs["target"] is None else 4)


@pytest.mark.parametrize("kwargs", [dict(target=5), dict(target=5, stateless_metrics=[]),
                                    dict(target=300)])
def test_verbose2_matches_keras(monkeypatch, clock, kwargs):
    updates = UPDATES + [(2.0, kwargs["target"], [("loss", 0.3), ("acc", -0.5)], None)]
    expected = run_bar(keras.utils.Progbar, monkeypatch, clock, False, 2, updates, **kwargs)
    got = run_bar(Progbar, monkeypatch, clock, False, 2, updates, **kwargs)
    assert got == expected
    # One line each time the target is reached, none before.
    assert got.count("\n") == (2 if kwargs["target"] == 5 else 1)


def test_verbose1_not_a_tty_prints_one_plain_line(monkeypatch, clock):
    updates = [(dt, cur, vals, False) for dt, cur, vals, _ in UPDATES]
    updates += [(0.5, 5, [("loss", 0.25), ("acc", 0.00001)], True)]
    got = run_bar(Progbar, monkeypatch, clock, False, 1, updates, target=5,
                  stateless_metrics=[])
    assert got == f"5/5 {BAR * 20} 91s 23s/step - loss: 0.2500 - acc: 1.0000e-05\n"


def test_eta_and_bar_text(monkeypatch, clock):
    got = run_bar(Progbar, monkeypatch, clock, True, 1,
                  [(0.5, 1, None, None), (0.5, 2, None, None)], target=10000)
    first, second = got.split("\r")[1:]
    plain = second.replace("\x1b[1m", "").replace("\x1b[0m", "").replace(
        "\x1b[32m", "").replace("\x1b[37m", "")
    # 0.5 s/step over the remaining 9998 steps: 1:23:19 left.
    assert plain.rstrip() == f"    2/10000 {BAR * 20} 1:23:19 500ms/step"
    assert "\x1b[32m" not in first  # nothing done yet: no green part


def test_add_and_silent(monkeypatch, clock):
    assert run_bar(Progbar, monkeypatch, clock, True, 0, UPDATES, target=5) == ""
    texts = []
    for cls in (keras.utils.Progbar, Progbar):
        out = Stream(False)
        monkeypatch.setattr(sys, "stdout", out)
        bar = cls(target=6, verbose=2)
        bar.add(2, [("loss", 1.0)])
        bar.add(2, [("loss", 2.0)])
        bar.add(2, [("loss", 3.0)])
        texts.append(out.getvalue())
    # The finalizing value replaces the running average, as in Keras.
    assert texts[0] == texts[1] == "6/6 - 0s - 0s/step - loss: 3.0000\n"
    with pytest.raises(ValueError):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


class CountingLogs(Mapping):
    """Batch logs that count every access, like the loop's lazily computed ones."""

    reads = 0

    def __init__(self, values):
        self._values = values

    def _touch(self):
        type(self).reads += 1

    def __getitem__(self, key):
        self._touch()
        return self._values[key]

    def __iter__(self):
        self._touch()
        return iter(self._values)

    def __len__(self):
        self._touch()
        return len(self._values)


class Model:
    stop_training = False


def drive_fit(cl, clock, steps, dt, epochs=1):
    reads_per_epoch = []
    cl.on_train_begin()
    for epoch in range(epochs):
        CountingLogs.reads = 0
        cl.on_epoch_begin(epoch)
        for b in range(steps):
            cl.on_train_batch_begin(b)
            clock.t += dt
            cl.on_train_batch_end(b, CountingLogs({"loss": 1.0 / (b + 1), "acc": 0.5}))
        reads_per_epoch.append(CountingLogs.reads)
        cl.on_epoch_end(epoch, {"loss": 0.25, "acc": 0.5, "val_loss": 0.5})
    cl.on_train_end()
    return reads_per_epoch


@pytest.mark.parametrize("tty", [True, False])
def test_progbar_logger_reads_batch_logs_only_when_drawing(monkeypatch, clock, tty):
    out = Stream(tty)
    monkeypatch.setattr(sys, "stdout", out)
    cl = CallbackList(None, add_history=True, add_progbar=True, model=Model(), verbose=1,
                      epochs=2, steps=200)
    # 200 steps of ~1 ms: a redraw at most every 50 ms.
    reads = drive_fit(cl, clock, steps=200, dt=2**-10, epochs=2)
    text = out.getvalue()
    if tty:
        redraws = text.count("\r")
        assert 4 <= redraws <= 12
        # Keys and two values per redraw, nothing in between.
        assert 0 < sum(reads) <= 4 * redraws
    else:
        assert reads == [0, 0]
        assert "\r" not in text
        assert text == ("Epoch 1/2\n"
                        f"200/200 {BAR * 20} 0s 977us/step - acc: 0.5000 - loss: 0.2500"
                        " - val_loss: 0.5000\n"
                        "Epoch 2/2\n"
                        f"200/200 {BAR * 20} 0s 977us/step - acc: 0.5000 - loss: 0.2500"
                        " - val_loss: 0.5000\n")


def test_progbar_logger_verbose2_and_silent_never_read(monkeypatch, clock):
    for verbose in (2, 0):
        out = Stream(True)
        monkeypatch.setattr(sys, "stdout", out)
        cl = CallbackList(None, add_progbar=True, model=Model(), verbose=verbose, epochs=1,
                          steps=20)
        cl.on_train_begin()
        assert not cl.needs_train_batch_hooks
        assert drive_fit(cl, clock, steps=20, dt=0.01) == [0]
        text = out.getvalue()
        if verbose == 2:
            assert text == "20/20 - 0s - 10ms/step - acc: 0.5000 - loss: 0.2500 - val_loss: 0.5000\n"
        else:
            assert text == ""


def run_logger(cl_cls, monkeypatch, clock, tty, verbose):
    """fit (2 epochs, with validation), then evaluate and predict, through a CallbackList."""
    out = Stream(tty)
    monkeypatch.setattr(sys, "stdout", out)
    clock.t = 1000.0
    cl = cl_cls(None, add_history=True, add_progbar=True, model=Model(), verbose=verbose,
                epochs=2, steps=4)
    cl.on_train_begin()
    for epoch in range(2):
        cl.on_epoch_begin(epoch)
        for b in range(4):
            clock.t += 0.2
            cl.on_train_batch_end(b, {"loss": 1.0 / (b + 1), "accuracy": 0.25 * b})
        cl.on_test_begin()
        for b in range(2):
            clock.t += 0.2
            cl.on_test_batch_end(b, {"loss": 3.0})
        cl.on_test_end({"loss": 3.0})
        cl.on_epoch_end(epoch, {"loss": 0.5, "accuracy": 0.75, "val_loss": 3.0,
                                "val_accuracy": 0.0})
    cl.on_train_end()
    ev = cl_cls(None, add_progbar=True, model=Model(), verbose=verbose, epochs=1, steps=3)
    ev.on_test_begin()
    for b in range(3):
        clock.t += 0.003
        ev.on_test_batch_end(b, {"loss": 2.0, "accuracy": 0.5})
    ev.on_test_end({"loss": 2.0, "accuracy": 0.5})
    ev.on_predict_begin()
    for b in range(3):
        clock.t += 0.0002
        ev.on_predict_batch_end(b, {"outputs": [1.0]})
    ev.on_predict_end()
    return out.getvalue()


class SyncCallback(keras.callbacks.Callback):
    """Makes Keras's CallbackList dispatch batch hooks synchronously (deterministic order)."""

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


def keras_callback_list(callbacks, **kwargs):
    return keras.callbacks.CallbackList([SyncCallback()], **kwargs)


@pytest.mark.parametrize("verbose,tty", [(1, True), (2, True), (2, False), ("auto", True)])
def test_progbar_logger_fit_evaluate_predict_matches_keras(monkeypatch, clock, verbose, tty):
    expected = run_logger(keras_callback_list, monkeypatch, clock, tty, verbose)
    got = run_logger(CallbackList, monkeypatch, clock, tty, verbose)
    assert got == expected.replace("\b", "")


def test_progbar_logger_unknown_steps(monkeypatch, clock):
    out = Stream(False)
    monkeypatch.setattr(sys, "stdout", out)
    cl = CallbackList([ProgbarLogger()], model=Model(), verbose=1, epochs=1, steps=None)
    cl.on_train_begin()
    assert cl.needs_train_batch_hooks  # it must count the steps
    drive_fit(cl, clock, steps=7, dt=0.01)
    assert out.getvalue().startswith(f"7/7 {BAR * 20} ")
