"""Rematerialization (gradient checkpointing), as ``keras.remat`` and ``keras.RematScope``.

``remat(f)`` is ``jax.checkpoint(f)``: its intermediate values are recomputed in
the backward pass instead of being kept. ``RematScope`` records which layers
should be rematerialized; layers read :func:`get_current_remat_mode` when they are
created.
"""

from __future__ import annotations

import threading
from typing import Callable

import jax

_MODES = ("full", "activations", "larger_than", "list_of_layers", None)
_local = threading.local()


def remat(f: Callable) -> Callable:
    """``f`` rematerialized: the same function, whose intermediate activations are
    recomputed during differentiation rather than stored (``jax.checkpoint``)."""
    return jax.checkpoint(f)


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class RematScope:
    """A context manager choosing which layers rematerialize their calls.

    Args:
        mode: ``"full"`` (every layer), ``"activations"`` (the activation functions
            of layers that have one), ``"larger_than"`` (layers whose output has more
            than ``output_size_threshold`` elements), ``"list_of_layers"`` (the layers
            named in ``layer_names``) or None (no rematerialization).
        output_size_threshold: the size threshold of ``"larger_than"``.
        layer_names: the layer names of ``"list_of_layers"``.

    Raises:
        ValueError: an unknown ``mode``.
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names=None):
        if mode not in _MODES:
            raise ValueError(f"Invalid mode {mode!r}. Supported modes are: 'full', "
                             "'activations', 'larger_than', 'list_of_layers', or None.")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()
        return False


def get_current_remat_mode() -> RematScope | None:
    """The innermost open :class:`RematScope`, or None when none is open or its mode is
    None."""
    stack = _stack()
    if not stack or stack[-1].mode is None:
        return None
    return stack[-1]
