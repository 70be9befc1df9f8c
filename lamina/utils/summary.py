"""``model.summary()``: a table of layers, output shapes, parameter counts and connections.

The table has Keras 3's layout: the same columns, default widths (88 characters, 108
with a "Connected to" column, 12 more with "Trainable", capped by the terminal's
width), ``positions`` splitting the line into columns, long cells wrapped at spaces
and over-long words cut with "…", nested models expanded as indented rows.
"""

from __future__ import annotations

import math
import re
import shutil

import numpy as np

from lamina.utils.io_utils import is_interactive_logging_enabled, print_msg

_ELLIPSIS = "\u2026"


# ---- counting ---------------------------------------------------------------------

def _count_params(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def _memory_size(weights) -> int:
    """Bytes taken by the distinct ``weights``."""
    unique = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in unique)


def _readable_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


# ---- cell contents ----------------------------------------------------------------

def _format_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(d is None or isinstance(d, int) for d in x)


def _as_tuples(structure):
    if _is_shape(structure):
        return tuple(structure)
    if isinstance(structure, dict):
        return {k: _as_tuples(v) for k, v in structure.items()}
    return [_as_tuples(v) for v in structure]


def _shape_from_build(layer) -> str:
    """The output shape a layer built directly (not called on symbolic inputs) computes
    from the shapes it was built with."""
    config = layer.get_build_config() if getattr(layer, "built", False) else None
    if not config:
        return "?"
    try:
        if "input_shape" in config:
            shape = layer.compute_output_shape(_as_tuples(config["input_shape"]))
        else:
            shape = layer.compute_output_shape(**_as_tuples(config["shapes_dict"]))
    except (NotImplementedError, TypeError, ValueError):  # a shape the layer cannot infer
        return "?"
    if _is_shape(shape):
        return _format_shape(shape)
    return "[" + ", ".join(_format_shape(s) for s in shape) + "]"


def _output_shape(layer) -> str:
    """The shapes of the outputs of the layer's latest call, as Keras shows them."""
    nodes = getattr(layer, "_inbound_nodes", None)
    if not nodes:
        return _shape_from_build(layer)
    outputs = nodes[-1].outputs
    if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
        outputs = outputs[0]
    if isinstance(outputs, dict):
        if len(outputs) == 1:
            return _format_shape(next(iter(outputs.values())).shape)
        return "{" + ", ".join(f"{k}: {_format_shape(v.shape)}"
                               for k, v in outputs.items()) + "}"
    if isinstance(outputs, (list, tuple)):
        return "[" + ", ".join(_format_shape(t.shape) for t in outputs) + "]"
    return _format_shape(outputs.shape)


def _params(layer) -> str:
    from lamina.layers.layer import Layer

    if not isinstance(layer, Layer):  # an operation (ops.* call): no weights
        return "0"
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _trainable(layer) -> str:
    weights = getattr(layer, "weights", None)
    if not weights:
        return "-"
    return "Y" if layer.trainable else "N"


def _connections(layer, model_nodes: set) -> str:
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in model_nodes:  # a call outside this model
            continue
        for t in node.input_tensors:
            inbound, node_index, tensor_index = t._keras_history
            parts.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


# ---- which layout -----------------------------------------------------------------

def _is_sequential_like(model) -> bool:
    """Whether the functional graph is one chain: no two nodes at the same depth, no
    node with several inputs, no layer called twice (Keras's test)."""
    nodes = model._nodes
    node_ids = {id(n) for n in nodes}
    depth: dict[int, int] = {}
    for node in reversed(nodes):  # outputs first
        d = depth.setdefault(id(node), 0)
        for parent in node.parent_nodes:
            if id(parent) in node_ids:
                depth[id(parent)] = max(depth.get(id(parent), 0), d + 1)
    if len(set(depth.values())) != len(nodes):
        return False
    if any(len(n.input_tensors) > 1 for n in nodes):
        return False
    operations = [id(n.operation) for n in nodes]
    return len(set(operations)) == len(operations)


def layer_range_bounds(layers: list, layer_range) -> tuple[int, int]:
    """``[start, stop)`` of the layers from the first matching ``layer_range[0]`` to the
    last matching ``layer_range[1]`` (names or regular expressions)."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError("layer_range must be a list or tuple of length 2. Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not all(isinstance(x, str) for x in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


# ---- table geometry ---------------------------------------------------------------

def _column_widths(line_length: int, positions: list) -> list[int]:
    """Content widths of the columns: ``positions`` (fractions of the line, or absolute
    character positions) split the line; padding and borders are then taken out
    evenly from every column, so the table is exactly ``line_length`` wide."""
    if positions[-1] <= 1:
        ends = [int(p * line_length) for p in positions]
    else:
        ends = [int(p) for p in positions]
    widths, current = [], 0
    for end in ends:
        width = end - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary: column widths "
                             f"{[e - s for s, e in zip([0] + ends, ends)]} from positions "
                             f"{positions} and line_length {line_length}; each must be >= 4.")
        widths.append(width)
        current = end
    outer = [w + 2 for w in widths]  # one space of padding on each side
    excess = sum(outer) - (line_length - len(outer) - 1)
    remaining_columns = len(outer)
    for i, w in enumerate(outer):
        if excess <= 0:
            break
        cut = min(w, round(excess / remaining_columns))
        outer[i] = w - cut
        excess -= cut
        remaining_columns -= 1
    return [max(w - 2, 1) for w in outer]


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap keeping leading spaces; a word longer than the line is cut
    with an ellipsis."""
    words = re.findall(r"\s*\S+\s*", text) or [""]
    lines, line = [], ""
    for word in words:
        if line and len((line + word).rstrip()) > width:
            lines.append(line)
            line = word.lstrip() if lines else word
        else:
            line += word
    lines.append(line)
    out = []
    for line in lines:
        line = line.rstrip()
        if len(line) > width:
            line = line[:width - 1] + _ELLIPSIS
        out.append(line)
    return out


def _justify(text: str, width: int, how: str) -> str:
    if how == "right":
        return text.rjust(width)
    if how == "center":
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)
    return text.ljust(width)


def _render_row(cells: list, widths: list, justify: list, bar: str,
                bottom: bool = False) -> list[str]:
    """The lines of one table row; cells shorter than the row sit at its top (or, with
    ``bottom``, as in the header, at its bottom)."""
    wrapped = [_wrap(str(c), w) for c, w in zip(cells, widths)]
    height = max(len(c) for c in wrapped)
    if bottom:
        wrapped = [[""] * (height - len(c)) + c for c in wrapped]
    lines = []
    for i in range(height):
        parts = [f" {_justify(c[i] if i < len(c) else '', w, j)} "
                 for c, w, j in zip(wrapped, widths, justify)]
        lines.append(bar + bar.join(parts) + bar)
    return lines


def _rule(widths: list, left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * (w + 2) for w in widths) + right


# ---- the summary ------------------------------------------------------------------

def summary_text(model, line_length=None, positions=None, expand_nested=False,
                 show_trainable=False, layer_range=None) -> str:
    """The summary of ``model`` as one string (lines end with a newline)."""
    from lamina.models.functional import Functional
    from lamina.models.model import Model
    from lamina.models.sequential import Sequential

    functional = isinstance(model, Functional) and not isinstance(model, Sequential)
    layers = model.operations if functional else model.layers
    sequential_like = not functional or _is_sequential_like(model)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        justify = ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    positions = list(positions) if positions is not None else default_positions
    if show_trainable:
        default_length += 12
        header.append("Trainable")
        justify.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    if show_trainable:
        # The Trainable column takes the last tenth of the line (or its remainder).
        relative = positions[-1] <= 1
        positions = ([p * 0.90 for p in positions] + [1.0] if relative
                     else positions + [line_length])
    if len(positions) != len(header):
        raise ValueError(f"positions must give the end of each of the {len(header)} columns "
                         f"{header}; received {len(positions)}: {positions}.")
    widths = _column_widths(line_length, positions)
    model_nodes = {id(n) for n in model._nodes} if functional else set()

    def rows_of(layer, level=0):
        prefix = "   " * level + "\u2514 " if level else ""
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape(layer),
               _params(layer)]
        if not sequential_like:
            row.append(_connections(layer, model_nodes))
        if show_trainable:
            row.append(_trainable(layer))
        rows = [row]
        if expand_nested and isinstance(layer, Model) and layer.layers:
            for inner in layer.layers:
                rows.extend(rows_of(inner, level + 1))
        return rows

    start, stop = layer_range_bounds(layers, layer_range)
    rows = [row for layer in layers[start:stop] for row in rows_of(layer)]

    lines = [f'Model: "{model.name}"', _rule(widths, "┏", "┳", "┓", "━")]
    lines += _render_row(header, widths, justify, "┃", bottom=True)
    lines.append(_rule(widths, "┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        if i:
            lines.append(_rule(widths, "├", "┼", "┤", "─"))
        lines += _render_row(row, widths, justify, "│")
    lines.append(_rule(widths, "└", "┴", "┘", "─"))

    counts = [("Trainable params", model.trainable_weights),
              ("Non-trainable params", model.non_trainable_weights)]
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
        counts.append(("Optimizer params", optimizer.variables))
    total = sum(_count_params(w) for _, w in counts)
    total_size = sum(_memory_size(w) for _, w in counts)
    lines.append(f" Total params: {total:,} ({_readable_size(total_size)})")
    for label, weights in counts:
        lines.append(f" {label}: {_count_params(weights):,} "
                     f"({_readable_size(_memory_size(weights))})")
    return "\n".join(lines) + "\n"


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None) -> None:
    """Prints the summary table of ``model``; or hands the whole text to ``print_fn``
    (one call, as Keras 3), or to the ``"lamina"`` logger when interactive logging is off."""
    text = summary_text(model, line_length=line_length, positions=positions,
                        expand_nested=expand_nested, show_trainable=show_trainable,
                        layer_range=layer_range)
    if print_fn is not None:
        print_fn(text)
    elif not is_interactive_logging_enabled():
        print_msg(text, line_break=False)
    else:
        print(text, end="")
