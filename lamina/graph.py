"""The symbolic graph: symbolic tensors and the nodes that connect layers.

``Input()`` returns a :class:`KerasTensor`; calling a layer on KerasTensors
records a :class:`Node` (the layer, the call's arguments, its outputs) and
returns new KerasTensors whose ``_keras_history`` points back at that node.
A functional model walks these histories from its outputs to its inputs.
Python operators and the ``reshape``/``squeeze`` methods on KerasTensors call
``lamina.ops`` functions, which record operation nodes (``lamina.ops.operation``).
"""

from __future__ import annotations

from typing import Any

import jax

from lamina import dtypes
from lamina.user_frames import user_location


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

    def __iter__(self):
        raise NotImplementedError("Iterating over a symbolic KerasTensor is not supported.")

    def __int__(self):
        raise TypeError("A symbolic KerasTensor cannot be converted to a Python int.")

    def __float__(self):
        raise TypeError("A symbolic KerasTensor cannot be converted to a Python float.")

    # Methods and operators record operation nodes (lamina.ops), as in Keras.
    def reshape(self, newshape):
        return _ops().reshape(self, newshape)

    def squeeze(self, axis=None):
        return _ops().squeeze(self, axis=axis)


def _ops():
    from lamina import ops  # noqa: PLC0415 - lamina.ops imports this module

    return ops


def _binary(name: str, reflected: bool = False):
    if reflected:
        def method(self, other):
            return getattr(_ops(), name)(other, self)
    else:
        def method(self, other):
            return getattr(_ops(), name)(self, other)
    return method


def _unary(name: str):
    def method(self):
        return getattr(_ops(), name)(self)
    return method


# Python's operators on KerasTensors and the ops they record. As in Keras, `==` keeps
# Python's identity comparison (KerasTensors are hashable) while `!=` is an op.
for _op_name, _method_names in (
        ("add", ("__add__",)), ("subtract", ("__sub__",)), ("multiply", ("__mul__",)),
        ("true_divide", ("__truediv__",)), ("divide", ("__div__",)),
        ("floor_divide", ("__floordiv__",)),
        ("mod", ("__mod__",)), ("power", ("__pow__",)), ("matmul", ("__matmul__",)),
        ("logical_and", ("__and__",)), ("logical_or", ("__or__",)),
        ("logical_xor", ("__xor__",))):
    for _method in _method_names:
        setattr(KerasTensor, _method, _binary(_op_name))
        setattr(KerasTensor, "__r" + _method[2:], _binary(_op_name, reflected=True))
for _op_name, _method in (("less", "__lt__"), ("less_equal", "__le__"), ("greater", "__gt__"),
                          ("greater_equal", "__ge__"), ("not_equal", "__ne__"),
                          ("get_item", "__getitem__")):
    setattr(KerasTensor, _method, _binary(_op_name))
for _op_name, _method in (("negative", "__neg__"), ("absolute", "__abs__"),
                          ("logical_not", "__invert__")):
    setattr(KerasTensor, _method, _unary(_op_name))
KerasTensor.__round__ = lambda self, ndigits=None: _ops().round(self, decimals=ndigits or 0)


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
        called_at: the file and line of user code that made the call (or None).
    """

    def __init__(self, operation, call_args: tuple, call_kwargs: dict, outputs: Any):
        self.operation = operation
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = [x for x in flatten((call_args, call_kwargs))
                              if isinstance(x, KerasTensor)]
        self.output_tensors = [x for x in flatten(outputs) if isinstance(x, KerasTensor)]
        # The user's line that made this call, named by errors about its outputs.
        self.called_at = user_location()
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
