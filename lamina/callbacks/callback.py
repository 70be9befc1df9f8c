"""The ``Callback`` base class (``keras.callbacks.Callback``).

A callback is a set of hooks the training loop calls at fixed points of
``fit``, ``evaluate`` and ``predict``. Every hook here does nothing, so a
subclass overrides only the ones it cares about; the loop can ask which
batch-level hooks a callback really overrides (``_needs_batch_hooks``) and skip
building per-batch logs when none does.
"""

from __future__ import annotations

from typing import Any

# The hooks that run once per batch, grouped by the loop that calls them. The
# legacy ``on_batch_begin``/``on_batch_end`` aliases fire from training batches.
BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class for objects that hook into ``fit``, ``evaluate`` and ``predict``.

    Attributes:
        params: the dict of loop parameters (``verbose``, ``epochs``, ``steps``)
            given by ``set_params``.
        model: the model being trained, evaluated or used for prediction.

    Hooks receive ``logs``: at epoch and loop ends a dict of Python floats
    (metric name -> value); at batch ends a read-only Mapping whose values may
    be computed on demand (reading one can wait for the accelerator), so a
    callback should read batch logs only when it needs them.
    """

    def __init__(self):
        self.params: dict | None = None
        self._model = None

    def set_params(self, params: dict) -> None:
        """Stores the loop parameters (``verbose``, ``epochs``, ``steps``...)."""
        self.params = params

    def set_model(self, model) -> None:
        """Stores the model the callback acts on."""
        self._model = model

    @property
    def model(self):
        """The model; its state is first written back from the running loop if it offers that."""
        sync = getattr(self._model, "jax_state_sync", None)
        if callable(sync):
            # A jitted loop may hold the newest weights outside the model's
            # variables mid-epoch; callbacks expect to see them.
            sync()
        return self._model

    def _overrides(self, hook: str) -> bool:
        """Whether this callback replaces the do-nothing ``hook`` (by subclass or instance)."""
        if hook in vars(self):
            return True
        return getattr(type(self), hook, None) is not getattr(Callback, hook)

    def _needs_batch_hooks(self, mode: str) -> bool:
        """Whether calling this callback's batch hooks for ``mode`` ("train", "test",
        "predict") can have any effect."""
        return any(self._overrides(h) for h in BATCH_HOOKS[mode])

    # Legacy aliases of the training batch hooks.
    def on_batch_begin(self, batch: int, logs: Any = None) -> None:
        """Alias of ``on_train_batch_begin`` kept for older callbacks."""

    def on_batch_end(self, batch: int, logs: Any = None) -> None:
        """Alias of ``on_train_batch_end`` kept for older callbacks."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of epoch ``epoch`` (0-based) during ``fit``."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of epoch ``epoch`` during ``fit``; ``logs`` holds the epoch's
        training metrics and, when validation ran, the ``val_``-prefixed ones."""

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        """Called before training batch ``batch`` (index within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        """Called after training batch ``batch``; ``logs`` holds the metrics so far this epoch."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        """Called before batch ``batch`` of ``evaluate`` (or of validation in ``fit``)."""

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        """Called after batch ``batch`` of ``evaluate`` (or of validation in ``fit``)."""

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        """Called before batch ``batch`` of ``predict``."""

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        """Called after batch ``batch`` of ``predict``; ``logs`` holds ``outputs``."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` starts."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once when ``fit`` ends; ``logs`` holds the last epoch's values."""

    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called when ``evaluate`` (or validation inside ``fit``) starts."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called when ``evaluate`` (or validation inside ``fit``) ends, with its results."""

    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called when ``predict`` starts."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called when ``predict`` ends."""
