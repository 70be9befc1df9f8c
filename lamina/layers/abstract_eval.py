"""Abstract evaluation: output specs of a function of KerasTensors, by tracing it."""

from __future__ import annotations

import jax

from lamina.graph import KerasTensor
from lamina.state import StatelessScope

# Stand-in sizes for unknown (None) dimensions during abstract evaluation. Far
# apart, so strided or pooled dimensions computed from them still differ.
_STAND_INS = (43, 71)


def eval_abstractly(fn, structure):
    """``fn(structure)`` with the KerasTensors in ``structure`` as abstract arrays.

    Unknown (None) dimensions get two stand-in sizes; output dimensions that differ
    between the two runs are unknown. Returns the outputs as KerasTensors.
    """
    leaves, treedef = jax.tree_util.tree_flatten(
        structure, is_leaf=lambda x: isinstance(x, KerasTensor))
    sym_index = [i for i, x in enumerate(leaves) if isinstance(x, KerasTensor)]

    def run(size):
        abstract = [jax.ShapeDtypeStruct(tuple(size if d is None else d
                                               for d in leaves[i].shape), leaves[i].dtype)
                    for i in sym_index]

        def traced(*values):
            full = list(leaves)
            for i, v in zip(sym_index, values):
                full[i] = v
            with StatelessScope(key=jax.random.PRNGKey(0), collect_losses=True,
                                isolated=True):
                return fn(jax.tree_util.tree_unflatten(treedef, full))

        return jax.eval_shape(traced, *abstract)

    has_unknown = any(d is None for i in sym_index for d in leaves[i].shape)
    first = run(_STAND_INS[0])
    second = run(_STAND_INS[1]) if has_unknown else first

    def combine(a, b):
        if a is None:
            return None
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return KerasTensor(shape, a.dtype)

    return jax.tree_util.tree_map(combine, first, second,
                                  is_leaf=lambda x: x is None)
