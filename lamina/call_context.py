"""The call context: the ``training`` flag an outer call hands to the layers it calls."""

from __future__ import annotations

import contextlib
import threading

_local = threading.local()


def current_training():
    """The ``training`` value of the innermost enclosing layer call, or None."""
    stack = getattr(_local, "training", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def training_context(training):
    stack = getattr(_local, "training", None)
    if stack is None:
        stack = _local.training = []
    stack.append(training)
    try:
        yield
    finally:
        stack.pop()
