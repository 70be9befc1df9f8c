"""Keeps the objects alive when lamina is imported out of the garbage collector's way.

Importing JAX leaves ~100,000 objects tracked by Python's garbage collector (modules,
classes, functions, JAX's tables) that live as long as the process. Every full
collection walks them all: ~0.1 s on 2 CPU cores, and one such collection used to land
in the first ``fit`` (0.13 s of a 0.85 s first step of the guide's MLP).
``gc.freeze()`` at import moves them to the permanent generation, so later full
collections skip them; objects made afterwards are collected as usual.

The cost: cyclic garbage that already existed when lamina was imported is never
collected (in a script, that is what ran before ``import lamina``).
``LAMINA_GC_FREEZE=0`` (or ``false``/``off``) in the environment turns it off.
"""

from __future__ import annotations

import gc
import os


def freeze_by_default() -> bool:
    """Freezes the objects tracked now unless ``LAMINA_GC_FREEZE`` says not to; returns
    whether it did."""
    if os.environ.get("LAMINA_GC_FREEZE", "1").strip().lower() in ("0", "false", "off", "no"):
        return False
    gc.freeze()
    return True
