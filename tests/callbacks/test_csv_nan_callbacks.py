"""CSVLogger (file contents vs Keras 3) and TerminateOnNaN."""

import keras
import numpy as np
import pytest

from lamina.callbacks import CallbackList, CSVLogger, TerminateOnNaN
from lamina.training.logs import LazyLogs


class Model:
    stop_training = False


def write_csv(cls, path, epochs_logs, fits=1, **kwargs):
    cb = cls(str(path), **kwargs)
    cb.set_model(Model())
    for _ in range(fits):
        cb.on_train_begin()
        for epoch, logs in enumerate(epochs_logs):
            cb.on_epoch_end(epoch, dict(logs))
            # Each row is on disk as soon as its epoch ends.
            with open(path) as f:
                assert f.read().count("\n") >= epoch + 1
        cb.on_train_end()
    with open(path, newline="") as f:
        return f.read()


LOGS = [
    [{"loss": 0.5, "acc": 0.25}, {"loss": 0.25, "acc": 0.5}],
    [{"loss": 0.5, "val_loss": 0.75, "acc": 0.1}, {"loss": 0.4, "acc": 0.2}],
    [{"loss": 0.5, "vec": np.array([1.0, 2.0]), "name": "x", "zero_d": np.array(3.0)}],
    [{}],
]


@pytest.mark.parametrize("logs", LOGS)
@pytest.mark.parametrize("kwargs", [{}, dict(separator=";"), dict(append=True)])
def test_csv_matches_keras(tmp_path, logs, kwargs):
    fits = 2 if kwargs.get("append") else 1
    ours = write_csv(CSVLogger, tmp_path / "a.csv", logs, fits=fits, **kwargs)
    theirs = write_csv(keras.callbacks.CSVLogger, tmp_path / "b.csv", logs, fits=fits, **kwargs)
    assert ours == theirs


def test_csv_header_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("old\n")
    text = write_csv(CSVLogger, path, LOGS[0])
    assert text.splitlines() == ["epoch,acc,loss,val_acc,val_loss", "0,0.25,0.5,NA,NA",
                                 "1,0.5,0.25,NA,NA"]
    # Appending to a non-empty file adds rows without a second header.
    text = write_csv(CSVLogger, path, LOGS[0], append=True)
    assert text.splitlines()[3:] == ["0,0.25,0.5,NA,NA", "1,0.5,0.25,NA,NA"]
    assert CSVLogger(tmp_path / "p.csv").filename == str(tmp_path / "p.csv")


def run_nan(losses, **kwargs):
    model = Model()
    model.stop_training = False
    cl = CallbackList([TerminateOnNaN(**kwargs)], model=model)
    assert cl.needs_train_batch_hooks and not cl.needs_test_batch_hooks
    stopped_at = None
    for batch, loss in enumerate(losses):
        cl.on_train_batch_end(batch, LazyLogs(lambda v=loss: {"loss": np.float32(v)}))
        if model.stop_training:
            stopped_at = batch
            break
    return stopped_at


def test_terminate_on_nan(capsys):
    assert run_nan([1.0, 0.5, 0.25]) is None
    assert run_nan([1.0, np.nan, 0.5]) == 1
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert run_nan([1.0, 2.0, np.inf]) == 2
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        run_nan([-np.inf], raise_error=True)
    # No loss in the logs (or no logs): nothing happens.
    cb = TerminateOnNaN()
    cb.set_model(Model())
    cb.on_batch_end(0, {"acc": np.nan})
    cb.on_batch_end(0, None)
    assert not cb.model.stop_training


def test_terminate_on_nan_like_keras():
    for losses in ([1.0, np.nan], [np.inf], [1.0, 2.0]):
        for cls in (TerminateOnNaN, keras.callbacks.TerminateOnNaN):
            cb, model = cls(), Model()
            model.stop_training = False
            cb.set_model(model)
            for batch, loss in enumerate(losses):
                cb.on_train_batch_end(batch, {"loss": loss})
            if cls is TerminateOnNaN:
                ours = model.stop_training
            else:
                assert ours == model.stop_training
