"""Public utilities, as ``keras.utils``."""

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
from lamina.utils.numerical import normalize, set_random_seed, to_categorical
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset

__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "register_keras_serializable",
    "serialize_keras_object", "normalize", "set_random_seed", "to_categorical", "Progbar",
    "PyDataset",
]
