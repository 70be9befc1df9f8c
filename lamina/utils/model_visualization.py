"""``plot_model`` and ``model_to_dot``: model diagrams, not available in lamina yet."""

from __future__ import annotations


def model_to_dot(model, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False,
                 splines: str = "ortho", **kwargs):
    """Would return the model's graph as a ``pydot.Dot``.

    Raises:
        NotImplementedError: always; model diagrams (pydot/graphviz) are not
            implemented in lamina yet. ``model.summary()`` prints the layer graph.
    """
    raise NotImplementedError("lamina.utils.model_to_dot (model diagrams with pydot/graphviz) "
                              "is not implemented yet; use model.summary().")


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, splines: str = "ortho", **kwargs):
    """Would draw the model's graph to an image file.

    Raises:
        NotImplementedError: always; model diagrams (pydot/graphviz) are not
            implemented in lamina yet. ``model.summary()`` prints the layer graph.
    """
    raise NotImplementedError("lamina.utils.plot_model (model diagrams with pydot/graphviz) is "
                              "not implemented yet; use model.summary().")
