"""``rearrange``: einops-style axis rearrangement (``keras.ops.rearrange``)."""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np

from lamina.ops import op_utils
from lamina.ops.operation import keras_op

_TOKEN = re.compile(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|1")


def _parse_side(side: str) -> list:
    """The groups of one side of a pattern: each a list of axis names (``()``-grouped
    names share one axis; ``1`` is a unit axis, an empty group)."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"Nested parentheses in rearrange pattern side {side!r}.")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"Unbalanced parentheses in rearrange pattern side {side!r}.")
            groups.append(current)
            current = None
        elif current is not None:
            if token != "1":
                current.append(token)
        else:
            groups.append([] if token == "1" else [token])
    if current is not None:
        raise ValueError(f"Unbalanced parentheses in rearrange pattern side {side!r}.")
    return groups


@keras_op("keras.src.ops.einops")
def rearrange(tensor, pattern, **axes_lengths):
    """Rearranges axes as described by an einops ``pattern`` such as
    ``"b h w c -> b (h w) c"`` (grouping, splitting with ``axes_lengths``,
    transposition, unit axes)."""
    x = op_utils.tensor(tensor)
    if "->" not in pattern:
        raise ValueError(f"rearrange pattern must contain '->', received {pattern!r}.")
    left_text, right_text = pattern.split("->")
    left, right = _parse_side(left_text), _parse_side(right_text)
    if len(left) != x.ndim:
        raise ValueError(f"rearrange pattern {pattern!r} describes {len(left)} axes, but the "
                         f"tensor has shape {tuple(x.shape)}.")
    sizes = dict(axes_lengths)
    for group, dim in zip(left, x.shape):
        unknown = [name for name in group if name not in sizes]
        known = int(np.prod([sizes[name] for name in group if name in sizes]))
        if len(unknown) > 1:
            raise ValueError(f"rearrange cannot infer the sizes of {unknown}: give them in "
                             "axes_lengths.")
        if unknown:
            sizes[unknown[0]] = dim // known
        elif known != dim:
            raise ValueError(f"rearrange: axes {group} of sizes {known} do not match the "
                             f"dimension {dim}.")
    elementary = [name for group in left for name in group]
    output_names = [name for group in right for name in group]
    if sorted(elementary) != sorted(output_names):
        raise ValueError(f"rearrange pattern {pattern!r} must use the same axes on both sides.")
    x = jnp.reshape(x, [sizes[name] for name in elementary])
    x = jnp.transpose(x, [elementary.index(name) for name in output_names])
    return jnp.reshape(x, [int(np.prod([sizes[n] for n in group])) for group in right])
