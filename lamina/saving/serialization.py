"""Keras-3-compatible object serialization: objects to JSON-able dicts and back.

A serialized object is ``{"module": "keras.layers", "class_name": "Dense",
"config": {...}, "registered_name": None}`` exactly as Keras 3 writes it, so
configs move between lamina and Keras. Deserialization only looks classes up in
lamina's public modules and in explicitly registered custom objects: a config
can never make lamina import or run arbitrary code.
"""

from __future__ import annotations

import importlib
import threading
import types
from typing import Any

import numpy as np

# Keras module name -> lamina module holding the public classes of that module.
_PUBLIC_MODULES = {
    "keras": "lamina",
    "keras.layers": "lamina.layers",
    "keras.models": "lamina.models",
    "keras.src.models.functional": "lamina.models",
    "keras.src.models.sequential": "lamina.models",
    "keras.initializers": "lamina.initializers",
    "keras.regularizers": "lamina.regularizers",
    "keras.constraints": "lamina.constraints",
    "keras.activations": "lamina.activations",
    "keras.losses": "lamina.losses",
    "keras.metrics": "lamina.metrics",
    "keras.optimizers": "lamina.optimizers",
    "keras.optimizers.schedules": "lamina.optimizers.schedules",
    "keras.callbacks": "lamina.callbacks",
}

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
    if isinstance(obj, types.FunctionType) or isinstance(obj, types.BuiltinFunctionType):
        registered = _GLOBAL_CUSTOM_NAMES.get(obj)
        if registered is None and getattr(obj, "_keras_builtin", False):
            return obj.__name__
        return {"module": "builtins", "class_name": "function",
                "config": obj.__name__, "registered_name": registered or obj.__name__}
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = _GLOBAL_CUSTOM_NAMES.get(cls)
        out = {
            "module": _keras_module_of(obj) if registered is None else cls.__module__,
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": registered,
        }
        build_config = getattr(obj, "get_build_config", lambda: None)()
        if build_config is not None:
            out["build_config"] = serialize_keras_object(build_config)
        return out
    raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj).__name__}.")


def _public_class(module_name: str | None, class_name: str):
    target = _PUBLIC_MODULES.get(module_name or "")
    candidates = [target] if target else []
    candidates += [m for m in _PUBLIC_MODULES.values() if m not in candidates]
    for mod_name in candidates:
        mod = importlib.import_module(mod_name)
        obj = getattr(mod, class_name, None)
        if obj is not None and not isinstance(obj, types.ModuleType):
            return obj
    return None


def deserialize_keras_object(config, module_objects: dict | None = None,
                             custom_objects: dict | None = None, **kwargs):
    """Rebuilds an object from the output of :func:`serialize_keras_object`.

    Args:
        config: a string (a built-in name), or a dict with ``class_name`` and ``config``.
        module_objects: the names a bare string may resolve to (e.g. activations).
        custom_objects: extra name -> class/function mappings.
    """
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
    inner = config.get("config")
    if class_name == "__numpy__":
        return np.asarray(inner["value"], dtype=inner["dtype"])
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(v, module_objects, custom_objects)
                     for v in inner["value"])
    if class_name == "function":
        name = config.get("registered_name") or inner
        fn = get_registered_object(name, custom_objects, module_objects)
        if fn is None:
            fn = get_registered_object(inner, custom_objects, module_objects)
        if fn is None:
            raise ValueError(f"Unknown function {name!r}: register it with "
                             "register_keras_serializable or pass it in custom_objects.")
        return fn
    registered = config.get("registered_name")
    cls = None
    if registered:
        cls = get_registered_object(registered, custom_objects, module_objects)
    if cls is None:
        cls = get_registered_object(class_name, custom_objects, module_objects)
    if cls is None:
        cls = _public_class(config.get("module"), class_name)
    if cls is None:
        raise TypeError(
            f"Could not locate class {class_name!r}. Make sure custom classes are "
            "decorated with `@lamina.saving.register_keras_serializable()` or passed "
            "in `custom_objects`.")
    if not isinstance(cls, type):
        return cls
    with CustomObjectScope(custom_objects):
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
