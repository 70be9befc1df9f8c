"""``LearningRateScheduler``: sets the learning rate each epoch from a function
(``keras.callbacks.LearningRateScheduler``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.utils.progbar import print_msg


def learning_rate_value(optimizer) -> float:
    """The optimizer's current learning rate as a Python float."""
    lr = optimizer.learning_rate
    lr = getattr(lr, "value", lr)  # a Variable: read its array
    return float(np.asarray(lr))


def _optimizers(optimizer) -> list:
    """The optimizers to act on: the parts of a multi-optimizer, else the one given."""
    parts = getattr(optimizer, "optimizers", None)
    return list(parts) if parts is not None else [optimizer]


def log_learning_rates(model, logs: dict | None) -> None:
    """Adds the current learning rate(s) to ``logs`` as Keras 3 does: ``learning_rate``,
    or ``learning_rate_<name>`` per optimizer of a multi-optimizer."""
    if logs is None:
        return
    optimizer = model.optimizer
    if hasattr(optimizer, "optimizers"):
        for opt in optimizer.optimizers:
            logs[f"learning_rate_{opt.name}"] = learning_rate_value(opt)
    else:
        logs["learning_rate"] = learning_rate_value(optimizer)


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at the start of each epoch.

    Args:
        schedule: a function ``schedule(epoch, lr) -> new_lr`` (epoch 0-based, lr
            the current rate as a float), or ``schedule(epoch) -> new_lr``; it
            must return a float.
        verbose: 1 prints the new rate each epoch; 0 is silent.

    The rate in use is added to the epoch-end logs as ``learning_rate``.
    """

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _update_optimizer_lr(self, optimizer, epoch: int) -> float:
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, learning_rate_value(optimizer))
        except TypeError:
            # A one-argument schedule (Keras's fallback on the same error).
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = lr
        return lr

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        multi = hasattr(optimizer, "optimizers")
        for opt in _optimizers(optimizer):
            lr = self._update_optimizer_lr(opt, epoch)
            if self.verbose > 0:
                which = f" {opt.name}" if multi else ""
                print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting{which} learning "
                          f"rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        log_learning_rates(self.model, logs)
