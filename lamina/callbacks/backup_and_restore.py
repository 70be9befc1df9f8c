"""``BackupAndRestore`` (``keras.callbacks.BackupAndRestore``): training that survives
being killed.

Keras backs up the weights and the epoch number and, after an interruption, repeats
the interrupted epoch. lamina backs up the whole position of the loop (a
``FitPosition``: weights, optimizer and metric state, epoch and step, RNG key, the
interrupted epoch's sample order and the shuffling generator, the History) in one
file written atomically, and a ``fit`` restarted with the same call continues
from the last backup to bitwise the same weights as an uninterrupted run.
"""

from __future__ import annotations

import os
import shutil
import warnings

from lamina.callbacks.backup_file import read_backup, write_backup
from lamina.callbacks.callback import Callback


class BackupAndRestore(Callback):
    """Backs up the training position and resumes from it when ``fit`` runs again.

    Args:
        backup_dir: the folder for the backup file(s); use it for nothing else
            (it is deleted at the end of training when ``delete_checkpoint``).
        save_freq: ``"epoch"`` to back up at the end of each epoch, an integer ``n``
            to back up every ``n`` training batches (counted across epochs, at the
            batch ends the loop reaches), or False for no backups.
        double_checkpoint: keep the previous backup as well; when the newest cannot
            be read, ``fit`` resumes from the previous one.
        delete_checkpoint: delete ``backup_dir`` when ``fit`` finishes.

    A backup is valid for the ``fit`` call that wrote it: the same model, compile
    arguments, data and ``fit`` arguments (a different sample count, batch size,
    steps per epoch or shuffle mode is refused with a ValueError). Other callbacks'
    own state (e.g. ``EarlyStopping``'s patience count) is not backed up.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"Empty `backup_dir` argument passed: expected a folder path, "
                             f"received {backup_dir!r}.")
        if save_freq != "epoch" and not (save_freq is False or (
                isinstance(save_freq, int) and not isinstance(save_freq, bool)
                and save_freq >= 1)):
            raise ValueError(f"Invalid value for argument `save_freq`: expected 'epoch', a "
                             f"positive integer or False, received save_freq={save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._latest_path = os.path.join(self.backup_dir, "fit_backup.h5")
        self._previous_path = os.path.join(self.backup_dir, "fit_backup.previous.h5")
        self._batches_since_save = 0
        self._last_batch_seen = -1

    def _saves_on_batches(self) -> bool:
        return self.save_freq not in ("epoch", False)

    def _needs_batch_hooks(self, mode: str) -> bool:
        # With epoch-end backups the loop may fuse batches into one compiled call.
        return mode == "train" and self._saves_on_batches()

    def on_train_begin(self, logs=None):
        self._batches_since_save = 0
        self._last_batch_seen = -1
        position = self._read_newest()
        if position is not None:
            self.model.resume_fit(position)
            self._last_batch_seen = position.step - 1

    def _read_newest(self):
        """The newest readable backup's position; None when there is no backup."""
        errors = []
        for path in (self._latest_path, self._previous_path):
            if not os.path.exists(path):
                continue
            try:
                position = read_backup(path)
            except (OSError, ValueError) as e:
                errors.append(str(e))
                continue
            if errors:
                warnings.warn(f"BackupAndRestore: the newest backup could not be read "
                              f"({errors[0]}); resuming from the previous one, {path}.",
                              stacklevel=2)
            return position
        if errors:
            raise ValueError("BackupAndRestore: no backup in "
                             f"{self.backup_dir} can be read: " + " | ".join(errors))
        return None

    def on_train_batch_end(self, batch, logs=None):
        if not self._saves_on_batches():
            return
        # With fused calls the loop reports only every few batches: count them all.
        self._batches_since_save += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save(logs)

    def _save(self, epoch_logs=None) -> None:
        position = self.model.fit_position(epoch_logs)
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._latest_path):
            # Renaming is atomic: at every moment one complete backup exists.
            os.replace(self._latest_path, self._previous_path)
        write_backup(self._latest_path, position)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
