"""A functional model's config in Keras 3's JSON structure, and rebuilding from it.

Each layer entry carries its ``inbound_nodes``: the arguments of every call of
the layer inside the model, with KerasTensors written as ``__keras_tensor__``
records naming the producing layer, node index and tensor index.

Operations (``ops.mean``, ``x + y``; see :mod:`lamina.ops.operation`) have entries
of the same shape, in the graph's order among the layers, with their non-tensor
arguments inline (slices and Ellipsis as Keras's ``__slice__``/``__ellipsis__``
records). Rebuilding finds their classes in the fixed table ``OPERATIONS`` by Keras
module and class name.
"""

from __future__ import annotations

from lamina.graph import KerasTensor, flatten
from lamina.layers.input_layer import InputLayer
from lamina.ops.operation import Operation, from_json, get_operation_class, to_json
from lamina.saving.serialization import (
    CustomObjectScope,
    deserialize_keras_object,
    serialize_keras_object,
)

# The records of non-tensor call arguments Keras writes (NumPy arrays, slices, ...).
_ARGUMENT_RECORDS = ("__numpy__", "__slice__", "__ellipsis__", "__tuple__")


def _first_call_index(layer) -> int:
    """The node index Keras gives a layer's first call: 1 for a functional model (not a
    Sequential), whose node 0 in Keras is its own construction; 0 otherwise."""
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    return int(isinstance(layer, Functional) and not isinstance(layer, Sequential))


def _node_index_in_model(model, layer, node) -> int:
    """The index of ``node`` among the calls of ``layer`` that belong to ``model``, as
    Keras numbers them."""
    own = [n for n in layer._inbound_nodes if id(n) in model._node_set]
    index = next(i for i, n in enumerate(own) if n is node)
    return index + (_first_call_index(layer) if not node.is_input else 0)


def _history(model, t: KerasTensor) -> list:
    layer, node_index, tensor_index = t._keras_history
    node = layer._inbound_nodes[node_index]
    return [layer.name, _node_index_in_model(model, layer, node), tensor_index]


def _serialize_arg(model, value):
    if isinstance(value, KerasTensor):
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(value.shape), "dtype": value.dtype,
                           "keras_history": _history(model, value)}}
    if isinstance(value, (list, tuple)):
        return [_serialize_arg(model, v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_arg(model, v) for k, v in value.items()}
    return to_json(value)


def _io_config(model, structure):
    """The model's inputs or outputs as Keras writes them: each tensor's history, in
    the same (possibly nested) dict/list structure."""
    if isinstance(structure, dict):
        return {k: _io_config(model, t) for k, t in structure.items()}
    if isinstance(structure, KerasTensor):
        return _history(model, structure)
    return [_io_config(model, t) for t in structure]


def functional_config(model) -> dict:
    layers = []
    for layer in model._operations:
        entry = serialize_keras_object(layer)
        if isinstance(layer, Operation):
            entry["registered_name"] = entry["class_name"]
        if isinstance(layer, InputLayer):
            entry.pop("build_config", None)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": _serialize_arg(model, node.call_args),
             "kwargs": _serialize_arg(model, node.call_kwargs)}
            for node in layer._inbound_nodes
            if id(node) in model._node_set and not node.is_input
        ]
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": _io_config(model, model._inputs_struct),
            "output_layers": _io_config(model, model._outputs_struct)}


def _is_history(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def functional_from_config(cls, config: dict, custom_objects=None):
    """Rebuilds a functional model by re-running its layer calls in dependency order."""
    created = {}
    for entry in config["layers"]:
        op_class = get_operation_class(entry.get("module"), entry.get("class_name"))
        if op_class is not None:
            layer = op_class.from_config(entry.get("config") or {})
        else:
            layer_conf = {k: v for k, v in entry.items() if k not in ("inbound_nodes", "name")}
            with CustomObjectScope(custom_objects):
                layer = deserialize_keras_object(layer_conf, custom_objects=custom_objects)
        created[entry["name"]] = layer
    # outputs[(layer_name, node_index)] -> list of output KerasTensors of that call
    outputs: dict = {}
    for name, layer in created.items():
        if isinstance(layer, InputLayer):
            outputs[(name, 0)] = [layer.output_tensor]

    def resolve(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            layer_name, node_index, tensor_index = value["config"]["keras_history"]
            return outputs[(layer_name, node_index)][tensor_index]
        if isinstance(value, dict) and value.get("class_name") in _ARGUMENT_RECORDS:
            return from_json(value)  # an operation's constant argument
        if isinstance(value, (list, tuple)):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    def ready(value) -> bool:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            layer_name, node_index, _ = value["config"]["keras_history"]
            return (layer_name, node_index) in outputs
        if isinstance(value, (list, tuple)):
            return all(ready(v) for v in value)
        if isinstance(value, dict):
            return all(ready(v) for v in value.values())
        return True

    pending = [(entry["name"], i + _first_call_index(created[entry["name"]]), node)
               for entry in config["layers"]
               for i, node in enumerate(entry.get("inbound_nodes", []))]
    while pending:
        progressed = False
        for item in list(pending):
            name, index, node = item
            if (name, index - 1) not in outputs and index > _first_call_index(created[name]):
                continue  # a layer's calls are replayed in their original order
            if not (ready(node["args"]) and ready(node["kwargs"])):
                continue
            args = resolve(node["args"])
            kwargs = {k: resolve(v) for k, v in node["kwargs"].items()}
            out = created[name](*args, **kwargs)
            outputs[(name, index)] = flatten(out)
            pending.remove(item)
            progressed = True
        if not progressed:
            missing = sorted({p[0] for p in pending})
            raise ValueError(f"Could not rebuild the model graph: the inputs of layers {missing} "
                             "are never produced.")

    def io(structure):
        if isinstance(structure, dict):
            return {k: io(v) for k, v in structure.items()}
        if _is_history(structure):
            return outputs[(structure[0], structure[1])][structure[2]]
        return [io(v) for v in structure]

    return cls(io(config["input_layers"]), io(config["output_layers"]),
               name=config.get("name"), trainable=config.get("trainable", True))
