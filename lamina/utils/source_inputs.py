"""``get_source_inputs``: the ``Input`` tensors a symbolic tensor is computed from."""

from __future__ import annotations

from lamina.graph import KerasTensor


def get_source_inputs(tensor) -> list:
    """The input tensors (outputs of ``Input``) that ``tensor`` depends on.

    Args:
        tensor: a KerasTensor (anything else is returned as ``[tensor]``).

    Returns:
        The source KerasTensors, each once, in the order the graph reaches them.
    """
    sources: list = []
    seen: set[int] = set()

    def visit(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        history = t._keras_history if isinstance(t, KerasTensor) else None
        if history is None:
            sources.append(t)
            return
        layer, node_index, _ = history
        node = layer._inbound_nodes[node_index]
        if node.is_input:
            sources.append(t)
            return
        for parent in node.input_tensors:
            visit(parent)

    visit(tensor)
    return sources
