"""``ModelCheckpoint`` (``keras.callbacks.ModelCheckpoint``): saves the model or its
weights during ``fit``, every epoch, every few batches, or when it improves."""

from __future__ import annotations

import os
import warnings

import numpy as np

from lamina.callbacks.early_stopping import MonitorCallback
from lamina.utils.progbar import print_msg


class ModelCheckpoint(MonitorCallback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) while
    ``fit`` runs. Every file is written atomically: a process killed while saving
    leaves the previous file intact.

    Args:
        filepath: where to save; may hold ``str.format`` fields filled with ``epoch``
            (1-based), ``batch`` (1-based, when saving every few batches) and the
            logs' values, e.g. ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``. It must
            end in ``.weights.h5`` when ``save_weights_only``, else in ``.keras``
            (or ``.h5``).
        monitor: the logged quantity ``save_best_only`` compares (``"val_loss"``).
        verbose: 1 prints a line for each decision, 0 is silent.
        save_best_only: save only when ``monitor`` improves on the best value so far
            (with no ``monitor`` in the logs: warn and save).
        save_weights_only: save the weights (``.weights.h5``) instead of the model.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (losses minimized; other metrics
            per their kind).
        save_freq: ``"epoch"``, or an integer ``n``: save every ``n`` training batches,
            counted across epochs (checked at the batch ends the loop reaches).
        initial_value_threshold: the best value to beat before the first save when
            ``save_best_only``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or an "
                             "integer number of batches.")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format)."
                             f" Received: filepath={self.filepath}")

    def _needs_batch_hooks(self, mode: str) -> bool:
        # Epoch-end saving lets the loop fuse batches into one compiled call.
        return mode == "train" and self.save_freq != "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:  # decided once the model's metrics exist, as Keras
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        """Counts the batches run since the last save (fused calls report the last
        batch of each call); True once ``save_freq`` of them have run."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch: int, logs, filepath: str) -> bool:
        if not self.save_best_only:
            self._say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            self._say(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        self._say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _say(self, message: str) -> None:
        if self.verbose > 0:
            print_msg(message)

    def _save_model(self, epoch: int, batch: int | None, logs) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        self._say(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch: int, batch: int | None, logs) -> str:
        """``filepath`` filled with ``epoch`` (1-based), ``batch`` (1-based) and the logs."""
        fields = dict(logs)
        if batch is not None and "batch" not in fields:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None
