"""Checks of the scalar arguments fit/evaluate/predict take."""

from __future__ import annotations

import numpy as np


def check_positive_int(value, name: str, allow_none: bool = True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, received {value!r}.")
    return int(value)


def verbose_level(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto', received {verbose!r}.")
    return verbose


def capped_epochs(epochs: int) -> int:
    """``epochs``, at most ``lamina.config.max_epochs()`` when that is set."""
    from lamina import config

    cap = config.max_epochs()
    return epochs if cap is None else min(epochs, int(cap))


def capped_steps(steps: int | None) -> int | None:
    """``steps`` per epoch, at most ``lamina.config.max_steps_per_epoch()`` when set."""
    from lamina import config

    cap = config.max_steps_per_epoch()
    if cap is None:
        return steps
    return int(cap) if steps is None else min(steps, int(cap))
