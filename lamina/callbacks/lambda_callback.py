"""``LambdaCallback``: a callback built from plain functions (``keras.callbacks.LambdaCallback``)."""

from __future__ import annotations

from collections.abc import Callable

from lamina.callbacks.callback import Callback


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given.

    Args:
        on_epoch_begin, on_epoch_end: called as ``f(epoch, logs)``.
        on_train_begin, on_train_end: called as ``f(logs)``.
        on_train_batch_begin, on_train_batch_end: called as ``f(batch, logs)``.
        **kwargs: any other hook by name (e.g. ``on_test_end=f``,
            ``on_predict_batch_end=g``), set on the instance as given.
    """

    def __init__(self, on_epoch_begin: Callable | None = None,
                 on_epoch_end: Callable | None = None, on_train_begin: Callable | None = None,
                 on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None,
                 on_train_batch_end: Callable | None = None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for hook, fn in given.items():
            if fn is not None:
                setattr(self, hook, fn)
