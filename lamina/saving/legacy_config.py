"""Legacy model and training configs (Keras 2 / tf.keras HDF5 files) in lamina's schema.

Two dialects reach this module: genuine Keras 2 configs (``inbound_nodes`` as lists of
``[layer, node_index, tensor_index, kwargs]``, ``batch_input_shape``, dtype strings or
``Policy`` dicts, tf.keras-only arguments such as ``time_major``) and the configs Keras 3's
legacy writer puts in ``.h5`` files (Keras 3 layer configs without ``module`` keys).
Both are rewritten into the Keras 3 structure lamina's ``from_config`` reads; classes are
then found only through lamina's registry (``deserialize_keras_object``), never by
importing a module the file names.

A ``Lambda`` layer in such a file carries marshalled Python bytecode; it is rewritten as
Keras 3's ``__lambda__`` record, which ``Lambda.from_config`` refuses in safe mode
(:mod:`lamina.saving.lambda_code`).
"""

from __future__ import annotations

import re

_MODEL_CLASSES = ("Functional", "Model", "Sequential")
_RNN_CLASSES = ("RNN", "LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell")
# A class name may be a plain name or a registered "package>name"; nothing else.
_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(>[A-Za-z_][A-Za-z0-9_.]*)?$")
# tf.keras layers wrapping TensorFlow ops; lamina has no TensorFlow to run them.
_TF_OP_LAYERS = ("TFOpLambda", "SlicingOpLambda", "TensorFlowOpLayer")


def convert_model_config(config) -> dict:
    """Rewrites a legacy ``model_config`` (``{"class_name", "config"}``) into the Keras 3
    structure lamina's ``deserialize_keras_object`` rebuilds.

    Args:
        config: the decoded JSON of the file's ``model_config`` attribute.

    Raises:
        ValueError: the config is malformed or uses what lamina cannot build.
    """
    if not isinstance(config, dict) or config.get("class_name") not in _MODEL_CLASSES:
        received = config.get("class_name") if isinstance(config, dict) else type(config)
        raise ValueError("A legacy model_config must be a dict whose class_name is one of "
                         f"{list(_MODEL_CLASSES)}; received {received!r}.")
    return _layer(config, nested=True)


def _layer(entry, nested: bool = False) -> dict:
    """One serialized layer (or model) entry, converted."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"Expected a layer entry with a class_name, received {entry!r:.200}.")
    class_name = entry["class_name"]
    if not _CLASS_NAME.match(class_name):
        raise ValueError(f"Invalid class name {class_name!r} in the legacy config: "
                         "expected a class name such as 'Dense'.")
    if class_name in _TF_OP_LAYERS:
        raise ValueError(f"Layer {entry.get('name')!r} is a tf.keras {class_name} (a "
                         "TensorFlow op inside the model); lamina cannot run TensorFlow "
                         "ops. Rebuild that part of the model with lamina.ops.")
    config = entry.get("config")
    if class_name in _MODEL_CLASSES:
        out = {"class_name": "Sequential" if class_name == "Sequential" else "Functional",
               "config": _model(class_name, config)}
    else:
        if not isinstance(config, dict):
            raise ValueError(f"Layer {entry.get('name')!r} ({class_name}): expected a "
                             f"config dict, received {type(config).__name__}.")
        out = {"class_name": class_name, "config": _layer_config(class_name, config)}
    for key in ("module", "registered_name"):
        if key in entry:
            out[key] = entry[key]
    if not nested or "inbound_nodes" in entry:
        out["name"] = entry.get("name", out["config"].get("name"))
    if "inbound_nodes" in entry:
        out["inbound_nodes"] = entry["inbound_nodes"]
    return out


def _model(class_name: str, config) -> dict:
    if class_name == "Sequential" and isinstance(config, list):
        config = {"layers": config}  # Keras <= 2.2 wrote a bare list of layers
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(f"A {class_name} config must be a dict with a 'layers' list.")
    out = {k: v for k, v in config.items() if k not in ("layers", "dtype")}
    if class_name == "Sequential":
        out["layers"] = [_layer(e, nested=True) for e in config["layers"]]
        return out
    names = set()
    for e in config["layers"]:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            raise ValueError(f"Every layer entry of a functional config needs a name; "
                             f"received {e!r:.200}.")
        names.add(e["name"])
    layers = []
    for e in config["layers"]:
        converted = _layer(e)
        converted["inbound_nodes"] = [_node(n, names, e["name"])
                                      for n in e.get("inbound_nodes") or []]
        layers.append(converted)
    out["layers"] = layers
    for key in ("input_layers", "output_layers"):
        out[key] = _io_layers(config.get(key), names, key)
    return out


def _layer_config(class_name: str, config: dict) -> dict:
    config = dict(config)
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = _policy_name(config["dtype"])
    for key, value in config.items():
        if key.endswith("_initializer") and isinstance(value, dict):
            config[key] = _initializer(value)
        elif key in _NESTED_LAYER_KEYS and isinstance(value, dict):
            config[key] = _layer(value, nested=True)
        elif key == "cells" and isinstance(value, list):
            config[key] = [_layer(v, nested=True) for v in value]
    if class_name in _RNN_CLASSES:
        if config.pop("time_major", False):
            raise ValueError(f"Layer {config.get('name')!r} ({class_name}) was saved with "
                             "time_major=True, which lamina does not support.")
    elif class_name == "BatchNormalization":
        _batch_normalization(config)
    elif class_name == "Lambda":
        _lambda_config(config)
    return config


def _lambda_config(config: dict) -> None:
    """tf.keras's Lambda config -> Keras 3's: bytecode becomes a ``__lambda__`` record and a
    named function a ``function`` record; ``Lambda.from_config`` loads the former only
    outside safe mode and resolves the latter through the registry."""
    name = config.get("name")
    function_type = config.pop("function_type", None)
    output_shape_type = config.pop("output_shape_type", None)
    config.pop("module", None)
    config.pop("output_shape_module", None)
    config["function"] = _function_record(config.get("function"), function_type, name)
    if output_shape_type in ("lambda", "function"):
        config["output_shape"] = _function_record(config.get("output_shape"),
                                                  output_shape_type, name)


def _function_record(value, function_type, layer_name):
    if function_type == "lambda":
        if isinstance(value, (list, tuple)) and len(value) == 3:
            code, defaults, closure = value
        else:
            code, defaults, closure = value, None, None
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": defaults, "closure": closure}}
    if function_type == "function":
        if not isinstance(value, str):
            raise ValueError(f"Lambda layer {layer_name!r}: a named function must be saved as "
                             f"its name, received {value!r:.200}.")
        return {"class_name": "function", "config": value}
    return value  # already Keras 3's form


# -- pieces of layer configs -----------------------------------------------------------

def _policy_name(dtype: dict):
    """tf.keras's ``Policy`` / Keras 3's ``DTypePolicy`` dict -> the policy's name."""
    inner = dtype.get("config")
    if dtype.get("class_name") in ("Policy", "DTypePolicy", "FloatDTypePolicy") and isinstance(
            inner, dict) and isinstance(inner.get("name"), str):
        return inner["name"]
    return dtype  # lamina's dtype_policy.get reports what it cannot read


def _initializer(value: dict) -> dict:
    """tf.keras initializer configs carried a ``dtype``; old Keras wrote "normal" for
    VarianceScaling's truncated normal distribution."""
    config = value.get("config")
    if not isinstance(config, dict):
        return value
    config = {k: v for k, v in config.items() if k != "dtype"}
    if value.get("class_name") == "VarianceScaling" and config.get("distribution") == "normal":
        config["distribution"] = "truncated_normal"
    return {**value, "config": config}


def _batch_normalization(config: dict) -> None:
    """tf.keras wrote the axis as a list after build and had TF-only arguments."""
    axis = config.get("axis")
    if isinstance(axis, list):
        if len(axis) != 1:
            raise ValueError(f"BatchNormalization {config.get('name')!r}: lamina normalizes "
                             f"over one axis, the file gives axis={axis}.")
        config["axis"] = axis[0]
    config.pop("fused", None)
    for key in ("virtual_batch_size", "adjustment"):
        if config.pop(key, None) is not None:
            raise ValueError(f"BatchNormalization {config.get('name')!r} uses tf.keras's "
                             f"{key}, which lamina does not support.")


# -- the graph: inbound nodes and model inputs/outputs ---------------------------------

def _tensor(history) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"keras_history": list(history)}}


def _is_ref(value, names) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and value[0] in names and isinstance(value[1], int)
            and isinstance(value[2], int))


def _kwarg(value, names):
    """Keras 2 wrote tensors among call kwargs (e.g. ``initial_state``) as triples."""
    if _is_ref(value, names):
        return _tensor(value)
    if isinstance(value, list):
        return [_kwarg(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _kwarg(v, names) for k, v in value.items()}
    return value


def _node(node, names: set, layer_name: str) -> dict:
    """One call of a layer, Keras 2's ``[[layer, node, tensor, kwargs], ...]`` -> args/kwargs."""
    if isinstance(node, dict) and "args" in node:
        return node  # already Keras 3's form (Keras 3's legacy writer)
    if not isinstance(node, list) or not node:
        raise ValueError(f"Layer {layer_name!r}: malformed inbound node {node!r:.200}.")
    tensors, kwargs = [], {}
    for item in node:
        if not (isinstance(item, list) and len(item) in (3, 4) and _is_ref(item[:3], names)):
            raise ValueError(f"Layer {layer_name!r}: inbound node entry {item!r:.200} does not "
                             "name a layer of the model as [layer, node_index, tensor_index, "
                             "kwargs].")
        tensors.append(_tensor(item[:3]))
        if len(item) == 4:
            if not isinstance(item[3], dict):
                raise ValueError(f"Layer {layer_name!r}: call kwargs must be a dict, received "
                                 f"{item[3]!r:.200}.")
            kwargs = item[3]
    args = [tensors[0]] if len(tensors) == 1 else [tensors]
    return {"args": args, "kwargs": {k: _kwarg(v, names) for k, v in kwargs.items()}}


def _io_layers(value, names: set, key: str):
    if isinstance(value, dict):
        return {k: _io_layers(v, names, key) for k, v in value.items()}
    if _is_ref(value, names):
        return value
    if isinstance(value, list) and value and all(_is_ref(v, names) for v in value):
        # Keras 2 always wrote lists; a single input or output is a bare tensor in Keras 3.
        return value[0] if len(value) == 1 else value
    raise ValueError(f"Malformed {key} in the legacy config: expected [layer_name, "
                     f"node_index, tensor_index] entries naming layers, received "
                     f"{value!r:.200}.")


# -- training config ---------------------------------------------------------------------

def convert_training_config(training_config) -> dict:
    """A legacy ``training_config`` -> ``compile`` keyword arguments (configs, not objects).

    The optimizer config loses tf.keras-only keys; Keras 2's time-based ``decay`` becomes
    the InverseTimeDecay schedule it computed (``lr / (1 + decay * iterations)``).
    """
    if not isinstance(training_config, dict):
        raise ValueError("The training_config must be a JSON object, received "
                         f"{type(training_config).__name__}.")
    args = {"optimizer": _optimizer(training_config.get("optimizer_config"))}
    if "loss" in training_config:
        args["loss"] = _map_objects(training_config["loss"], _loss)
    for key in ("metrics", "weighted_metrics"):
        if training_config.get(key) is not None:
            args[key] = _map_objects(training_config[key], _metric)
    if training_config.get("loss_weights") is not None:
        args["loss_weights"] = training_config["loss_weights"]
    return args


def _map_objects(value, convert):
    if isinstance(value, list):
        return [_map_objects(v, convert) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _map_objects(v, convert) for k, v in value.items()}
    return convert(value)


def _loss(value):
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        config = dict(value["config"])
        if config.get("reduction") == "auto":
            config["reduction"] = "sum_over_batch_size"
        return {**value, "config": config}
    return value


def _metric(value):
    # tf.keras wrapped function metrics as MeanMetricWrapper(fn=<name>): the name is the metric.
    if (isinstance(value, dict) and value.get("class_name") == "MeanMetricWrapper"
            and isinstance((value.get("config") or {}).get("fn"), str)):
        return value["config"]["fn"]
    return value


def _optimizer(value):
    if not isinstance(value, dict) or not isinstance(value.get("config"), dict):
        raise ValueError(f"The training_config's optimizer_config must be a dict with a config, "
                         f"received {value!r:.200}.")
    class_name = value.get("class_name")
    if isinstance(class_name, str) and class_name.startswith("Custom>"):
        class_name = class_name[len("Custom>"):]  # tf 2.11+ registered its own optimizers so
    config = dict(value["config"])
    for key in ("is_legacy_optimizer", "jit_compile"):
        config.pop(key, None)
    if "lr" in config:
        config["learning_rate"] = config.pop("lr")
    decay = config.pop("decay", 0.0)
    if decay:
        config["learning_rate"] = {"class_name": "InverseTimeDecay", "config": {
            "initial_learning_rate": config.get("learning_rate", 0.001), "decay_steps": 1,
            "decay_rate": decay, "staircase": False}}
    return {"class_name": class_name, "config": config}
