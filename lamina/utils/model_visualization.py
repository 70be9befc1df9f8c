"""``plot_model``: a picture of a model's graph, drawn by lamina itself (no graphviz, no
pydot). Boxes show what Keras's pictures show (name, class and, on request, shapes,
dtypes, activation and trainability); a layer used several times is one box with
several edges; nested models are one box, or a dashed frame around their own boxes
with ``expand_nested=True``. SVG is written directly; PNG goes through the optional
``resvg-py`` rasterizer (``pip install 'lamina[plot]'``).
"""

from __future__ import annotations

import os

from lamina.utils import graph_layout
from lamina.utils.summary import layer_range_bounds
from lamina.utils.svg_diagram import BoxLabel, box_size, render_svg

_FORMATS = (".svg", ".png")


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False,
                 splines: str = "ortho", **kwargs):
    """Would return the model's graph as a ``pydot.Dot``.

    Raises:
        NotImplementedError: always; lamina draws models without pydot/graphviz:
            use ``plot_model(model, to_file="model.svg")`` (or ``.png``).
    """
    raise NotImplementedError("lamina.utils.model_to_dot (a pydot graph) is not implemented: "
                              "lamina draws models without pydot/graphviz. Use "
                              "lamina.utils.plot_model(model, to_file='model.svg' or '.png').")


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, layer_range=None, **kwargs) -> None:
    """Draws the graph of ``model`` to ``to_file`` (``.svg``, or ``.png`` with the
    ``plot`` extra installed).

    Args:
        model: a built model (functional, Sequential; a subclassed model is one box).
        to_file: the file to write; its extension chooses the format.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: title boxes "name (Class)" rather than "Class".
        rankdir: "TB" draws top to bottom, "LR" left to right.
        expand_nested: draw nested models as frames around their own layers.
        dpi: resolution of a PNG (the SVG's size is at 96 dots per inch).
        show_layer_activations: show the activation of layers that have one.
        show_trainable: mark layers with weights trainable (green) or not (red).
        layer_range: ``[first, last]`` layer names (or regular expressions): draw
            only the top-level layers between them, both included.
    """
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments to plot_model: {sorted(kwargs)}.")
    extension = os.path.splitext(str(to_file))[1].lower()
    if extension not in _FORMATS:
        raise ValueError(f"plot_model writes {' or '.join(_FORMATS)} files; received "
                         f"to_file={to_file!r}.")
    if not model.built:
        raise ValueError(f"Model '{model.name}' has not been built yet: build it (call it "
                         "on data, or `build(input_shape)`) before plotting it.")
    svg = model_to_svg(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, layer_range=layer_range)
    if extension == ".svg":
        data = svg.encode("utf-8")
    else:
        data = _rasterize(svg, dpi)
    from lamina.saving.atomic import atomic_write_bytes

    atomic_write_bytes(to_file, data)


def model_to_svg(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, show_layer_activations=False,
                 show_trainable=False, layer_range=None) -> str:
    """The SVG text of ``plot_model``'s picture."""
    graph = _DiagramGraph(expand_nested)
    graph.add_model(model, (), layer_range)
    labels = {key: _label(layer, graph.nodes_of(key), show_shapes, show_dtype,
                          show_layer_names, show_layer_activations, show_trainable)
              for key, layer in graph.boxes.items()}
    sizes = {key: box_size(label) for key, label in labels.items()}
    edges = list(graph.edges)
    placed = graph_layout.layout(sizes, edges, graph.cluster_of, rankdir)
    names = {key: layer.name for key, layer in graph.boxes.items()}
    return render_svg(placed, labels, names, edges, graph.cluster_names, rankdir)


def _rasterize(svg: str, dpi: int) -> bytes:
    try:
        import resvg_py
    except ImportError as e:
        raise ImportError("plot_model needs the `resvg-py` package to write PNG files: "
                          "pip install 'lamina[plot]' (or `resvg-py`), or write an .svg "
                          "file instead.") from e
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, zoom=float(dpi) / 96.0,
                                       background="#ffffff"))


# ---- the graph of boxes -----------------------------------------------------------

def _graph_nodes(model) -> list:
    """The nodes of a functional or Sequential model's graph; none for a subclassed one."""
    from lamina.models.functional import Functional

    return list(model._nodes) if isinstance(model, Functional) else []


class _DiagramGraph:
    """Boxes (one per layer or operation), edges between them, and the frames of
    expanded nested models, collected from a model's graph."""

    def __init__(self, expand_nested: bool):
        self.expand_nested = expand_nested
        self.boxes: dict = {}        # key -> layer
        self.cluster_of: dict = {}   # key -> frames (outermost first)
        self.cluster_names: dict = {}
        self.edges: dict = {}        # (source key, target key) -> None, in order
        self._model_nodes: dict = {}  # key -> ids of the nodes of the model drawing it

    @staticmethod
    def key(layer) -> str:
        return f"layer-{id(layer)}"

    def nodes_of(self, key) -> list:
        layer = self.boxes[key]
        own = self._model_nodes.get(key, set())
        return [n for n in layer._inbound_nodes if id(n) in own] or list(layer._inbound_nodes)

    def _expands(self, layer) -> bool:
        from lamina.models.functional import Functional

        return self.expand_nested and isinstance(layer, Functional)

    def add_model(self, model, frames: tuple, layer_range=None) -> None:
        from lamina.layers.input_layer import InputLayer
        from lamina.models.sequential import Sequential

        nodes = _graph_nodes(model)
        if not nodes:  # a subclassed model: one box
            self._add_box(model, frames, set())
            return
        node_ids = {id(n) for n in nodes}
        operations = []
        for node in nodes:
            op = node.operation
            # A Sequential model draws no box for its InputLayer, as Keras.
            if isinstance(model, Sequential) and isinstance(op, InputLayer):
                continue
            if all(op is not o for o in operations):
                operations.append(op)
        if layer_range is not None:
            start, stop = layer_range_bounds(operations, layer_range)
            operations = operations[start:stop]
        drawn = {id(op) for op in operations}
        for op in operations:
            if self._expands(op):
                frame = f"cluster-{id(op)}"
                self.cluster_names[frame] = op.name
                self.add_model(op, frames + (frame,))
            else:
                self._add_box(op, frames, node_ids)
        for node in nodes:
            if id(node.operation) not in drawn:
                continue
            for input_index, t in enumerate(node.input_tensors):
                source, _, tensor_index = t._keras_history
                if id(source) not in drawn:
                    continue
                source = self._producer(source, tensor_index)
                target = self._consumer(node.operation, input_index)
                if source is None or target is None:
                    continue
                self.edges.setdefault((self.key(source), self.key(target)), None)

    def _add_box(self, layer, frames: tuple, node_ids: set) -> None:
        key = self.key(layer)
        if key not in self.boxes:
            self.boxes[key] = layer
            self.cluster_of[key] = frames
        self._model_nodes.setdefault(key, set()).update(node_ids)

    def _producer(self, layer, tensor_index: int):
        """The drawn layer behind output ``tensor_index`` of ``layer`` (inside expanded
        models)."""
        while self._expands(layer):
            layer, _, tensor_index = layer.outputs[tensor_index]._keras_history
        return layer

    def _consumer(self, layer, input_index: int):
        """The drawn layer that receives input ``input_index`` of ``layer``: an expanded
        functional model's Input, or a Sequential model's first layer."""
        from lamina.models.sequential import Sequential

        while self._expands(layer):
            if isinstance(layer, Sequential):
                if not layer.layers:
                    return None
                layer = layer.layers[0]
            else:
                layer = layer.inputs[min(input_index, len(layer.inputs) - 1)]._keras_history[0]
        return layer


# ---- box labels -------------------------------------------------------------------

def _format_shapes(tensors) -> str:
    shapes = [tuple(t.shape) for t in tensors]
    if not shapes:
        return "?"
    return str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(map(str, shapes)) + "]"


def _format_dtypes(tensors) -> str:
    dtypes = [str(t.dtype) for t in tensors]
    if not dtypes:
        return "?"
    return dtypes[0] if len(dtypes) == 1 else "[" + ", ".join(dtypes) + "]"


def _activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", None) or type(activation).__name__


def _label(layer, nodes, show_shapes, show_dtype, show_layer_names,
           show_layer_activations, show_trainable) -> BoxLabel:
    from lamina.layers.input_layer import InputLayer

    class_name = type(layer).__name__
    if show_layer_names:
        label = BoxLabel(layer.name, f" ({class_name})")
    else:
        label = BoxLabel(class_name)
    activation = _activation_name(layer) if show_layer_activations else None
    if activation is not None:
        label.rows.append(("Activation: ", activation))
    node = nodes[0] if nodes else None
    if show_shapes:
        if not isinstance(layer, InputLayer):
            label.cells.append(("Input shape: ",
                                _format_shapes(node.input_tensors) if node else "?", "plain"))
        label.cells.append(("Output shape: ",
                            _format_shapes(node.output_tensors) if node else "?", "plain"))
    if show_dtype:
        label.cells.append(("Output dtype: ",
                            _format_dtypes(node.output_tensors) if node else "?", "plain"))
    if show_trainable and getattr(layer, "weights", None):
        label.cells.append(("", "Trainable", "trainable") if layer.trainable
                           else ("", "Non-trainable", "frozen"))
    return label
