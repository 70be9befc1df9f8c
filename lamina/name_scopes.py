"""Name scopes, as ``keras.name_scope``: prefixes for the paths of variables.

A Variable created inside ``with name_scope("block"):`` has the path
``"block/<its path>"``; scopes nest. Entering a scope also opens a
``jax.named_scope`` of the same name, so profiles and HLO dumps show it.
"""

from __future__ import annotations

import threading

import jax

_local = threading.local()


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class name_scope:  # noqa: N801 - Keras's public name
    """A context manager adding ``name`` to the paths of variables created inside it.

    Args:
        name: the scope's name (a string without ``/``).
        caller: an optional object entering the scope (e.g. a layer); with
            ``deduplicate``, re-entering the innermost scope with the same caller and
            name adds nothing.
        deduplicate: see ``caller``.
        override_parent: an absolute path replacing the paths of the enclosing scopes
            (or, when None, the ``_parent_path`` of ``caller`` if it has one).

    Raises:
        ValueError: ``name`` is not a string or contains ``/``.
    """

    def __init__(self, name: str, caller=None, deduplicate: bool = True,
                 override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string without the character `/`. "
                             f"Received: name={name!r}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        if override_parent is None and deduplicate:
            override_parent = getattr(caller, "_parent_path", None)
        self.override_parent = override_parent
        self._entered = None

    def __enter__(self):
        stack = _stack()
        innermost = stack[-1] if stack else None
        if (self.deduplicate and innermost is not None and self.caller is not None
                and innermost.caller is self.caller and innermost.name == self.name):
            return self
        stack.append(self)
        self._entered = jax.named_scope(self.name)
        self._entered.__enter__()
        return self

    def __exit__(self, *exc):
        if self._entered is not None:
            self._entered.__exit__(*exc)
            self._entered = None
            _stack().pop()
        return False


def current_path() -> str:
    """The ``/``-joined names of the open scopes (``""`` outside any scope)."""
    parts: list[str] = []
    for scope in _stack():
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)


def scoped_path(path: str) -> str:
    """``path`` prefixed with :func:`current_path` when a scope is open."""
    prefix = current_path()
    return f"{prefix}/{path}" if prefix else path
