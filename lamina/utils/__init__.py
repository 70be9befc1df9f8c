"""Public utilities, as ``keras.utils``."""

import importlib as _importlib

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
from lamina.utils.config import Config
from lamina.utils.dataset_split import split_dataset
from lamina.utils.file_utils import get_file
from lamina.utils.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from lamina.utils.model_visualization import model_to_dot, plot_model
from lamina.utils.numerical import normalize, set_random_seed, to_categorical
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset
from lamina.utils.sequence_utils import pad_sequences
from lamina.utils.timeseries_dataset import timeseries_dataset_from_array

# Keras's older name for PyDataset.
Sequence = PyDataset

# Names defined in modules that themselves import lamina.utils: loaded on first use.
_LAZY = {
    "clear_session": "lamina.backend",
    "is_keras_tensor": "lamina.backend",
    "standardize_dtype": "lamina.backend",
    "get_source_inputs": "lamina.utils.source_inputs",
    "pack_x_y_sample_weight": "lamina.training.step_state",
    "unpack_x_y_sample_weight": "lamina.training.step_state",
    "array_to_img": "lamina.utils.image_utils",
    "img_to_array": "lamina.utils.image_utils",
    "load_img": "lamina.utils.image_utils",
    "save_img": "lamina.utils.image_utils",
    "audio_dataset_from_directory": "lamina.utils.dataset_dirs",
    "image_dataset_from_directory": "lamina.utils.dataset_dirs",
    "text_dataset_from_directory": "lamina.utils.dataset_dirs",
}


# Submodules that are namespaces of their own (keras.utils.bounding_boxes): loaded on
# first use, as they import the layers.
_SUBMODULES = ("bounding_boxes",)


def __getattr__(name):
    if name in _LAZY:
        return getattr(_importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY) + list(_SUBMODULES))


__all__ = [
    "Config", "CustomObjectScope", "Progbar", "PyDataset", "Sequence", "custom_object_scope",
    "deserialize_keras_object", "disable_interactive_logging", "enable_interactive_logging",
    "get_custom_objects", "get_file", "get_registered_name", "get_registered_object",
    "is_interactive_logging_enabled", "model_to_dot", "normalize", "pad_sequences",
    "plot_model", "register_keras_serializable", "serialize_keras_object", "set_random_seed",
    "split_dataset", "timeseries_dataset_from_array", "to_categorical", *_LAZY,
    *_SUBMODULES,
]
