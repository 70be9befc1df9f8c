"""Nested structures, as ``keras.tree``.

A structure is a leaf or a container node. The containers are ``list``, ``tuple``,
namedtuples, ``dict`` (values in sorted-key order), ``collections.OrderedDict``
(insertion order), ``collections.defaultdict`` (sorted keys),
``collections.deque`` and struct sequences (e.g. ``time.struct_time``); only those
exact types count, so a subclass of ``list`` or ``dict`` is a leaf. ``None`` is a
leaf (``map_structure(..., none_is_leaf=False)`` makes it an empty container).
Dicts are rebuilt in their original key order; their values are visited in sorted
key order, falling back to sorting by ``(type name, key)`` when the keys do not
compare, then to insertion order.
"""

from __future__ import annotations

import collections
import warnings
from typing import Any, Callable


class MAP_TO_NONE:  # noqa: N801 - Keras's public name
    """Returned by a ``traverse`` function to replace a sub-structure by ``None``."""


# -- nodes -------------------------------------------------------------------------

_MAPPINGS = (dict, collections.OrderedDict, collections.defaultdict)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields") and type(x) is not tuple


def _is_structseq(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "n_sequence_fields")


def _node_kind(x, none_is_leaf: bool = True):
    """The container kind of ``x`` (a type, or ``"namedtuple"``/``"structseq"``/
    ``None`` for the None node), or ``False`` when ``x`` is a leaf."""
    t = type(x)
    if t in (list, tuple, dict, collections.OrderedDict, collections.defaultdict,
             collections.deque):
        return t
    if x is None:
        return False if none_is_leaf else type(None)
    if _is_namedtuple(x):
        return "namedtuple"
    if _is_structseq(x):
        return "structseq"
    return False


def _sorted_keys(d) -> list:
    """Dict keys in Keras's order: sorted; by (type name, key) if mixed; else as is."""
    if type(d) is collections.OrderedDict:
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        pass
    try:
        return sorted(d, key=lambda k: (f"{type(k).__module__}.{type(k).__qualname__}", k))
    except TypeError:
        return list(d)


def _entries(x, kind) -> tuple[list, list]:
    """``(path_entries, children)`` of a container node, in visiting order."""
    if kind in _MAPPINGS:
        keys = _sorted_keys(x)
        return keys, [x[k] for k in keys]
    if kind is type(None):
        return [], []
    children = list(x)
    return list(range(len(children))), children


def _rebuild(x, kind, children: list):
    """A container like ``x`` holding ``children`` (given in visiting order)."""
    if kind in _MAPPINGS:
        by_key = dict(zip(_sorted_keys(x), children))
        items = [(k, by_key[k]) for k in x]  # the original key order
        if kind is collections.defaultdict:
            return collections.defaultdict(x.default_factory, items)
        return kind(items)
    if kind is type(None):
        return None
    if kind is list:
        return list(children)
    if kind is tuple:
        return tuple(children)
    if kind is collections.deque:
        return collections.deque(children, maxlen=x.maxlen)
    if kind == "namedtuple":
        return type(x)(*children)
    return type(x)(children)  # a struct sequence


def _same_kind(a, kind_a, b, kind_b) -> bool:
    if kind_a in _MAPPINGS:
        return kind_b in _MAPPINGS
    if kind_a in ("namedtuple", "structseq"):
        return kind_a == kind_b and type(a) is type(b)
    return kind_a == kind_b


def _mismatch(a, b, why: str = "") -> ValueError:
    detail = f" ({why})" if why else ""
    return ValueError(f"Structures don't have the same nested structure{detail}: "
                      f"{_short(a)} vs {_short(b)}.")


def _short(x, limit: int = 120) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + "..."


def _children_like(first, kind, other, none_is_leaf: bool) -> list:
    """The children of ``other`` matched to those of the node ``first``.

    Raises:
        ValueError: ``other`` is not a container of the same kind and size (for
            mappings: with the same keys).
    """
    other_kind = _node_kind(other, none_is_leaf)
    if other_kind is False or not _same_kind(first, kind, other, other_kind):
        raise _mismatch(first, other, f"expected a {_kind_name(first, kind)}, got "
                                      f"{type(other).__name__}")
    if kind in _MAPPINGS:
        if set(first) != set(other):
            raise _mismatch(first, other, f"dict keys {sorted(map(repr, first))} vs "
                                          f"{sorted(map(repr, other))}")
        return [other[k] for k in _sorted_keys(first)]
    if kind is type(None):
        return []
    if len(first) != len(other):
        raise _mismatch(first, other, f"lengths {len(first)} vs {len(other)}")
    return list(other)


def _kind_name(x, kind) -> str:
    if kind is type(None):
        return "None"
    return type(x).__name__


# -- public API --------------------------------------------------------------------

def is_nested(structure) -> bool:
    """Whether ``structure`` is a container (list, tuple, namedtuple, dict, deque, ...)
    rather than a leaf. ``None`` is not nested."""
    return _node_kind(structure) is not False


def flatten(structure) -> list:
    """The leaves of ``structure`` as a list, depth first; dict values in sorted-key
    order (``OrderedDict`` in insertion order). A leaf gives ``[structure]``;
    ``None`` gives ``[None]``."""
    out: list = []
    _flatten_into(structure, out)
    return out


def _flatten_into(structure, out: list) -> None:
    kind = _node_kind(structure)
    if kind is False:
        out.append(structure)
        return
    for child in _entries(structure, kind)[1]:
        _flatten_into(child, out)


def flatten_with_path(structure) -> list:
    """``(path, leaf)`` pairs in :func:`flatten` order; a path is a tuple of the list
    indices and dict keys leading to the leaf (``()`` for a leaf structure)."""
    out: list = []

    def visit(node, path):
        kind = _node_kind(node)
        if kind is False:
            out.append((path, node))
            return
        keys, children = _entries(node, kind)
        for key, child in zip(keys, children):
            visit(child, path + (key,))

    visit(structure, ())
    return out


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """Applies ``func`` to the leaves of ``structures`` taken together.

    Args:
        func: called with one leaf from each structure.
        *structures: structures nested the same way (as :func:`assert_same_structure`
            checks).
        none_is_leaf: whether ``None`` is a leaf passed to ``func``; when False it
            is kept as ``None`` in the output.

    Returns:
        A structure shaped like the first one holding ``func``'s results.

    Raises:
        ValueError: no structure is given, or the structures differ.
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    return _map(func, structures, none_is_leaf)


def _map(func, structures, none_is_leaf):
    first = structures[0]
    kind = _node_kind(first, none_is_leaf)
    if kind is False:
        for other in structures[1:]:
            if _node_kind(other, none_is_leaf) is not False:
                raise _mismatch(first, other, "a leaf vs a container")
        return func(*structures)
    columns = [_entries(first, kind)[1]]
    columns += [_children_like(first, kind, other, none_is_leaf) for other in structures[1:]]
    children = [_map(func, group, none_is_leaf) for group in zip(*columns)]
    return _rebuild(first, kind, children)


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """Applies ``func`` to the sub-structures of ``structures`` found at the leaves of
    ``shallow_structure`` (whose own leaves, ``None`` included, only mark places).

    Args:
        shallow_structure: a structure that each of ``structures`` contains at its
            top; deeper parts of ``structures`` are passed to ``func`` whole.
        func: called with one sub-structure from each of ``structures``.
        *structures: the structures to map.

    Returns:
        A structure shaped like ``shallow_structure``.

    Raises:
        ValueError: no structure is given, or one is shallower than, or differs
            from, ``shallow_structure``.
    """
    if not structures:
        raise ValueError("Must provide at least one structure")
    return _map_up_to(shallow_structure, func, structures)


def _map_up_to(shallow, func, structures):
    kind = _node_kind(shallow)
    if kind is False:
        return func(*structures)
    columns = [_children_like(shallow, kind, s, True) for s in structures]
    shallow_children = _entries(shallow, kind)[1]
    children = [_map_up_to(child, func, group)
                for child, group in zip(shallow_children, zip(*columns))]
    return _rebuild(shallow, kind, children)


def assert_same_structure(a, b, check_types=None) -> None:
    """Raises ``ValueError`` unless ``a`` and ``b`` are nested the same way.

    Containers must be of the same type at every level (``list`` differs from
    ``tuple``; two namedtuple classes differ) and hold as many items; ``dict``,
    ``OrderedDict`` and ``defaultdict`` match each other when their keys do. Leaves
    (``None`` included) may be anything.

    Args:
        a, b: the structures.
        check_types: deprecated and ignored (a warning is issued when given).
    """
    if check_types is not None:
        warnings.warn("The `check_types` argument is deprecated and has no effect; "
                      "`assert_same_paths` gives a check that ignores container types.",
                      DeprecationWarning, stacklevel=2)
    _map(lambda *_: None, (a, b), True)


def _paths(structure) -> set:
    return {path for path, _ in flatten_with_path(structure)}


def assert_same_paths(a, b) -> None:
    """Raises ``ValueError`` unless ``a`` and ``b`` have the same leaf paths
    (container types are ignored: ``[0, 1]`` and ``(2, 3)`` match)."""
    a_paths, b_paths = _paths(a), _paths(b)
    if a_paths != b_paths:
        message = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            message += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            message += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(message)


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` (any iterable, in :func:`flatten` order) packed into the
    shape of ``structure``.

    Raises:
        TypeError: ``flat_sequence`` is not iterable.
        ValueError: it holds more or fewer items than ``structure`` has leaves.
    """
    try:
        items = list(flat_sequence)
    except TypeError as e:
        raise TypeError(f"flat_sequence must be iterable, received {type(flat_sequence).__name__}"
                        ) from e
    expected = len(flatten(structure))
    if len(items) != expected:
        raise ValueError(f"Cannot pack {len(items)} values into a structure with {expected} "
                         f"leaves: {_short(structure)}.")
    position = iter(items)

    def build(node):
        kind = _node_kind(node)
        if kind is False:
            return next(position)
        return _rebuild(node, kind, [build(child) for child in _entries(node, kind)[1]])

    return build(structure)


def traverse(func: Callable, structure, top_down: bool = True):
    """Visits every sub-structure of ``structure`` depth first, leaves included.

    Args:
        func: called on each sub-structure. Top-down, a non-None result replaces the
            sub-structure and stops the descent into it; bottom-up (children first),
            a non-None result replaces the already traversed sub-structure. Return
            ``MAP_TO_NONE`` to replace it by ``None``.
        structure: the structure to traverse.
        top_down: visit parents before their children.

    Returns:
        The structure with the replacements made.

    Raises:
        TypeError: ``func`` is not callable.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, received {type(func).__name__}: {func!r}")

    def descend(node):
        kind = _node_kind(node)
        if kind is False:
            return node
        return _rebuild(node, kind, [visit(child) for child in _entries(node, kind)[1]])

    def visit(node):
        if top_down:
            result = func(node)
            if result is None:
                return descend(node)
        else:
            node = descend(node)
            result = func(node)
            if result is None:
                return node
        if result is MAP_TO_NONE or isinstance(result, MAP_TO_NONE):
            return None
        return result

    return visit(structure)


def lists_to_tuples(structure):
    """``structure`` with every list turned into a tuple, at every depth."""
    return traverse(lambda x: tuple(x) if type(x) is list else None, structure, top_down=False)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(d, (int, type(None))) for d in x)


def map_shape_structure(func: Callable, structure) -> Any:
    """Like :func:`map_structure` over one structure, but a list or tuple of ints and
    ``None`` (a shape, e.g. ``(None, 3)``) is passed to ``func`` whole."""
    def visit(node):
        if _is_shape(node):
            return func(node)
        kind = _node_kind(node)
        if kind is False:
            return func(node)
        return _rebuild(node, kind, [visit(child) for child in _entries(node, kind)[1]])

    return visit(structure)


__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
           "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
           "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]
