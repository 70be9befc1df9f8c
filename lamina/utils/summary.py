"""``model.summary()``: a table of layers, output shapes, parameter counts and connections."""

from __future__ import annotations

import textwrap

import numpy as np


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def _count(weights) -> tuple[int, int]:
    params = sum(int(np.prod(w.shape)) for w in weights)
    size = sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in weights)
    return params, size


def _output_shape(layer, node):
    def shape(t):
        return str(tuple(t.shape)) if hasattr(t, "shape") else "?"

    if node is None:
        try:
            out = layer.output
        except AttributeError:
            return "?"
    else:
        out = node.outputs
    if isinstance(out, (list, tuple)):
        return ", ".join(shape(t) for t in out)
    if isinstance(out, dict):
        return ", ".join(shape(t) for t in out.values())
    return shape(out)


def _connections(model, node) -> str:
    if node is None or not node.input_tensors:
        return "-"
    parts = []
    for t in node.input_tensors:
        layer, node_index, tensor_index = t._keras_history
        own = [n for n in layer._inbound_nodes if id(n) in model._node_set]
        index = next((i for i, n in enumerate(own) if n is layer._inbound_nodes[node_index]),
                     node_index)
        parts.append(f"{layer.name}[{index}][{tensor_index}]")
    return ", ".join(parts)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None) -> None:
    """Prints (or passes to ``print_fn``) the summary table of ``model``."""
    if expand_nested:
        raise NotImplementedError("summary(expand_nested=True) is not supported by lamina yet.")
    if positions is not None:
        raise NotImplementedError("summary(positions=...) is not supported by lamina yet.")
    print_fn = print_fn or print
    from lamina.layers.layer import Layer
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    sequential = isinstance(model, Sequential)
    functional = isinstance(model, Functional) and model.built and not sequential
    multi_input = functional and (len(model.inputs) > 1 or any(
        len(n.input_tensors) > 1 for n in model._nodes))
    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [33, 24, 15]
    if multi_input:
        headers.append("Connected to")
        widths = [21, 19, 12, 19]
    if show_trainable:
        headers.append("Trainable")
        widths.append(9)
    if line_length:
        scale = line_length / (sum(widths) + 3 * len(widths) + 1)
        widths = [max(8, int(w * scale)) for w in widths]
    rows = []
    if functional:
        entries = [(n.operation, n) for n in model._nodes]
    elif sequential and model.built:
        entries = [(n.operation, n) for n in model._nodes if not n.is_input]
    else:
        entries = [(layer, None) for layer in model.layers]
    if layer_range is not None:
        names = [e[0].name for e in entries]
        lo, hi = names.index(layer_range[0]), names.index(layer_range[1])
        entries = entries[lo:hi + 1]
    for layer, node in entries:
        # Operations (lamina.ops calls in the graph) hold no weights and are not trainable.
        is_layer = isinstance(layer, Layer)
        params = layer.count_params() if is_layer and layer.built else 0
        row = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer, node), f"{params:,}"]
        if multi_input:
            row.append(_connections(model, node))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if is_layer else "-")
        rows.append(row)

    def line(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(row):
        wrapped = [textwrap.wrap(text, w) or [""] for text, w in zip(row, widths)]
        height = max(len(c) for c in wrapped)
        out = []
        for i in range(height):
            parts = []
            for col, (c, w) in enumerate(zip(wrapped, widths)):
                text = c[i] if i < len(c) else ""
                parts.append(f" {text.rjust(w) if col == 2 else text.ljust(w)} ")
            out.append("│" + "│".join(parts) + "│")
        return out

    print_fn(f'Model: "{model.name}"')
    print_fn(line("┏", "┳", "┓", "━"))
    print_fn("┃" + "┃".join(f" {h.rjust(w) if i == 2 else h.ljust(w)} "
                            for i, (h, w) in enumerate(zip(headers, widths))) + "┃")
    print_fn(line("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        for text in cells(row):
            print_fn(text)
        if i < len(rows) - 1:
            print_fn(line("├", "┼", "┤", "─"))
    print_fn(line("└", "┴", "┘", "─"))
    total, total_size = _count(model.weights)
    trainable, trainable_size = _count(model.trainable_weights)
    non_trainable, nt_size = _count(model.non_trainable_weights)
    print_fn(f" Total params: {total:,} ({_format_bytes(total_size)})")
    print_fn(f" Trainable params: {trainable:,} ({_format_bytes(trainable_size)})")
    print_fn(f" Non-trainable params: {non_trainable:,} ({_format_bytes(nt_size)})")
    if getattr(model, "optimizer", None) is not None and getattr(model.optimizer, "built", False):
        opt_params, opt_size = _count([v for v in model.optimizer.variables])
        print_fn(f" Optimizer params: {opt_params:,} ({_format_bytes(opt_size)})")
