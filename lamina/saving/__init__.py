"""Saving and serialization, as ``keras.saving``."""

from lamina.saving.serialization import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

# The file functions load on first use: lamina.saving.serialization is imported
# early by most of lamina, and the file formats need much of it.
_FILE_FUNCTIONS = ("load_model", "load_weights", "save_model", "save_weights")


def __getattr__(name):
    if name in _FILE_FUNCTIONS:
        from lamina.saving import saving_lib

        return getattr(saving_lib, name)
    raise AttributeError(f"module 'lamina.saving' has no attribute {name!r}")


__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "register_keras_serializable",
    "serialize_keras_object", "load_model", "load_weights", "save_model", "save_weights",
]
