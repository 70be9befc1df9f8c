"""``clone_model``: a copy of a model's architecture, with new layers (and weights)."""

from __future__ import annotations

import copy
import inspect

from lamina import tree
from lamina.graph import KerasTensor
from lamina.graph import flatten as graph_flatten
from lamina.graph import map_structure as graph_map_structure
from lamina.layers.core import Lambda
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.layer import Layer
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.saving.serialization import SafeModeScope


def _default_clone(layer):
    """A new layer from ``layer``'s config. A Lambda layer keeps its function objects:
    rebuilt from its config, a lambda would lose its module's globals (it is saved as
    bytecode), and a named function that is not registered would not be found.
    (Subclasses of Lambda may take other arguments: they clone through their config.)"""
    if type(layer) is Lambda:
        config = {**Layer.get_config(layer), "function": layer.function,
                  "output_shape": layer.output_shape_arg, "mask": layer.mask,
                  "arguments": layer.arguments}
        return type(layer).from_config(config)
    return type(layer).from_config(layer.get_config())


def _caching_clone_function(clone_function, call_function, recursive: bool, cache: dict):
    """``clone_function`` (default: a new layer from the layer's config) that clones each
    layer once, so a layer shared by several nodes stays shared in the clone; with
    ``recursive``, nested Sequential/Functional models are cloned with ``clone_model``."""
    clone_function = clone_function or _default_clone

    def clone(layer):
        if id(layer) in cache:
            return cache[id(layer)]
        if recursive and isinstance(layer, Sequential):
            new = clone_model(layer, clone_function=clone_function, recursive=True, cache=cache)
        elif recursive and isinstance(layer, Functional):
            new = clone_model(layer, clone_function=clone_function, call_function=call_function,
                              recursive=True, cache=cache)
        else:
            new = clone_function(layer)
        cache[id(layer)] = new
        return new

    return clone


def _copy_compilation(model, clone) -> None:
    """Compiles ``clone`` as ``model`` was compiled (fresh optimizer, losses, metrics)."""
    if not getattr(model, "compiled", False):
        return
    if hasattr(model, "get_compile_config") and hasattr(clone, "compile_from_config"):
        clone.compile_from_config(model.get_compile_config())
        return
    loss, loss_weights, metrics, weighted_metrics = model._compile_args

    def fresh(obj):
        # Loss and metric objects carry state: the clone gets its own.
        if hasattr(obj, "get_config") and hasattr(type(obj), "from_config"):
            return type(obj).from_config(obj.get_config())
        return obj

    optimizer = model.optimizer
    try:
        optimizer = type(optimizer).from_config(optimizer.get_config())
    except (TypeError, ValueError, NotImplementedError, AttributeError):
        optimizer = copy.deepcopy(optimizer)
    clone.compile(optimizer=optimizer, loss=tree.map_structure(fresh, loss),
                  loss_weights=loss_weights, metrics=tree.map_structure(fresh, metrics),
                  weighted_metrics=tree.map_structure(fresh, weighted_metrics),
                  run_eagerly=model.run_eagerly,
                  steps_per_execution=model._steps_per_execution)


def _clone_sequential(model, clone_function, input_tensors=None):
    new_layers = [clone_function(layer) for layer in model.layers]
    first = model._layers[0] if model._layers else None
    reference = first if isinstance(first, InputLayer) else None
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError("Argument `input_tensors` must contain a single tensor.")
            input_tensors = input_tensors[0]
        if not isinstance(input_tensors, KerasTensor):
            raise ValueError("Argument `input_tensors` must be a KerasTensor. Received invalid "
                             f"value: input_tensors={input_tensors!r}")
        new_layers.insert(0, Input(tensor=input_tensors,
                                   name=None if reference is None else reference.name,
                                   optional=False if reference is None else reference.optional))
    elif reference is not None:
        new_layers.insert(0, Input(batch_shape=reference.batch_shape, dtype=reference.dtype,
                                   name=reference.name, optional=reference.optional))
    clone = Sequential(new_layers, name=model.name, trainable=model.trainable)
    _copy_compilation(model, clone)
    return clone


def _takes_inputs_and_outputs(cls) -> bool:
    """Whether ``cls(inputs, outputs, name=...)`` builds a model like Functional's."""
    if cls is Functional:
        return True
    try:
        params = list(inspect.signature(cls.__init__).parameters)[1:3]
    except (TypeError, ValueError):
        return False
    return params == ["inputs", "outputs"]


def _clone_functional(model, clone_function, input_tensors=None, call_function=None):
    if input_tensors is not None:
        if not all(isinstance(x, KerasTensor) for x in tree.flatten(input_tensors)):
            raise ValueError("All entries in `input_tensors` must be KerasTensors. Received "
                             f"invalid values: input_tensors={input_tensors!r}")
        try:
            tree.assert_same_structure(input_tensors, model.input)
        except ValueError as e:
            raise ValueError("`input_tensors` must have the same structure as model.input\n"
                             f"Reference structure: {model.input}\n"
                             f"Received structure: {input_tensors}") from e
        flat_inputs = tree.flatten(input_tensors)
        new_inputs = input_tensors
    else:
        flat_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t.name)
                       for t in model.inputs]
        position = iter(flat_inputs)
        new_inputs = graph_map_structure(lambda _: next(position), model._inputs_struct)

    values = {id(t): new for t, new in zip(model.inputs, flat_inputs)}
    for node in model._nodes:
        if node.is_input:
            continue
        operation = node.operation
        # Layers are cloned; other graph operations hold no weights and are reused.
        new_op = clone_function(operation) if isinstance(operation, Layer) else operation
        args, kwargs = graph_map_structure(
            lambda v: values[id(v)] if isinstance(v, KerasTensor) else v,
            (node.call_args, node.call_kwargs))
        if call_function is not None:
            outputs = call_function(new_op, *args, **kwargs)
        else:
            outputs = new_op(*args, **kwargs)
        new_tensors = [x for x in graph_flatten(outputs) if isinstance(x, KerasTensor)]
        for old, new in zip(node.output_tensors, new_tensors):
            values[id(old)] = new
    new_outputs = graph_map_structure(lambda t: values[id(t)], model._outputs_struct)
    cls = type(model) if _takes_inputs_and_outputs(type(model)) else Functional
    clone = cls(new_inputs, new_outputs, name=model.name)
    _copy_compilation(model, clone)
    return clone


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model with the architecture of ``model`` and new layers (fresh weights).

    Args:
        model: a Functional or Sequential model (a subclassed model is cloned from its
            config, without the other arguments).
        input_tensors: KerasTensors (structured like ``model.input``) to build the
            clone on; default: new ``Input``s like the model's.
        clone_function: ``fn(layer) -> layer`` making each new layer (Input layers
            excepted); default: ``type(layer).from_config(layer.get_config())`` (a
            Lambda layer keeps its function objects). Configs are read outside safe
            mode: they come from the user's objects, not from a file.
            Return the layer itself to share it. Graph operations that are not
            layers (``x + y``, ``lamina.ops`` calls) hold no weights and are reused.
        call_function: ``fn(layer, *args, **kwargs) -> outputs`` calling each new layer
            on its inputs (default: ``layer(*args, **kwargs)``), e.g. to insert layers.
            Functional models only.
        recursive: clone nested Sequential/Functional models with ``clone_model``
            (same ``clone_function`` and ``call_function``) rather than with
            ``clone_function``.

    Returns:
        The clone; compiled like ``model`` when ``model`` is compiled.

    Raises:
        ValueError: an unknown keyword argument, ``call_function`` with a Sequential
            model, ``input_tensors`` that are not KerasTensors structured like the
            model's inputs, or ``clone_function``/``input_tensors``/``call_function``
            with a subclassed model.
    """
    cache = kwargs.pop("cache", None)
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs)}")
    # The configs a clone is made from are the user's own objects' in this process, not
    # a file's: safe mode (which refuses a Lambda's bytecode) does not apply. Keras
    # applies it, and fails to clone a model holding a Lambda of a lambda.
    with SafeModeScope(False):
        return _clone(model, input_tensors, clone_function, call_function, recursive,
                      {} if cache is None else cache)


def _clone(model, input_tensors, clone_function, call_function, recursive, cache):
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError("`call_function` is not supported with Sequential models (their "
                             "layers are listed, not called, at construction). Use it with "
                             f"Functional models only. Received model of type "
                             f"'{type(model).__name__}'.")
        clone = _caching_clone_function(clone_function, None, recursive, cache)
        return _clone_sequential(model, clone, input_tensors)
    if isinstance(model, Functional):
        default_config = type(model).get_config is Functional.get_config
        if default_config or clone_function is not None or input_tensors is not None:
            clone = _caching_clone_function(clone_function, call_function, recursive, cache)
            return _clone_functional(model, clone, input_tensors, call_function)
    if clone_function is not None or input_tensors is not None:
        raise ValueError("Arguments `clone_function` and `input_tensors` are only supported "
                         "for Sequential or Functional models. Received model of type "
                         f"'{type(model).__name__}'.")
    if call_function is not None:
        raise ValueError("Argument `call_function` is only supported for Functional models. "
                         f"Received model of type '{type(model).__name__}'.")
    return type(model).from_config(model.get_config())
