"""Saving and loading whole models (``.keras``) and weights (``.weights.h5``).

The ``.keras`` file is Keras 3's zip (:mod:`lamina.saving.archive`): ``metadata.json``
(``keras_version``, ``date_saved``), ``config.json`` (the model's
``serialize_keras_object`` plus its ``compile_config``) and ``model.weights.h5``
(:mod:`lamina.saving.weights_walk` over :mod:`lamina.saving.h5_store`). Files are
written atomically. Loading rebuilds the model from its config through the
allow-list only, in safe mode unless asked otherwise, recompiles it, builds the
optimizer and assigns every variable after checking its shape and dtype. Every
problem with a file raises ValueError.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import tempfile

from lamina.saving import archive, legacy_h5
from lamina.saving.atomic import atomic_write, atomic_write_bytes
from lamina.saving.h5_store import H5Reader, H5Writer
from lamina.saving.saveable import KerasSaveable
from lamina.saving.serialization import (
    CustomObjectScope,
    SafeModeScope,
    deserialize_keras_object,
    serialize_keras_object,
)
from lamina.saving.weights_walk import load_state, save_state, saveable_paths
from lamina.state import AllocationBudget

# The Keras version lamina's files declare: the format is Keras 3.15's.
KERAS_VERSION = "3.15.1"


def _path(filepath) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"Expected a file path (str or os.PathLike), received "
                        f"{type(filepath).__name__}.")
    return os.fspath(filepath)


def _check_model(model, what: str) -> None:
    from lamina.models.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"{what} expects a lamina Model, received {type(model).__name__}.")


def _may_write(path: str, overwrite: bool) -> bool:
    if overwrite or not os.path.exists(path):
        return True
    answer = input(f"[WARNING] {path} already exists - overwrite? [y/n] ").strip().lower()
    return answer in ("y", "yes")


def _weights_bytes(model) -> bytes:
    buffer = io.BytesIO()
    writer = H5Writer(buffer)
    try:
        save_state(model, writer)
    finally:
        writer.close()
    return buffer.getvalue()


def _collect_assets(model) -> dict[str, bytes]:
    """Runs every saveable object's ``save_assets`` in a scratch folder of its own
    (``<object path>``) and returns the files as archive members ``assets/...``."""
    members = {}
    with tempfile.TemporaryDirectory() as root:
        for path, obj in saveable_paths(model):
            if isinstance(obj, KerasSaveable):  # optimizers have no assets
                folder = os.path.join(root, path)
                os.makedirs(folder, exist_ok=True)
                obj.save_assets(folder)
        for folder, _, files in os.walk(root):
            for name in files:
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as f:
                    members[archive.ASSETS + relative] = f.read()
    return members


def _restore_assets(model, members: dict[str, bytes]) -> None:
    """Writes the archive's (checked) asset members into a scratch folder and calls
    ``load_assets`` on each object that has a folder of assets there."""
    assets = {k[len(archive.ASSETS):]: v for k, v in members.items()
              if k.startswith(archive.ASSETS)}
    if not assets:
        return
    with tempfile.TemporaryDirectory() as root:
        for relative, data in assets.items():
            full = os.path.join(root, *relative.split("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        for path, obj in saveable_paths(model):
            folder = os.path.join(root, path)
            if isinstance(obj, KerasSaveable) and os.path.isdir(folder):
                try:
                    obj.load_assets(folder)
                except (OSError, UnicodeDecodeError) as e:
                    raise ValueError(f"Could not load the assets of '{path}': {e}") from e


# -- whole models ----------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
    """Saves ``model`` to a ``.keras`` file (Keras 3's format).

    Args:
        model: the model.
        filepath: a path ending in ``.keras``.
        overwrite: whether to replace an existing file without asking.
        zipped: must be None or True (lamina writes zipped ``.keras`` files only).
    """
    _check_model(model, "save_model")
    path = _path(filepath)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {sorted(kwargs)}.")
    if zipped is False:
        raise NotImplementedError("Unzipped .keras folders (zipped=False) are not written by "
                                  "lamina; save with zipped=None or True.")
    if path.endswith(".weights.h5"):
        raise ValueError(f"To save weights only, use `model.save_weights({path!r})`; "
                         "`model.save` writes .keras files.")
    if path.endswith((".h5", ".hdf5")):
        raise NotImplementedError("Saving in the legacy Keras 2 HDF5 format (.h5) is not "
                                  "supported by lamina; save to a .keras file.")
    if not path.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving: {path!r}. Please add the "
                         "`.keras` extension.")
    if not _may_write(path, overwrite):
        return
    config = serialize_keras_object(model)
    config["compile_config"] = model._compile_config_for_saving()
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _weights_bytes(model)
    assets = _collect_assets(model)
    with atomic_write(path) as tmp:
        archive.write_archive(tmp, json.dumps(metadata), json.dumps(config), weights,
                              assets)


def _json(data: bytes, what: str):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"The {what} is not valid JSON: {e}") from e


def model_from_config(config, custom_objects=None, safe_mode: bool = True):
    """Builds the model a (``serialize_keras_object``) config describes; any problem
    with the config raises ValueError."""
    from lamina.models.model import Model

    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"A model config must be a dict with a 'class_name', received "
                         f"{type(config).__name__}.")
    config = {k: v for k, v in config.items() if k != "compile_config"}
    try:
        with SafeModeScope(safe_mode), CustomObjectScope(custom_objects):
            model = deserialize_keras_object(config, custom_objects=custom_objects)
    except ValueError:
        raise
    except Exception as e:  # a config that does not fit the classes it names
        raise ValueError(f"Could not rebuild the model from its config: "
                         f"{type(e).__name__}: {e}") from e
    if not isinstance(model, Model):
        raise ValueError(f"The config describes a {type(model).__name__}, not a model.")
    return model


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Loads a model saved as a ``.keras`` file (by lamina or Keras 3).

    Args:
        filepath: the path of the ``.keras`` file.
        custom_objects: name -> class/function for objects the config names that are
            not lamina's own or registered.
        compile: whether to compile the model from the saved compile config and restore
            the optimizer state.
        safe_mode: refuse Python bytecode in the config (a ``Lambda`` of a lambda
            function). Set False only for files you trust.
    """
    path = _path(filepath)
    if legacy_h5.is_legacy_h5(path):
        return legacy_h5.load_model_from_hdf5(path, custom_objects=custom_objects,
                                              compile=compile, safe_mode=safe_mode)
    if not path.endswith(".keras"):
        raise ValueError(f"File format not supported: filepath={path!r}. lamina loads "
                         "`.keras` files (Keras 3's format).")
    if not os.path.exists(path):
        raise ValueError(f"File not found: filepath={path!r}. Please ensure the file is an "
                         "accessible `.keras` zip file.")
    members = archive.read_archive(path)
    _json(members[archive.METADATA], "metadata.json member")
    config = _json(members[archive.CONFIG], "config.json member")
    # The variables a genuine file describes fit in the bytes of its weights: a config
    # declaring far larger ones is refused before they are allocated.
    budget = AllocationBudget.for_weights(len(members[archive.WEIGHTS]),
                                          f"the .keras file {path!r}")
    with budget:
        model = model_from_config(config, custom_objects, safe_mode)
    compile_config = config.get("compile_config")
    if compile and compile_config:
        try:
            with budget, SafeModeScope(safe_mode), CustomObjectScope(custom_objects):
                model.compile_from_config(compile_config, custom_objects=custom_objects)
        except ValueError:
            raise
        except Exception as e:
            raise ValueError(f"Could not compile the model from its compile_config: "
                             f"{type(e).__name__}: {e}") from e
    reader = H5Reader(archive.weights_file(members), "weights member of the .keras file")
    try:
        load_state(model, reader)
    finally:
        reader.close()
    _restore_assets(model, members)
    return model


def model_from_json(json_string, custom_objects=None):
    """Builds a model (without weights) from the output of ``model.to_json()``."""
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(f"model_from_json expects a JSON string, received "
                        f"{type(json_string).__name__}.")
    data = json_string.encode("utf-8") if isinstance(json_string, str) else json_string
    return model_from_config(_json(data, "model JSON"), custom_objects)


# -- weights -----------------------------------------------------------------------
def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None) -> None:
    """Saves the model's weights (and optimizer state) to a ``.weights.h5`` file."""
    _check_model(model, "save_weights")
    path = _path(filepath)
    if max_shard_size is not None:
        raise NotImplementedError("Sharded weight files (max_shard_size) are not written "
                                  "by lamina.")
    if not path.endswith(".weights.h5"):
        raise ValueError(f"The filename must end in `.weights.h5`. Received: "
                         f"filepath={path!r}")
    if not _may_write(path, overwrite):
        return
    atomic_write_bytes(path, _weights_bytes(model))


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """Loads weights from a ``.weights.h5`` file or the weights of a ``.keras`` file.

    Args:
        skip_mismatch: skip (with a warning) objects whose stored weights do not match
            their variables in number or shape, instead of raising ValueError.
    """
    _check_model(model, "load_weights")
    path = _path(filepath)
    if legacy_h5.is_legacy_h5(path):  # Keras 2's load_weights also matched layers by_name
        by_name = kwargs.pop("by_name", False)
        if kwargs:
            raise ValueError(f"Invalid keyword arguments: {sorted(kwargs)}.")
        legacy_h5.load_weights_from_hdf5(model, path, by_name=by_name,
                                         skip_mismatch=skip_mismatch)
        return
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {sorted(kwargs)}.")
    if path.endswith(".keras"):
        members = archive.read_archive(path)
        source, what = archive.weights_file(members), "weights member of the .keras file"
    elif path.endswith(".weights.h5"):
        if not os.path.exists(path):
            raise ValueError(f"File not found: filepath={path!r}.")
        source, what = path, "weights file"
    else:
        raise ValueError(f"File format not supported: filepath={path!r}. lamina loads "
                         "`.weights.h5` and `.keras` files.")
    reader = H5Reader(source, what)
    try:
        load_state(model, reader, skip_mismatch=skip_mismatch)
    finally:
        reader.close()
