"""``Function``: a graph of operations between symbolic inputs and outputs, as a callable.

The graph is the one recorded when operations (and layers) were called on the
``inputs`` KerasTensors, which may be bare ``KerasTensor(shape)`` placeholders. Calling
the function on arrays runs the recorded operations in order; calling it on
KerasTensors records them again on those tensors. A ``Function`` holds no variables
and has no Layer API; layers inside it run with their current weights.
"""

from __future__ import annotations

from lamina.graph import KerasTensor, any_symbolic, flatten, map_structure
from lamina.utils.naming import uniquify


class Function:
    """A callable graph of operations.

    Args:
        inputs: a KerasTensor, or a list/tuple/dict of them.
        outputs: KerasTensors computed from ``inputs`` by operations or layers.
        name: the function's name.
    """

    def __init__(self, inputs, outputs, name: str | None = None):
        self.name = name or uniquify("function")
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for t in flatten(structure):
                if not isinstance(t, KerasTensor):
                    raise ValueError(f"All `{what}` of a Function must be KerasTensors, "
                                     f"received {type(t).__name__}: {t!r}.")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._nodes = _nodes_between(flatten(inputs), flatten(outputs))

    @property
    def inputs(self) -> list:
        return flatten(self._inputs_struct)

    @property
    def outputs(self) -> list:
        return flatten(self._outputs_struct)

    @property
    def operations(self) -> list:
        """The operations (and layers) of the graph, each once, in the order they run
        (a topological order: lamina's may differ from Keras's among independent ones)."""
        out = []
        for node in self._nodes:
            if all(node.operation is not op for op in out):
                out.append(node.operation)
        return out

    def __call__(self, inputs):
        return self.call(inputs)

    def call(self, inputs):
        """Runs the graph on ``inputs`` (structured like the function's inputs)."""
        flat = flatten(inputs)
        if len(flat) != len(self.inputs):
            raise ValueError(f"Function '{self.name}' expects {len(self.inputs)} input(s), "
                             f"received {len(flat)}.")
        values = {id(t): v for t, v in zip(self.inputs, flat)}
        for node in self._nodes:
            args, kwargs = map_structure(
                lambda v: values[id(v)] if isinstance(v, KerasTensor) else v,
                (node.call_args, node.call_kwargs))
            results = flatten(node.operation(*args, **kwargs))
            for t, v in zip(node.output_tensors, results):
                values[id(t)] = v
        return map_structure(lambda t: values[id(t)], self._outputs_struct)

    def compute_output_spec(self, inputs):
        """The output KerasTensors for symbolic ``inputs``."""
        if not any_symbolic(inputs):
            raise ValueError(f"compute_output_spec of Function '{self.name}' expects "
                             "KerasTensors.")
        return self.call(inputs)

    def __repr__(self):
        return f"<Function name={self.name}, {len(self._nodes)} operation call(s)>"


def _nodes_between(inputs: list, outputs: list) -> list:
    """The nodes that compute ``outputs`` from ``inputs``, each after its parents.

    Raises ValueError when an output depends on a tensor that is neither an input nor
    computed from the inputs.
    """
    input_ids = {id(t) for t in inputs}
    order, done = [], set()

    def visit(t):
        if id(t) in input_ids:
            return
        if t._keras_history is None:
            raise ValueError(f"Graph disconnected: {t!r} is needed to compute the outputs "
                             "but is not among the Function's inputs.")
        operation, node_index, _ = t._keras_history
        node = operation._inbound_nodes[node_index]
        if id(node) in done:
            return
        if not node.input_tensors:  # an Input() that is not among the inputs
            raise ValueError(f"Graph disconnected: {t!r} comes from Input "
                             f"'{operation.name}', which is not among the Function's inputs.")
        for x in node.input_tensors:
            visit(x)
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    return order
