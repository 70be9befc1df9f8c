"""A small ``fit`` that the kill-and-resume tests run in a subprocess.

    python resumable_fit.py OUT.npz BACKUP_DIR SAVE_FREQ [--double]
        [--kill-after-batch N] [--kill-in-save N]

Trains a tiny model (Dense, BatchNormalization, Dropout: weights, non-trainable
state and randomness) on fixed data with ``shuffle=True`` and a validation split,
with ``BackupAndRestore(BACKUP_DIR, SAVE_FREQ)`` unless SAVE_FREQ is ``none``.
``--kill-after-batch N`` SIGKILLs the process after its N-th training batch of this
run (after the backup callback ran); ``--kill-in-save N`` SIGKILLs it inside the
N-th backup write of this run, when the temporary file is written but not yet
renamed. A run that finishes writes the model's weights (and the History) to OUT.npz.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal

import numpy as np

import lamina as keras
from lamina.callbacks import backup_file

EPOCHS = 3
BATCH_SIZE = 4


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


class KillAfterBatch(keras.callbacks.Callback):
    def __init__(self, after: int):
        super().__init__()
        self.after, self.seen = after, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            _kill()


def kill_in_save(nth: int) -> None:
    """Makes the ``nth`` backup write of this process die before its rename."""
    real = backup_file.atomic_write
    count = [0]

    @contextlib.contextmanager
    def dying_write(path):
        with real(path) as tmp:
            yield tmp
            count[0] += 1
            if count[0] == nth:
                _kill()

    backup_file.atomic_write = dying_write


def build_model():
    keras.utils.set_random_seed(7)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(8, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.3)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(44, 4)).astype("float32"),
            rng.normal(size=(44, 1)).astype("float32"))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("backup_dir")
    parser.add_argument("save_freq")
    parser.add_argument("--double", action="store_true")
    parser.add_argument("--kill-after-batch", type=int)
    parser.add_argument("--kill-in-save", type=int)
    args = parser.parse_args(argv)
    callbacks = []
    if args.save_freq != "none":
        freq = args.save_freq if args.save_freq == "epoch" else int(args.save_freq)
        callbacks.append(keras.callbacks.BackupAndRestore(
            args.backup_dir, save_freq=freq, double_checkpoint=args.double))
    if args.kill_after_batch:
        callbacks.append(KillAfterBatch(args.kill_after_batch))
    if args.kill_in_save:
        kill_in_save(args.kill_in_save)
    model = build_model()
    x, y = data()
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True,
                        validation_split=0.1, callbacks=callbacks, verbose=0)
    np.savez(args.out, *[np.asarray(w) for w in model.weights],
             history=np.frombuffer(json.dumps([history.history, history.epoch]).encode(),
                                   dtype=np.uint8))


if __name__ == "__main__":
    main()
