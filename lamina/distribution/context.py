"""The current distribution: one per thread, set globally or for a ``with`` block.

Kept free of lamina imports so that ``lamina.state`` can ask, when a Variable is
created, whether a distribution should place its value.
"""

from __future__ import annotations

import contextlib
import threading

_local = threading.local()


def distribution():
    """The distribution set by ``set_distribution`` or a ``scope()``, or None."""
    return getattr(_local, "distribution", None)


def set_distribution(value) -> None:
    """Makes ``value`` (a ``Distribution``, or None to clear) the current distribution.

    Under a distribution, new Variables take their layout from it, and ``fit``,
    ``evaluate`` and ``predict`` shard batches over its data axis.
    """
    from lamina.distribution.distributions import Distribution

    if value is not None and not isinstance(value, Distribution):
        raise TypeError("set_distribution expects a Distribution (DataParallel, "
                        f"ModelParallel) or None, received {type(value).__name__}: {value!r}.")
    _local.distribution = value


@contextlib.contextmanager
def distribution_scope(value):
    """Makes ``value`` the current distribution inside the ``with`` block."""
    previous = distribution()
    set_distribution(value)
    try:
        yield value
    finally:
        set_distribution(previous)
