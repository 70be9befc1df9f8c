"""Global settings, as ``keras.config``.

Settings that live elsewhere in lamina are re-exported, not copied: the float type
(``lamina.dtypes``), epsilon and image data format (``lamina.backend``), the dtype
policy (``lamina.dtype_policy``) and interactive logging (``lamina.utils.io_utils``).
The other settings are stored here and read by the code that honours them.
"""

from __future__ import annotations

from lamina.backend import (
    epsilon,
    image_data_format,
    set_epsilon,
    set_image_data_format,
)
from lamina.compilation_cache import directory as compilation_cache_dir
from lamina.compilation_cache import disable as disable_compilation_cache
from lamina.compilation_cache import enable as enable_compilation_cache
from lamina.dtype_policy import DTypePolicy, set_global_policy
from lamina.dtype_policy import global_policy as dtype_policy
from lamina.dtypes import floatx, set_floatx
from lamina.utils.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)

_SETTINGS = {
    "flash_attention": None,
    "traceback_filtering": True,
    "max_epochs": None,
    "max_steps_per_epoch": None,
    "unsafe_deserialization": False,
}


def backend() -> str:
    """The name of the compute backend: always ``"jax"``."""
    return "jax"


def set_backend(backend: str) -> None:
    """Selects the backend. lamina runs on JAX only, so only ``"jax"`` is accepted.

    Raises:
        ValueError: any other backend name.
    """
    if backend != "jax":
        raise ValueError(f"lamina runs on JAX only; cannot switch to backend {backend!r}.")


def is_nnx_enabled() -> bool:
    """Whether Flax NNX integration is on: never in lamina."""
    return False


def enable_flash_attention() -> None:
    """Lets attention layers use a fused (flash) attention kernel where one applies (the
    default: :func:`is_flash_attention_enabled` returns None, "layers decide")."""
    _SETTINGS["flash_attention"] = None


def disable_flash_attention() -> None:
    """Asks attention layers never to use a fused (flash) attention kernel."""
    _SETTINGS["flash_attention"] = False


def is_flash_attention_enabled():
    """``False`` after :func:`disable_flash_attention`; ``None`` (the default, and after
    :func:`enable_flash_attention`) lets attention layers decide."""
    return _SETTINGS["flash_attention"]


def enable_traceback_filtering() -> None:
    """Turns traceback filtering on (the default): errors about the user's model or data
    (graph building, fit/evaluate/predict data checks) leave lamina with lamina's and
    JAX's own frames removed from the traceback (``lamina.user_frames``)."""
    _SETTINGS["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Turns traceback filtering off: tracebacks keep every frame (for debugging lamina)."""
    _SETTINGS["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """The value set by :func:`enable_traceback_filtering`/:func:`disable_traceback_filtering`."""
    return _SETTINGS["traceback_filtering"]


def enable_unsafe_deserialization() -> None:
    """Allows deserializing configs that run arbitrary code (e.g. ``Lambda`` layers
    holding Python bytecode). Read with :func:`unsafe_deserialization_enabled`."""
    _SETTINGS["unsafe_deserialization"] = True


def unsafe_deserialization_enabled() -> bool:
    """Whether :func:`enable_unsafe_deserialization` was called (lamina's accessor; the
    default ``safe_mode`` of deserialization is its negation)."""
    return _SETTINGS["unsafe_deserialization"]


def set_dtype_policy(policy) -> None:
    """Sets the dtype policy of layers built without a ``dtype``.

    Args:
        policy: a policy name (``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"``,
            any float dtype name) or a ``DTypePolicy``.

    Raises:
        ValueError: ``policy`` is neither a name nor a ``DTypePolicy``, or names no
            valid policy.
    """
    if not isinstance(policy, (str, DTypePolicy)):
        raise ValueError("Invalid `policy` argument: expected a policy name (such as "
                         f"'mixed_float16') or a DTypePolicy, received {policy!r}.")
    set_global_policy(policy)


def max_epochs():
    """The cap on the number of epochs ``fit`` runs (None: no cap)."""
    return _SETTINGS["max_epochs"]


def set_max_epochs(max_epochs) -> None:
    """Caps the number of epochs of every ``fit`` (None removes the cap)."""
    _SETTINGS["max_epochs"] = max_epochs


def max_steps_per_epoch():
    """The cap on the number of steps per epoch of ``fit``/``evaluate``/``predict``
    (None: no cap)."""
    return _SETTINGS["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Caps the number of steps per epoch (None removes the cap)."""
    _SETTINGS["max_steps_per_epoch"] = max_steps_per_epoch


__all__ = [
    "compilation_cache_dir", "disable_compilation_cache", "enable_compilation_cache",
    "backend", "disable_flash_attention", "disable_interactive_logging",
    "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
    "enable_interactive_logging", "enable_traceback_filtering", "enable_unsafe_deserialization",
    "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled",
    "max_epochs", "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon",
    "set_floatx", "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch",
    "unsafe_deserialization_enabled",
]
