"""Unique default names for layers, models and other named objects."""

from __future__ import annotations

import re
from collections import defaultdict

_NAME_COUNTS: dict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name.lstrip("_") or "object"


def uniquify(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``, ... as Keras names objects."""
    count = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if count == 0 else f"{base}_{count}"


def get_uid(prefix: str = "") -> int:
    """The next identifier for ``prefix``: 1 the first time, then 2, 3, ...

    Shares its count with :func:`uniquify`: after a layer named ``dense`` exists,
    ``get_uid("dense")`` is 2, as in Keras. ``clear_session`` resets the counts.
    """
    _NAME_COUNTS[prefix] += 1
    return _NAME_COUNTS[prefix]


def reset_names() -> None:
    _NAME_COUNTS.clear()
