"""Batch logs computed only when a callback reads them."""

from __future__ import annotations

from collections.abc import Mapping


class LazyLogs(Mapping):
    """A read-only mapping whose values come from ``compute()`` on first access.

    Reading forces a device-to-host transfer of the metric values, so batch-level
    callbacks that never look at their logs cost nothing.
    """

    def __init__(self, compute):
        self._compute = compute
        self._values = None

    def _materialize(self) -> dict:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key):
        return self._materialize()[key]

    def __iter__(self):
        return iter(self._materialize())

    def __len__(self):
        return len(self._materialize())

    def __repr__(self):
        return f"LazyLogs({self._materialize()!r})"
