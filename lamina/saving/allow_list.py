"""The allow-list a config may name: lamina's own public classes and functions.

Loading a file resolves every ``class_name`` through this table, the user's
registered objects and the ``custom_objects`` passed in, and nothing else: no
module named in a file is ever imported, and no attribute of a module is looked up
by a name read from a file. The table is built on first use from lamina's public
modules (a fixed list below) and keeps only classes of the kinds a Keras config can
hold (layers, models, losses, metrics, optimizers, initializers, regularizers,
constraints, learning-rate schedules, dtype policies); the functions a
``"function"`` record may name are the built-in activations, losses and metrics.
Operations (``ops.*`` nodes of a functional model) resolve through their own fixed
table, ``lamina.ops.operation.OPERATIONS``.
"""

from __future__ import annotations

import functools
import importlib

# Keras module name -> lamina module whose public classes it names. A config's
# "module" only chooses which of these tables is searched first.
KERAS_MODULES = {
    "keras": "lamina",
    "keras.layers": "lamina.layers",
    "keras.models": "lamina.models",
    "keras.src.models.functional": "lamina.models",
    "keras.src.models.sequential": "lamina.models",
    "keras.src.models.model": "lamina.models",
    "keras.initializers": "lamina.initializers",
    "keras.regularizers": "lamina.regularizers",
    "keras.constraints": "lamina.constraints",
    "keras.losses": "lamina.losses",
    "keras.metrics": "lamina.metrics",
    "keras.optimizers": "lamina.optimizers",
    "keras.optimizers.schedules": "lamina.optimizers.schedules",
    "keras.dtype_policies": "lamina.dtype_policy",
    "keras.mixed_precision": "lamina.mixed_precision",
}


def _allowed_bases() -> tuple:
    from lamina.constraints import Constraint
    from lamina.dtype_policy import DTypePolicy
    from lamina.initializers import Initializer
    from lamina.layers.layer import Layer
    from lamina.losses.loss import Loss
    from lamina.metrics.metric import Metric
    from lamina.optimizers.multi_optimizer import OptimizerMap
    from lamina.optimizers.optimizer import Optimizer
    from lamina.optimizers.schedules import LearningRateSchedule
    from lamina.regularizers import Regularizer

    return (Layer, Loss, Metric, Optimizer, OptimizerMap, Initializer, Regularizer,
            Constraint, LearningRateSchedule, DTypePolicy)


@functools.cache
def builtin_classes() -> dict[str, dict[str, type]]:
    """lamina module name -> {public class name: class}, allowed kinds only."""
    bases = _allowed_bases()
    tables: dict[str, dict[str, type]] = {}
    for module_name in dict.fromkeys(KERAS_MODULES.values()):
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module)
                                                      if not n.startswith("_")]
        table = {}
        for name in names:
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, bases):
                table[name] = obj
        tables[module_name] = table
    return tables


@functools.cache
def builtin_functions() -> dict[str, object]:
    """The built-in functions a ``"function"`` record may name (activations, losses,
    metrics), by name."""
    from lamina import activations, metrics
    from lamina.losses.loss import BUILTIN_FUNCTIONS, FUNCTION_ALIASES

    table = dict(metrics._fn_objects())
    table.update(BUILTIN_FUNCTIONS)
    table.update(FUNCTION_ALIASES)
    table.update(activations.ALL_OBJECTS_DICT)
    return table


def find_builtin_class(keras_module: str | None, class_name: str) -> type | None:
    """The allowed lamina class named ``class_name``, preferring the table of
    ``keras_module`` (the ``module`` field of a config); None when there is none."""
    tables = builtin_classes()
    first = KERAS_MODULES.get(keras_module or "")
    order = ([first] if first else []) + [m for m in tables if m != first]
    for module_name in order:
        cls = tables[module_name].get(class_name)
        if cls is not None:
            return cls
    return None
