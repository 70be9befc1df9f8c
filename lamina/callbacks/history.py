"""``History``: records each epoch's logs (``keras.callbacks.History``)."""

from __future__ import annotations

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records the epoch-end logs of ``fit``; ``fit`` returns this object.

    Attributes:
        history: dict mapping each log name (``loss``, ``val_accuracy``...) to the
            list of its values, one per epoch.
        epoch: the list of epoch indices recorded during the latest ``fit``.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        # As in Keras 3: the epoch list restarts, the recorded values are kept.
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        # The model exposes the latest history as soon as an epoch has finished.
        self.model.history = self
