"""Backend utilities, as ``keras.backend``: the session, float type, epsilon, data format,
dtype names and promotion."""

from __future__ import annotations

import gc

from lamina.dtype_promotion import result_type
from lamina.dtypes import floatx, set_floatx
from lamina.dtypes import is_float as is_float_dtype
from lamina.dtypes import is_int as is_int_dtype
from lamina.dtypes import standardize as standardize_dtype
from lamina.graph import KerasTensor
from lamina.utils.naming import get_uid, reset_names

_CONFIG = {"epsilon": 1e-7, "image_data_format": "channels_last"}


def backend() -> str:
    """The name of the compute backend: always ``"jax"``."""
    return "jax"


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _CONFIG["epsilon"]


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor :func:`epsilon` returns."""
    _CONFIG["epsilon"] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (default) or ``"channels_first"``."""
    return _CONFIG["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Sets the default ``data_format`` of image layers.

    Raises:
        ValueError: ``data_format`` is not ``"channels_last"`` or ``"channels_first"``.
    """
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    _CONFIG["image_data_format"] = data_format


def clear_session(free_memory: bool = True) -> None:
    """Resets the default names of layers and models (``dense``, ``dense_1``, ...) and
    the counts of :func:`get_uid`.

    Args:
        free_memory: also run Python's garbage collector.
    """
    reset_names()
    if free_memory:
        gc.collect()


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor (the output of ``Input`` or of a layer called
    on one)."""
    return isinstance(x, KerasTensor)


__all__ = ["backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
           "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon",
           "set_floatx", "set_image_data_format", "standardize_dtype"]
