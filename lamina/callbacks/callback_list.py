"""``CallbackList``: calls a list of callbacks as one (``keras.callbacks.CallbackList``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger


def _to_python(value: Any) -> Any:
    """A log value as a Python float when it is a scalar, else unchanged."""
    if type(value) is float:
        return value
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        return value


def pythonify_logs(logs: Mapping | None) -> dict:
    """Flattens nested dicts of logs and turns scalar values into Python floats,
    with keys in sorted order (the order progress bars and CSV files show)."""
    out: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, Mapping):
            out.update(pythonify_logs(value))
        else:
            out[key] = _to_python(value)
    return out


class BatchLogs(Mapping):
    """A read-only view of one batch's logs that converts a value only when it is read.

    The loop's own Mapping may compute values on demand (a read waits for the
    device); this view keeps that laziness, presents keys in sorted order, and
    converts each value read to a Python float once, so several callbacks
    reading the same key pay for it once.
    """

    __slots__ = ("_source", "_cache", "_keys")

    def __init__(self, source: Mapping):
        self._source = source
        self._cache: dict = {}
        self._keys: list | None = None

    def _key_list(self) -> list:
        if self._keys is None:
            self._keys = sorted(self._source.keys())
        return self._keys

    def __getitem__(self, key: str) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = _to_python(self._source[key])
            self._cache[key] = value
            return value

    def __contains__(self, key: object) -> bool:
        # Mapping's default would read the value; membership must stay free.
        return key in self._source

    def __iter__(self) -> Iterator:
        return iter(self._key_list())

    def __len__(self) -> int:
        return len(self._source)

    def __repr__(self) -> str:
        return f"BatchLogs(keys={self._key_list()})"


def _batch_logs(logs: Mapping | None) -> Mapping:
    # No truth test: the length of a lazy Mapping may already cost a device sync.
    if logs is None or (isinstance(logs, dict) and not logs):
        return {}
    if isinstance(logs, BatchLogs):
        return logs
    return BatchLogs(logs)


class CallbackList(Callback):
    """Holds callbacks and forwards every hook to each of them, in order.

    Args:
        callbacks: a list (possibly nested) of ``Callback`` instances, or None.
        add_history: whether to append a ``History`` callback if none is in the list.
        add_progbar: whether to append a ``ProgbarLogger`` if none is in the list.
        model: the model the callbacks act on (given to each with ``set_model``).
        **params: loop parameters (``verbose``, ``epochs``, ``steps``) given to
            each callback with ``set_params``.

    Epoch- and loop-level logs are handed on as one new dict (flattened, keys
    sorted, scalars as Python floats), shared by all callbacks so that values a
    callback adds (e.g. ``learning_rate``) reach the ones after it. Batch-level
    logs are handed on as a lazy ``BatchLogs`` view: nothing is read unless a
    callback reads it.
    """

    def __init__(self, callbacks=None, add_history: bool = False, add_progbar: bool = False,
                 model=None, **params):
        super().__init__()
        self.callbacks: list[Callback] = _flatten(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("Each callback must be an instance of `keras.callbacks.Callback`."
                                f" Received: {cb!r} of type {type(cb).__name__}")
        self._in_begin_end_block_count = 0
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        self._progbar = None
        self._history = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback: Callback) -> None:
        """Adds one more callback at the end."""
        if not isinstance(callback, Callback):
            raise TypeError("Expected a `keras.callbacks.Callback` instance. "
                            f"Received: {callback!r}")
        self.callbacks.append(callback)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_params(self, params: dict) -> None:
        """Stores ``params`` and, when not empty, gives them to every callback."""
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model) -> None:
        """Gives ``model`` to every callback and sets ``model.history`` to the History
        callback (if any). A None model is ignored."""
        if not model:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    # ---- which batch hooks matter -------------------------------------------------

    def _needs_batch_hooks(self, mode: str) -> bool:
        return any(cb._needs_batch_hooks(mode) for cb in self.callbacks)

    @property
    def needs_train_batch_hooks(self) -> bool:
        """Whether any callback does something at training-batch begin/end.
        Ask after ``on_train_begin`` (a progress bar decides then)."""
        return self._needs_batch_hooks("train")

    @property
    def needs_test_batch_hooks(self) -> bool:
        """Whether any callback does something at test-batch begin/end.
        Ask after ``on_test_begin`` (validation inside ``fit`` draws no bar)."""
        return self._needs_batch_hooks("test")

    @property
    def needs_predict_batch_hooks(self) -> bool:
        """Whether any callback does something at predict-batch begin/end."""
        return self._needs_batch_hooks("predict")

    @property
    def needs_batch_logs(self) -> bool:
        """Whether any callback does something at any batch-level hook; when False the
        loop may skip batch hooks (and building their logs) altogether."""
        return any(self._needs_batch_hooks(m) for m in ("train", "test", "predict"))

    # ---- begin/end bookkeeping ----------------------------------------------------

    def _on_begin(self) -> None:
        self._in_begin_end_block_count += 1

    def _on_end(self) -> None:
        self._in_begin_end_block_count -= 1
        if self._in_begin_end_block_count < 0:
            self._in_begin_end_block_count = 0
            raise ValueError("`on_xxx_end` called without corresponding `on_xxx_begin`")

    # ---- hooks --------------------------------------------------------------------

    def on_batch_begin(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs=logs)

    def on_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs=logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs=logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs=logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs=logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = _batch_logs(logs)
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs=logs)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._on_begin()
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_train_end(logs)
        self._on_end()

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._on_begin()
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_test_end(logs)
        self._on_end()

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._on_begin()
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_predict_end(logs)
        self._on_end()


def _flatten(callbacks) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        out: list = []
        for cb in callbacks:
            out.extend(_flatten(cb))
        return out
    return [callbacks]
