"""The symbolic graph: symbolic tensors and the nodes that connect layers.

``Input()`` returns a :class:`KerasTensor`; calling a layer on KerasTensors
records a :class:`Node` (the layer, the call's arguments, its outputs) and
returns new KerasTensors whose ``_keras_history`` points back at that node.
A functional model walks these histories from its outputs to its inputs.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from lamina import dtypes


def flatten(structure) -> list:
    """Leaves of a nested list/tuple/dict structure (dicts in key order)."""
    return jax.tree_util.tree_leaves(structure, is_leaf=lambda x: x is None or isinstance(
        x, KerasTensor))


def map_structure(fn, structure):
    return jax.tree_util.tree_map(fn, structure, is_leaf=lambda x: x is None or isinstance(
        x, KerasTensor))


class KerasTensor:
    """A symbolic tensor: a shape (``None`` for unknown dimensions), a dtype and a history.

    Args:
        shape: tuple of ints or None.
        dtype: dtype name, default float32.
        name: optional name.

    ``_keras_mask`` is the symbolic mask the producing layer's ``compute_mask``
    gives this tensor (a KerasTensor, e.g. of shape ``(batch, timesteps)``), or None.
    """

    _keras_mask = None

    def __init__(self, shape, dtype="float32", sparse: bool = False, name: str | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtypes.standardize(dtype)
        self.sparse = sparse
        self.name = name
        # (layer, node_index, tensor_index): which node produced this tensor.
        self._keras_history = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, "
                f"name={self.name}>")

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a Python bool: it has no "
                        "value until the model runs.")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "A symbolic KerasTensor cannot be converted to a NumPy array. It is a "
            "placeholder used to build models; call the model on data to get values.")

    # Arithmetic on symbolic tensors records an operation node, as in Keras.
    def __add__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a + b, "add")

    def __radd__(self, other):
        return _symbolic_binary(other, self, lambda a, b: a + b, "add")

    def __sub__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a - b, "subtract")

    def __rsub__(self, other):
        return _symbolic_binary(other, self, lambda a, b: a - b, "subtract")

    def __mul__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a * b, "multiply")

    def __rmul__(self, other):
        return _symbolic_binary(other, self, lambda a, b: a * b, "multiply")

    def __truediv__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a / b, "divide")

    def __rtruediv__(self, other):
        return _symbolic_binary(other, self, lambda a, b: a / b, "divide")

    def __matmul__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a @ b, "matmul")

    def __neg__(self):
        return _symbolic_unary(self, lambda a: -a, "negative")

    def __pow__(self, other):
        return _symbolic_binary(self, other, lambda a, b: a**b, "power")

    def __getitem__(self, idx):
        return _symbolic_unary(self, lambda a: a[idx], "get_item")


def _symbolic_unary(x, fn, name):
    from lamina.layers.core import OpLayer

    return OpLayer(fn, name=name)(x)


def _symbolic_binary(a, b, fn, name):
    from lamina.layers.core import OpLayer

    if not isinstance(a, KerasTensor):
        const = np.asarray(a)
        return OpLayer(lambda y: fn(const, y), name=name)(b)
    if not isinstance(b, KerasTensor):
        const = np.asarray(b)
        return OpLayer(lambda x: fn(x, const), name=name)(a)
    return OpLayer(lambda xs: fn(xs[0], xs[1]), name=name)([a, b])


def is_symbolic(x) -> bool:
    return isinstance(x, KerasTensor)


def any_symbolic(structure) -> bool:
    return any(isinstance(x, KerasTensor) for x in flatten(structure))


class Node:
    """One call of a layer on symbolic tensors.

    Attributes:
        operation: the layer that was called.
        call_args, call_kwargs: the call's arguments, KerasTensors left in place.
        outputs: the structure of output KerasTensors.
    """

    def __init__(self, operation, call_args: tuple, call_kwargs: dict, outputs: Any):
        self.operation = operation
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [x for x in flatten((call_args, call_kwargs))
                              if isinstance(x, KerasTensor)]
        self.output_tensors = [x for x in flatten(outputs) if isinstance(x, KerasTensor)]
        self.parent_nodes = []
        for t in self.input_tensors:
            if t._keras_history is not None:
                layer, node_index, _ = t._keras_history
                self.parent_nodes.append(layer._inbound_nodes[node_index])
        node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = (operation, node_index, i)

    @property
    def is_input(self) -> bool:
        """Whether this node starts the graph: it reads no symbolic tensors (an ``Input``)."""
        return not self.input_tensors
