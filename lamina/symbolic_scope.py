"""``SymbolicScope``: marks code running on symbolic tensors (graph construction)."""

from __future__ import annotations

import threading

_local = threading.local()


class SymbolicScope:
    """A context manager marking the symbolic stage, as ``keras.SymbolicScope``;
    :func:`in_symbolic_scope` is True inside it."""

    def __enter__(self):
        self._outer = get_symbolic_scope()
        _local.scope = self
        return self

    def __exit__(self, *exc):
        _local.scope = self._outer
        return False


def get_symbolic_scope() -> SymbolicScope | None:
    """The innermost open :class:`SymbolicScope`, or None."""
    return getattr(_local, "scope", None)


def in_symbolic_scope() -> bool:
    """Whether a :class:`SymbolicScope` is open."""
    return get_symbolic_scope() is not None
