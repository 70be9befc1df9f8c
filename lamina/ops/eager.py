"""Eager op calls as compiled programs.

Called on concrete arrays, an op runs as one ``jax.jit``-compiled program per op and
argument signature (array shapes and dtypes, plus the values of the other arguments)
instead of dispatching, and compiling, each jax.numpy primitive it uses separately.
Array arguments are traced; every other argument (axes, shapes, dtype names, Python
scalars, functions) is static, keyed by its type and value so ``1`` and ``1.0`` stay
distinct. Calls whose arguments cannot be keys (unhashable values) run uncompiled;
inside an outer trace (``jax.jit``, ``grad``) the program is inlined.
"""

from __future__ import annotations

import jax
import numpy as np


def _is_array(x) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic))


class _Static:
    """The hashable, static part of a call: tree structure, non-array leaves (with
    their types) and where the arrays go."""

    __slots__ = ("treedef", "leaves", "positions", "_hash")

    def __init__(self, treedef, leaves: tuple, positions: tuple):
        self.treedef, self.leaves, self.positions = treedef, leaves, positions
        self._hash = hash((treedef, tuple((type(v), v) for v in leaves), positions))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return (isinstance(other, _Static) and self._hash == other._hash
                and self.treedef == other.treedef and self.positions == other.positions
                and len(self.leaves) == len(other.leaves)
                and all(type(a) is type(b) and (a is b or a == b)
                        for a, b in zip(self.leaves, other.leaves)))


def compiled(fn):
    """``fn`` running as a compiled program per argument signature (see module doc).

    Returns a function with ``fn``'s call convention.
    """

    def run(static: _Static, *arrays):
        leaves = list(static.leaves)
        for position, value in zip(static.positions, arrays):
            leaves.insert(position, value)
        args, kwargs = jax.tree_util.tree_unflatten(static.treedef, leaves)
        return fn(*args, **kwargs)

    jitted = jax.jit(run, static_argnums=0)

    def call(*args, **kwargs):
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs),
                                                     is_leaf=lambda x: x is None)
        positions = tuple(i for i, x in enumerate(leaves) if _is_array(x))
        static_leaves = tuple(x for x in leaves if not _is_array(x))
        try:
            static = _Static(treedef, static_leaves, positions)
        except TypeError:  # an unhashable argument (e.g. a slice): run uncompiled
            return fn(*args, **kwargs)
        return jitted(static, *[leaves[i] for i in positions])

    return call
