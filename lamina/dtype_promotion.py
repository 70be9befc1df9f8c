"""Keras's dtype promotion (``keras.backend.result_type``).

Keras promotes dtypes on a lattice like JAX's, not by NumPy's value-based rules:
the result of combining dtypes is their least upper bound on the lattice below.
Python's ``int`` and ``float`` (the types themselves) are *weak*: they take the
kind of the other operands without widening them (``result_type("int8", int)`` is
``"int8"``), and a result that stays weak gets the precision of ``floatx()``.
As on Keras's JAX backend, 64-bit results are narrowed to 32 bits.
"""

from __future__ import annotations

from lamina import dtypes

_WEAK_INT, _WEAK_FLOAT = "int", "float"

# Each type and the types directly above it; "int" and "float" are the weak types.
_LATTICE = {
    "bool": ("int",),
    "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}


def _reachable(node: str) -> frozenset:
    seen, todo = {node}, [node]
    while todo:
        for above in _LATTICE[todo.pop()]:
            if above not in seen:
                seen.add(above)
                todo.append(above)
    return frozenset(seen)


# The upper bounds of every type (itself included): a constant of the lattice.
_UPPER_BOUNDS = {node: _reachable(node) for node in _LATTICE}

_NARROW_64 = {"int64": "int32", "uint64": "uint32", "float64": "float32",
              "complex128": "complex64"}


def least_upper_bound(*names: str) -> str:
    """The lowest type on the lattice that every one of ``names`` promotes to.

    Raises:
        ValueError: a name is not on the lattice, or the names have no common bound.
    """
    nodes = set(names)
    unknown = [n for n in nodes if n not in _UPPER_BOUNDS]
    if unknown:
        raise ValueError(f"dtype={unknown[0]!r} is not a valid dtype for Keras type promotion.")
    common = frozenset.intersection(*(_UPPER_BOUNDS[n] for n in nodes))
    least = (common & nodes) or {c for c in common if common <= _UPPER_BOUNDS[c]}
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(names)} have no available implicit dtype "
                         "promotion path. Try explicitly casting inputs to the desired "
                         "output type.")
    return next(iter(least))


def _weak_kind(name: str) -> str:
    """The weak type of the kind of ``name`` (bool stays bool)."""
    if name == "bool":
        return name
    if "float" in name:
        return _WEAK_FLOAT
    if "int" in name:
        return _WEAK_INT
    raise ValueError(f"Invalid dtype for a weakly typed value: {name!r}")


def _resolve_weak(name: str) -> str:
    """The concrete type of a weak result, at the precision of ``floatx()``."""
    bits = dtypes.floatx()[-2:]
    if name == "bool":
        return name
    if name.startswith("u"):
        return f"uint{bits}"
    if name.startswith("i"):
        return f"int{bits}"
    return f"float{bits}"


def result_type(*dtypes_) -> str:
    """The dtype of combining values of the given dtypes, by Keras's promotion rules.

    Args:
        *dtypes_: dtype-likes (names, NumPy/JAX dtypes, Python ``bool``/``int``/
            ``float``; ``None`` means ``floatx()``). The Python types ``int`` and
            ``float`` are weak: they do not widen the other dtypes.

    Returns:
        The result dtype name; ``floatx()`` when called with no arguments.

    Raises:
        ValueError: a float8 dtype is given (float8 never promotes implicitly), or the
            dtypes have no common type.
    """
    if not dtypes_:
        return dtypes.floatx()
    for d in dtypes_:
        if isinstance(d, str) and d in dtypes.FLOAT8_TYPES:
            raise ValueError("There is no implicit conversions from float8 dtypes to others. "
                             f"You must cast it internally. Received: {dtypes_}")
    names = [dtypes.floatx() if d is None else dtypes.standardize(d) for d in dtypes_]
    weak = [d is int or d is float for d in dtypes_]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = least_upper_bound(*set(names)), True
    else:
        out = least_upper_bound(*{_weak_kind(n) if w else n for n, w in zip(names, weak)})
        out_weak = out in (_WEAK_INT, _WEAK_FLOAT)
    if out_weak and out != "bool":
        out = _resolve_weak(out)
    return _NARROW_64.get(out, out)
