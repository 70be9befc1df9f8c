"""Keras-3-compatible object serialization: objects to JSON-able dicts and back.

A serialized object is ``{"module": "keras.layers", "class_name": "Dense",
"config": {...}, "registered_name": None}`` exactly as Keras 3 writes it, so
configs move between lamina and Keras. Deserialization resolves names only through
an allow-list (:mod:`lamina.saving.allow_list`: lamina's public classes of the
configurable kinds and its built-in functions), the objects the user registered
with :func:`register_keras_serializable` and the ``custom_objects`` passed in: a
config can never make lamina import a module or run code. Python bytecode in a
config (a ``Lambda`` of a lambda function) is refused in safe mode (see
:class:`SafeModeScope`).
"""

from __future__ import annotations

import threading
import types
from typing import Any

import numpy as np

from lamina.saving.allow_list import builtin_functions, find_builtin_class
from lamina.saving.saveable import KerasSaveable

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_scope = threading.local()


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Registers a class or function so configs naming ``"package>name"`` can find it."""
    if package and ">" in package:
        raise ValueError(f"package must not contain '>', received {package!r}")

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register {obj.__name__}: classes registered for serialization "
                "must define get_config()."
            )
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name, custom_objects=None, module_objects=None):
    for table in (_current_custom_objects(), custom_objects or {}, _GLOBAL_CUSTOM_OBJECTS,
                  module_objects or {}):
        if name in table:
            return table[name]
    return None


def get_custom_objects() -> dict:
    """The global dict of registered custom objects (mutable, as in Keras)."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """Within this scope, configs may name the given custom objects."""

    def __init__(self, custom_objects: dict | None):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        stack = getattr(_scope, "stack", [])
        _scope.stack = stack + [self.custom_objects]
        return self

    def __exit__(self, *exc):
        _scope.stack = _scope.stack[:-1]


custom_object_scope = CustomObjectScope


def _current_custom_objects() -> dict:
    merged: dict = {}
    for objs in getattr(_scope, "stack", []):
        merged.update(objs)
    return merged


def _keras_module_of(obj) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return getattr(cls, "_keras_module", "keras")


class SafeModeScope:
    """Within this scope, deserialization is in safe mode (``safe_mode=True``: Python
    bytecode in a config is refused) or not. ``lamina.config.enable_unsafe_deserialization()``
    turns safe mode off everywhere."""

    def __init__(self, safe_mode: bool = True):
        self.safe_mode = bool(safe_mode)

    def __enter__(self):
        _scope.safe_modes = getattr(_scope, "safe_modes", []) + [self.safe_mode]
        return self

    def __exit__(self, *exc):
        _scope.safe_modes = _scope.safe_modes[:-1]


def in_safe_mode() -> bool:
    """Whether deserializing now must refuse code (the default: yes)."""
    from lamina import config  # noqa: PLC0415 - config imports nothing of saving

    if config.unsafe_deserialization_enabled():
        return False
    modes = getattr(_scope, "safe_modes", [])
    return modes[-1] if modes else True


def deserializing_in_safe_mode() -> bool:
    """Whether a config is being deserialized now, in safe mode: what it names may then
    neither run code nor make lamina read files outside the model file (e.g. a lookup
    layer's vocabulary path, CVE-2025-12058)."""
    return bool(getattr(_scope, "safe_modes", None)) and in_safe_mode()


def serialize_function(fn, record: bool = False) -> dict | str:
    """A plain (named) function's record: by its registered name when registered,
    else by name among lamina's built-in functions, as Keras writes it. A built-in
    activation is written as its bare name unless ``record`` is asked for."""
    registered = _GLOBAL_CUSTOM_NAMES.get(fn)
    if registered is not None:
        return {"module": fn.__module__, "class_name": "function", "config": fn.__name__,
                "registered_name": registered}
    if getattr(fn, "_keras_builtin", False) and not record:
        return fn.__name__
    return {"module": "builtins", "class_name": "function", "config": fn.__name__,
            "registered_name": "function"}


def keras_class_name(cls: type) -> str:
    """The class name Keras writes for ``cls``: its export name where that differs from
    the Python name (declared as ``_keras_export_name`` on the class itself, not
    inherited), else ``cls.__name__``."""
    return cls.__dict__.get("_keras_export_name", cls.__name__)


def serialize_keras_object(obj):
    """Returns the Keras-3-style JSON-able form of ``obj``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, np.ndarray) or type(obj).__module__.startswith("jax"):
        arr = np.asarray(obj)
        return {"class_name": "__numpy__", "config": {"value": arr.tolist(),
                                                      "dtype": str(arr.dtype)}}
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return serialize_function(obj)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = _GLOBAL_CUSTOM_NAMES.get(cls)
        out = {
            "module": _keras_module_of(obj) if registered is None else cls.__module__,
            "class_name": keras_class_name(cls),
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": registered,
        }
        build_config = getattr(obj, "get_build_config", lambda: None)()
        if build_config is not None:
            out["build_config"] = serialize_keras_object(build_config)
        if isinstance(obj, KerasSaveable):
            out.update(obj._serialized_extras())
        return out
    raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj).__name__}.")


def numpy_from_record(inner) -> np.ndarray:
    """The array of a ``__numpy__`` record's config (``{"value": nested list, "dtype":
    name}``). The dtype must be numeric, boolean or a string kind, and a string dtype's
    width comes from the values, never from the file: ``"S8000000000"`` or a
    sub-array dtype would make one element gigabytes."""
    if not isinstance(inner, dict) or not isinstance(inner.get("dtype"), str):
        raise ValueError(f"A __numpy__ record's config must be a dict with a 'value' and a "
                         f"dtype name, received {inner!r:.200}.")
    try:
        dtype = np.dtype(inner["dtype"])
    except TypeError as e:
        raise ValueError(f"A __numpy__ record names an unknown dtype "
                         f"{inner['dtype']!r:.100}.") from e
    if dtype.kind in "SU":
        dtype = np.dtype(dtype.kind)
    elif dtype.kind not in "biufc":
        raise ValueError(f"A __numpy__ record's dtype must be numeric, boolean or a string, "
                         f"received {inner['dtype']!r:.100}.")
    return np.asarray(inner.get("value"), dtype=dtype)


def _unknown(kind: str, name) -> ValueError:
    return ValueError(
        f"Could not locate {kind} {name!r}: a config may only name lamina's own public "
        f"objects, objects registered with `@lamina.saving.register_keras_serializable()`, "
        f"or objects passed in `custom_objects` (e.g. `load_model(path, custom_objects="
        f"{{{name!r}: ...}})`).")


def _function(config: dict, module_objects, custom_objects):
    inner = config.get("config")
    if not isinstance(inner, str):
        raise ValueError(f"A function record's config must be its name (a string), "
                         f"received {inner!r}.")
    for name in (config.get("registered_name"), inner):
        if isinstance(name, str):
            fn = get_registered_object(name, custom_objects, module_objects)
            if fn is not None:
                return fn
    fn = builtin_functions().get(inner)
    if fn is None:  # Keras writes registered_name "function" for unregistered functions
        registered = config.get("registered_name")
        raise _unknown("function", registered if registered not in (None, "function")
                       else inner)
    return fn


def deserialize_keras_object(config, module_objects: dict | None = None,
                             custom_objects: dict | None = None, **kwargs):
    """Rebuilds an object from the output of :func:`serialize_keras_object`.

    Names resolve only through the custom objects in scope, ``custom_objects``,
    registered objects, ``module_objects`` (the caller's fixed table) and lamina's
    allow-list; anything else raises ValueError.

    Args:
        config: a string (a built-in name), or a dict with ``class_name`` and ``config``.
        module_objects: the names a bare string may resolve to (e.g. activations).
        custom_objects: extra name -> class/function mappings.
        safe_mode: optional; when given, deserialization runs in that safe mode.
    """
    if "safe_mode" in kwargs:
        with SafeModeScope(kwargs.pop("safe_mode")):
            return deserialize_keras_object(config, module_objects, custom_objects, **kwargs)
    if kwargs:
        raise TypeError(f"Unexpected arguments to deserialize_keras_object: {sorted(kwargs)}.")
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, module_objects, custom_objects) for c in config]
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects, module_objects)
        if obj is None:
            raise ValueError(f"Unknown object name {config!r}: expected one of "
                             f"{sorted(module_objects or {})} or a registered custom object.")
        return obj
    if not isinstance(config, dict):
        raise TypeError(f"Expected a dict or string config, received {type(config).__name__}.")
    class_name = config.get("class_name")
    if class_name is None:
        return {k: v for k, v in config.items()}
    if not isinstance(class_name, str):
        raise ValueError(f"A config's class_name must be a string, received {class_name!r}.")
    inner = config.get("config")
    if class_name == "__numpy__":
        return numpy_from_record(inner)
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(v, module_objects, custom_objects)
                     for v in inner["value"])
    if class_name == "__lambda__":
        raise ValueError(
            "The config holds a Python lambda (bytecode) outside a Lambda layer: lamina "
            "never deserializes code there. Register a named function instead.")
    if class_name == "function":
        return _function(config, module_objects, custom_objects)
    registered = config.get("registered_name")
    cls = None
    if isinstance(registered, str):
        cls = get_registered_object(registered, custom_objects, module_objects)
    if cls is None:
        cls = get_registered_object(class_name, custom_objects, module_objects)
    if cls is None:
        module = config.get("module")
        cls = find_builtin_class(module if isinstance(module, str) else None, class_name)
    if cls is None:
        raise _unknown("class", registered or class_name)
    if not isinstance(cls, type):
        return cls
    if inner is not None and not isinstance(inner, dict):
        raise ValueError(f"The config of {class_name!r} must be a dict, received "
                         f"{type(inner).__name__}.")
    # The scope marks a deserialization under way (see `deserializing_in_safe_mode`).
    with CustomObjectScope(custom_objects), SafeModeScope(in_safe_mode()):
        obj = cls.from_config(inner or {})
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config"):
            obj.build_from_config(build_config)
    return obj


def object_accessors(kind: str, all_objects: dict):
    """``(serialize, deserialize, get)`` for a module of configurable objects.

    Used by initializers, regularizers and constraints, which resolve identifiers the
    same way: None, a name from ``all_objects`` (or a registered custom object), a
    config dict, a class (instantiated with defaults) or a plain callable.
    """

    def serialize(obj: Any) -> Any:
        """The Keras-3 config dict of the object (a string is returned as is)."""
        return obj if isinstance(obj, str) else serialize_keras_object(obj)

    def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
        """Rebuilds the object from a Keras-3 config dict or a name."""
        obj = deserialize_keras_object(config, module_objects=all_objects,
                                       custom_objects=custom_objects)
        return obj() if isinstance(obj, type) else obj

    def get(identifier: Any) -> Any:
        if identifier is None:
            return None
        if isinstance(identifier, str):
            obj = get_registered_object(identifier, module_objects=all_objects)
            if obj is None:
                raise ValueError(f"Unknown {kind} {identifier!r}: expected one of "
                                 f"{sorted(all_objects)} or a registered custom object.")
            return obj() if isinstance(obj, type) else obj
        if isinstance(identifier, dict):
            return deserialize(identifier)
        if isinstance(identifier, type):
            return identifier()
        if callable(identifier):
            return identifier
        raise ValueError(f"Could not interpret {kind} identifier: expected None, a name, a "
                         f"config dict or a callable, received {identifier!r}.")

    get.__doc__ = (f"Resolves a {kind} identifier: None, a name, a config dict, a class "
                   "(instantiated with defaults) or a callable (returned as is).")
    return serialize, deserialize, get
