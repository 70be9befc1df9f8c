"""``ProgbarLogger``: prints progress and metrics to stdout (``keras.callbacks.ProgbarLogger``)."""

from __future__ import annotations

from typing import Any

from lamina.callbacks.callback import Callback
from lamina.utils.progbar import Progbar, dynamic_display, print_msg


class ProgbarLogger(Callback):
    """Prints a progress bar and the metrics of ``fit``, ``evaluate`` and ``predict``.

    ``fit`` and friends add one automatically when ``verbose`` is not 0. It reads
    ``verbose`` (0, 1, 2 or "auto" meaning 1), ``epochs`` and ``steps`` (steps per
    epoch, None if unknown) from the loop parameters. During ``fit`` the
    validation loop draws no bar; its results appear on the epoch's line.

    With ``verbose=1`` batch logs are read only when the bar is redrawn: at most ten
    times a second, and never mid-epoch when stdout is not a terminal.
    """

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar: Progbar | None = None
        self.target: int | None = None
        self.verbose: Any = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _needs_batch_hooks(self, mode: str) -> bool:
        if self.verbose != 1 or (mode == "test" and self._called_in_fit):
            return False
        # Off a terminal nothing is drawn mid-epoch, but with an unknown number of
        # steps the batches still have to be counted.
        return dynamic_display() or self.target is None

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Inside fit, validation runs silently.
        self._called_in_fit = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self._called_in_fit = False

    def on_test_begin(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        # Predictions are not metrics: never shown.
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._finalize_progbar(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._finalize_progbar(logs)

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.progbar is None:
            # The loop's logs are running aggregates already: show them as given.
            self.progbar = Progbar(target=self.target, verbose=self.verbose, interval=0.1,
                                   unit_name="step", stateless_metrics=set())

    def _update_progbar(self, batch: int, logs: Any = None) -> None:
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            # The Mapping itself goes to the bar, which reads it only when drawing.
            self.progbar.update(self.seen, logs, finalize=False)

    def _finalize_progbar(self, logs: dict | None) -> None:
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)
