"""lamina: the Keras functional Model API, rebuilt on JAX.

``import lamina as keras`` and write Keras 3 functional-API code.
"""

import importlib as _importlib

from lamina import compilation_cache as _compilation_cache
from lamina import gc_freeze as _gc_freeze
from lamina.state import Variable
from lamina.version import __version__

_compilation_cache.enable_by_default()
_gc_freeze.freeze_by_default()  # last: after JAX's import

_SUBMODULES = (
    "activations", "backend", "callbacks", "config", "constraints", "distribution", "dtypes",
    "export", "initializers",
    "layers", "losses", "metrics", "mixed_precision", "models", "ops", "optimizers", "random",
    "regularizers", "saving", "tree", "utils",
)
# Top-level names and the module each comes from; modules load on first use, so
# `import lamina` stays cheap and `lamina.layers` works without an explicit import.
_TOP_LEVEL = {
    "Input": "lamina.layers", "InputSpec": "lamina.layers", "Layer": "lamina.layers",
    "Model": "lamina.models", "Sequential": "lamina.models",
    "KerasTensor": "lamina.graph", "Operation": "lamina.ops.operation",
    "Function": "lamina.ops.function",
    "DTypePolicy": "lamina.dtype_policy", "FloatDTypePolicy": "lamina.dtype_policy",
    "Initializer": "lamina.initializers",
    "Loss": "lamina.losses",
    "Metric": "lamina.metrics",
    "Optimizer": "lamina.optimizers",
    "Regularizer": "lamina.regularizers",
    "Quantizer": "lamina.quantizer",
    "StatelessScope": "lamina.state",
    "SymbolicScope": "lamina.symbolic_scope",
    "name_scope": "lamina.name_scopes",
    "device": "lamina.device_scope",
    "remat": "lamina.rematerialization", "RematScope": "lamina.rematerialization",
}


def version() -> str:
    """lamina's version string (``keras.version()``)."""
    return __version__


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f"lamina.{name}")
    if name in _TOP_LEVEL:
        return getattr(_importlib.import_module(_TOP_LEVEL[name]), name)
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_TOP_LEVEL))


__all__ = ["Variable", "__version__", "version", *_TOP_LEVEL]
