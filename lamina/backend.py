"""Backend utilities, as ``keras.backend``: the session, float type, epsilon, data format."""

from __future__ import annotations

from lamina.dtypes import floatx, set_floatx
from lamina.dtypes import standardize as standardize_dtype
from lamina.graph import KerasTensor
from lamina.utils.naming import reset_names

_CONFIG = {"epsilon": 1e-7, "image_data_format": "channels_last"}


def backend() -> str:
    """The name of the compute backend: always ``"jax"``."""
    return "jax"


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _CONFIG["epsilon"]


def set_epsilon(value: float) -> None:
    _CONFIG["epsilon"] = float(value)


def image_data_format() -> str:
    """``"channels_last"`` (default) or ``"channels_first"``."""
    return _CONFIG["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    _CONFIG["image_data_format"] = data_format


def clear_session(free_memory: bool = True) -> None:
    """Resets the default names of layers and models (``dense``, ``dense_1``, ...)."""
    reset_names()


def is_keras_tensor(x) -> bool:
    return isinstance(x, KerasTensor)


__all__ = ["backend", "epsilon", "set_epsilon", "floatx", "set_floatx", "image_data_format",
           "set_image_data_format", "clear_session", "is_keras_tensor", "standardize_dtype"]
