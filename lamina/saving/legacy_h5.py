"""Loading legacy Keras 2 / tf.keras HDF5 files: whole models (``.h5``) and weights.

A legacy whole-model file holds a JSON ``model_config`` attribute, an optional JSON
``training_config`` attribute, a ``model_weights`` group and an optional
``optimizer_weights`` group. A weights group (``model_weights``, or the file root of
a weights-only file) lists its layers in the ``layer_names`` attribute; each layer's
group lists its weights in the ``weight_names`` attribute, in the layer's
``trainable_weights + non_trainable_weights`` order, and keeps each weight as a
dataset at that name.

Nothing in a file is trusted: the whole HDF5 tree is checked before anything is read
(no soft or external links, virtual datasets or external storage, numeric dtypes,
declared sizes the stored bytes can hold; :mod:`lamina.saving.h5_store`), classes
resolve only through lamina's registry (:mod:`lamina.saving.legacy_config` rewrites
the config into Keras 3's schema first), Lambda bytecode is refused in safe mode
(:mod:`lamina.saving.lambda_code`), and every weight's shape is checked against the
variable it goes to. Problems raise ValueError naming them.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings

import h5py
import numpy as np

from lamina.saving import h5_store
from lamina.saving.legacy_config import convert_model_config, convert_training_config
from lamina.saving.serialization import (
    CustomObjectScope,
    SafeModeScope,
    deserialize_keras_object,
)
from lamina.state import AllocationBudget


def is_legacy_h5(filepath) -> bool:
    """Whether ``filepath`` names a legacy HDF5 file (``.h5``/``.hdf5``, not Keras 3's
    ``.weights.h5``)."""
    name = os.fspath(filepath) if isinstance(filepath, os.PathLike) else filepath
    return (isinstance(name, str) and name.endswith((".h5", ".hdf5"))
            and not name.endswith(".weights.h5"))


def load_model_from_hdf5(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds a model saved by Keras 2 / tf.keras (or Keras 3's legacy ``.h5`` writer).

    Args:
        filepath: path of the ``.h5`` file.
        custom_objects: dict of names to the classes/functions the file refers to
            beyond lamina's own.
        compile: whether to compile the model from the file's training config. The
            optimizer state is restored when its layout matches lamina's optimizer
            variables (files written by Keras 3); otherwise it is skipped with a
            warning.
        safe_mode: refuse Lambda layers holding Python bytecode (default). False, or
            ``lamina.config.enable_unsafe_deserialization()``, allows them.

    Returns:
        The model, compiled when ``compile`` and the file has a training config.
    """
    custom_objects = dict(custom_objects or {})
    with _file_errors(filepath), _open(filepath) as f:
        model_config = _json_attr(f, "model_config", filepath)
        if model_config is None:
            raise ValueError(f"No model config found in the file at {filepath}: it is not a "
                             "whole-model HDF5 file (load weights with model.load_weights).")
        converted = convert_model_config(model_config)
        budget = AllocationBudget.for_weights(os.path.getsize(filepath),
                                              f"the HDF5 file {filepath!r}")
        try:
            with budget, SafeModeScope(safe_mode), CustomObjectScope(custom_objects):
                model = deserialize_keras_object(converted, custom_objects=custom_objects)
        except ValueError:
            raise
        except Exception as e:  # a config that does not fit the classes it names
            raise ValueError(f"Could not rebuild the model saved in {filepath}: "
                             f"{type(e).__name__}: {e}") from e
        _load_all(_group(f, "model_weights", filepath), model, match_names=True)
        training_config = _json_attr(f, "training_config", filepath)
        if compile and training_config is not None:
            _compile(model, training_config, custom_objects, filepath)
            if "optimizer_weights" in f:
                _load_optimizer_weights(_group(f, "optimizer_weights", filepath), model)
        elif compile:
            warnings.warn(f"No training configuration found in {filepath}: the model was "
                          "not compiled. Compile it manually.", stacklevel=2)
    return model


def load_weights_from_hdf5(model, filepath, by_name=False, skip_mismatch=False) -> None:
    """Loads a legacy weights-only (or whole-model) HDF5 file into ``model``.

    Args:
        model: a built model.
        filepath: path of the ``.h5`` file.
        by_name: match the file's layers to the model's by name instead of by the
            order of the layers that have weights.
        skip_mismatch: with ``by_name``, skip (with a warning) layers whose number of
            weights differs and weights whose shape differs, instead of raising.
    """
    if skip_mismatch and not by_name:
        raise ValueError("skip_mismatch=True requires by_name=True when loading a legacy "
                         "HDF5 weights file.")
    with _file_errors(filepath), _open(filepath) as f:
        group = _group(f, "model_weights", filepath) if "layer_names" not in f.attrs else f
        if by_name:
            _load_by_name(group, model, skip_mismatch)
        else:
            _load_all(group, model, match_names=False)


# -- reading the file ---------------------------------------------------------------

@contextlib.contextmanager
def _file_errors(filepath):
    """A corrupt file makes h5py raise OSError, RuntimeError or KeyError at any read (and
    a damaged config anything): all of them are a bad file, a ValueError naming it."""
    try:
        yield
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"Could not load the HDF5 file {filepath}: {type(e).__name__}: "
                         f"{e}") from e


def _open(filepath) -> h5py.File:
    try:
        f = h5py.File(filepath, "r")
    except Exception as e:  # OSError; OverflowError and others on corrupt superblocks
        raise ValueError(f"{filepath} is not a readable HDF5 file: {type(e).__name__}: "
                         f"{e}") from e
    try:
        h5_store.check_h5_file(f)
    except ValueError:
        f.close()
        raise
    except Exception as e:  # h5py raises KeyError/RuntimeError on corrupt headers
        f.close()
        raise ValueError(f"The HDF5 file {filepath} is corrupt: {e}") from e
    return f


def _json_attr(f, name: str, filepath):
    value = f.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise ValueError(f"The {name} attribute of {filepath} must be a JSON string, "
                         f"received {type(value).__name__}.")
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise ValueError(f"The {name} attribute of {filepath} is not valid JSON: {e}") from e


def _strings_attr(obj, name: str) -> list[str]:
    """A list-of-strings attribute (``layer_names``, ``weight_names``)."""
    value = obj.attrs.get(name)
    if value is None:
        raise ValueError(f"'{obj.name}' in the HDF5 file has no '{name}' attribute.")
    value = np.asarray(value)
    if value.size == 0:
        return []
    if value.ndim != 1 or value.dtype.kind not in "OSU":
        raise ValueError(f"The '{name}' attribute of '{obj.name}' must be a list of strings, "
                         f"received dtype {value.dtype} and shape {value.shape}.")
    out = [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in value]
    if not all(isinstance(v, str) and v for v in out):
        raise ValueError(f"The '{name}' attribute of '{obj.name}' must hold non-empty strings.")
    return out


def _group(parent, name: str, where) -> h5py.Group:
    obj = parent.get(name)
    if not isinstance(obj, h5py.Group):
        raise ValueError(f"{where}: expected an HDF5 group '{name}' under '{parent.name}', "
                         f"found {'nothing' if obj is None else type(obj).__name__}.")
    return obj


def _saved_layers(group) -> list[tuple[str, list[str], h5py.Group]]:
    """The file's layers that have weights: (name, weight names, group)."""
    out = []
    for name in _strings_attr(group, "layer_names"):
        layer_group = _group(group, name, "The weights file")
        weight_names = _strings_attr(layer_group, "weight_names")
        if weight_names:
            out.append((name, weight_names, layer_group))
    return out


def _read(layer_group, weight_name: str) -> h5py.Dataset:
    dset = layer_group.get(weight_name)
    if not isinstance(dset, h5py.Dataset):
        raise ValueError(f"The weights file lists weight '{weight_name}' in "
                         f"'{layer_group.name}' but holds no dataset there.")
    return dset


# -- matching weights to variables -------------------------------------------------

def _layer_variables(layer) -> list:
    """A layer's variables in the order legacy files list them (trainable first)."""
    out, seen = [], set()
    for v in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _assign(pairs) -> None:
    """Reads every dataset before assigning any, so a failed load changes nothing."""
    values = []
    for dset, _ in pairs:
        try:
            values.append(np.asarray(dset[()]))
        except (OSError, RuntimeError, KeyError, ValueError) as e:
            raise ValueError(f"Could not read '{dset.name}' from the weights file: {e}") from e
    for (_, var), value in zip(pairs, values):
        var.assign(value.astype(var.dtype, copy=False))


def _own_variables(model) -> list:
    """Variables of the model that belong to none of its layers."""
    in_layers = {id(v) for layer in model.layers for v in layer.weights}
    return [v for v in _layer_variables(model) if id(v) not in in_layers]


def _load_all(group, model, match_names: bool) -> None:
    """Loads every layer with weights: paired with the file's layers in order, or by name
    (a whole-model file, whose layer names come from the same config)."""
    layers = [layer for layer in model.layers if _layer_variables(layer)]
    saved = [s for s in _saved_layers(group) if s[0] != "top_level_model_weights"]
    if len(saved) != len(layers):
        raise ValueError(f"The weights file holds {len(saved)} layers with weights "
                         f"({[s[0] for s in saved]}), but the model has {len(layers)} "
                         f"({[layer.name for layer in layers]}). Load by_name=True to match "
                         "layers by name.")
    if match_names:
        by_name = {s[0]: s for s in saved}
        missing = [layer.name for layer in layers if layer.name not in by_name]
        if missing:
            raise ValueError(f"The file holds no weights for layers {missing} of the model.")
        saved = [by_name[layer.name] for layer in layers]
    pairs = []
    for layer, (name, weight_names, layer_group) in zip(layers, saved):
        pairs += _layer_pairs(layer, name, weight_names, layer_group, skip_mismatch=False)
    pairs += _top_level_pairs(group, model)
    _assign(pairs)


def _layer_pairs(layer, saved_name, weight_names, layer_group, skip_mismatch,
                 variables=None):
    """(dataset, variable) pairs of one layer (``variables``: the layer's by default)."""
    variables = _layer_variables(layer) if variables is None else variables
    if len(variables) != len(weight_names):
        message = (f"Layer '{layer.name}' expects {len(variables)} weights, but the saved "
                   f"weights of layer '{saved_name}' are {len(weight_names)} "
                   f"({weight_names}).")
        if skip_mismatch:
            warnings.warn(f"Skipping loading of weights for layer '{layer.name}': {message}",
                          stacklevel=4)
            return []
        raise ValueError(message)
    pairs = []
    for var, weight_name in zip(variables, weight_names):
        dset = _read(layer_group, weight_name)
        if tuple(dset.shape) != tuple(var.shape):
            if skip_mismatch:
                warnings.warn(f"Skipping loading weight '{var.path}' of layer '{layer.name}' "
                              f"due to mismatch in shape: {tuple(var.shape)} vs "
                              f"{tuple(dset.shape)} in the file.", stacklevel=4)
                continue
            raise ValueError(f"Layer '{layer.name}': weight '{var.path}' has shape "
                             f"{tuple(var.shape)}, but the file's '{dset.name}' has shape "
                             f"{tuple(dset.shape)}.")
        pairs.append((dset, var))
    return pairs


def _top_level_pairs(group, model) -> list:
    """Keras 3's legacy writer keeps the model's own variables in a pseudo-layer."""
    names = []
    if "top_level_model_weights" in group:
        names = _strings_attr(_group(group, "top_level_model_weights", "The weights file"),
                              "weight_names")
    own = _own_variables(model)
    if len(names) != len(own):
        raise ValueError(f"The model has {len(own)} variables outside its layers, the weights "
                         f"file {len(names)}.")
    if not names:
        return []
    return _layer_pairs(model, "top_level_model_weights", names,
                        group["top_level_model_weights"], skip_mismatch=False, variables=own)


def _load_by_name(group, model, skip_mismatch: bool) -> None:
    by_name: dict = {}
    for layer in model.layers:
        by_name.setdefault(layer.name, []).append(layer)
    pairs = []
    for name, weight_names, layer_group in _saved_layers(group):
        for layer in by_name.get(name, []):
            pairs += _layer_pairs(layer, name, weight_names, layer_group, skip_mismatch)
    _assign(pairs)


# -- compiling ------------------------------------------------------------------------

def _compile(model, training_config, custom_objects, filepath) -> None:
    args = convert_training_config(training_config)
    try:
        args["optimizer"] = deserialize_keras_object(args["optimizer"],
                                                     custom_objects=custom_objects)
        for key in ("loss", "metrics", "weighted_metrics"):
            if key in args:
                args[key] = _objects(args[key], custom_objects)
        model.compile(**args)
    except (TypeError, KeyError) as e:
        raise ValueError(f"Could not compile the model from the training_config of "
                         f"{filepath}: {type(e).__name__}: {e}") from e


def _objects(value, custom_objects):
    """Loss and metric entries: names stay names (compile resolves them), configs become
    objects."""
    if isinstance(value, list):
        return [_objects(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _objects(v, custom_objects) for k, v in value.items()}
    if isinstance(value, dict):
        return deserialize_keras_object(value, custom_objects=custom_objects)
    return value


def _load_optimizer_weights(group, model) -> None:
    """Restores the optimizer state when the file's variables line up with lamina's (the
    layout Keras 3 writes); tf.keras's slot layout is skipped with a warning."""
    names = _strings_attr(group, "weight_names")
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    datasets = [_read(group, n) for n in names]
    if len(datasets) != len(variables) or any(
            tuple(d.shape) != tuple(v.shape) for d, v in zip(datasets, variables)):
        warnings.warn(
            f"The optimizer state in the file ({len(names)} variables: {names[:3]}...) does "
            f"not match the layout of lamina's {type(optimizer).__name__} ({len(variables)} "
            "variables); the optimizer starts from a fresh state.", stacklevel=3)
        return
    _assign(list(zip(datasets, variables)))
