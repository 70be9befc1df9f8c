"""lamina: the Keras functional Model API, rebuilt on JAX.

``import lamina as keras`` and write Keras 3 functional-API code.
"""

import importlib as _importlib

from lamina.state import Variable
from lamina.version import __version__

_SUBMODULES = (
    "activations", "backend", "callbacks", "constraints", "dtypes", "initializers", "layers",
    "losses", "metrics", "mixed_precision", "models", "optimizers", "random", "regularizers",
    "saving", "utils",
)
_FROM_LAYERS = ("Input", "InputSpec", "Layer")
_FROM_MODELS = ("Model", "Sequential")
_FROM_GRAPH = ("KerasTensor",)
_FROM_POLICY = ("DTypePolicy",)


def __getattr__(name):
    # Submodules and the top-level classes load on first use, so `import lamina`
    # stays cheap and `lamina.layers` works without an explicit import.
    if name in _SUBMODULES:
        return _importlib.import_module(f"lamina.{name}")
    if name in _FROM_LAYERS:
        return getattr(_importlib.import_module("lamina.layers"), name)
    if name in _FROM_MODELS:
        return getattr(_importlib.import_module("lamina.models"), name)
    if name in _FROM_GRAPH:
        return getattr(_importlib.import_module("lamina.graph"), name)
    if name in _FROM_POLICY:
        return getattr(_importlib.import_module("lamina.dtype_policy"), name)
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES) + list(_FROM_LAYERS) + list(_FROM_MODELS)
                  + list(_FROM_GRAPH) + list(_FROM_POLICY))


__all__ = ["Variable", "__version__", *_FROM_LAYERS, *_FROM_MODELS, *_FROM_GRAPH,
           *_FROM_POLICY]
