"""``ReduceLROnPlateau``: lowers the learning rate when a metric stops improving
(``keras.callbacks.ReduceLROnPlateau``)."""

from __future__ import annotations

import warnings

import numpy as np

from lamina.callbacks.early_stopping import MonitorCallback
from lamina.callbacks.learning_rate_scheduler import (
    _optimizers,
    learning_rate_value,
    log_learning_rates,
)
from lamina.utils.progbar import print_msg


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Args:
        monitor: the logged quantity to watch.
        factor: the factor the rate is multiplied by (``new_lr = lr * factor``); must be < 1.
        patience: epochs without improvement before the rate is reduced.
        verbose: 1 prints a message on each reduction; 0 is silent.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (decided from the monitored name).
        min_delta: the least change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the rate is never reduced below this.

    The current rate is added to the epoch-end logs as ``learning_rate``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if kwargs:
            # Keras accepts and ignores extra keyword arguments (legacy ones like epsilon).
            warnings.warn(f"ReduceLROnPlateau ignores the arguments {sorted(kwargs)}.",
                          stacklevel=2)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        """Whether the callback is still waiting out the cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _reduce_optimizer_lr(self, optimizer, epoch: int, name: str = "") -> bool:
        old_lr = learning_rate_value(optimizer)
        # The rate is stored in float32, so compare with min_lr at that precision.
        if not old_lr > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            which = f" {name}" if name else ""
            print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{which} learning rate to "
                      f"{new_lr}.")
        return True

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        log_learning_rates(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics are: "
                          f"{','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = self.model.optimizer
                multi = hasattr(optimizer, "optimizers")
                reduced = False
                for opt in _optimizers(optimizer):
                    if self._reduce_optimizer_lr(opt, epoch, opt.name if multi else ""):
                        reduced = True
                if reduced:
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
