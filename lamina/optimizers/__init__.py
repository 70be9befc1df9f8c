"""Optimizers, as ``keras.optimizers``, built on optax.

Every optimizer gives the same numbers as its Keras 3 namesake and offers both
a pure API for jitted train steps (``init(params) -> state``,
``apply(state, grads, params) -> (new_params, new_state)``) and Keras's
stateful API (``build``, ``apply_gradients``, ``variables``, ``iterations``,
``learning_rate``). ``get`` also accepts any optax ``GradientTransformation``,
wrapped in an :class:`OptaxOptimizer`.
"""

from __future__ import annotations

from typing import Any

from lamina.optimizers import schedules
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.adam import Adam, Adamax, AdamW, Nadam
from lamina.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lamb import Lamb
from lamina.optimizers.lion import Lion
from lamina.optimizers.loss_scale import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from lamina.optimizers.muon import Muon
from lamina.optimizers.optax_optimizer import OptaxOptimizer, is_optax_transformation
from lamina.optimizers.optimizer import Optimizer, StateVariable
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD
from lamina.saving import serialization

_BUILTIN = (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam, Lion, Ftrl, Lamb,
            Adafactor, Muon, ScheduleFreeAdamW)
# Keras looks built-in optimizers up by lower-cased class name.
_BY_NAME = {cls.__name__.lower(): cls for cls in _BUILTIN}
_DESERIALIZABLE = {**_BY_NAME, "lossscaleoptimizer": LossScaleOptimizer,
                   "multioptimizer": MultiOptimizer, "optimizermap": OptimizerMap,
                   "optimizer": Optimizer}


def serialize(optimizer: Optimizer) -> dict:
    """Returns the Keras-3 JSON-able dict of an optimizer."""
    return serialization.serialize_keras_object(optimizer)


def deserialize(config: dict, custom_objects: dict | None = None) -> Any:
    """Rebuilds an optimizer from the output of :func:`serialize` (class names are
    case-insensitive for built-in optimizers)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"Expected an optimizer config dict with a 'class_name', received "
                        f"{config!r}.")
    config = dict(config)
    if config["class_name"].lower() in _DESERIALIZABLE:
        config["class_name"] = config["class_name"].lower()
    return serialization.deserialize_keras_object(config, module_objects=_DESERIALIZABLE,
                                                  custom_objects=custom_objects)


def get(identifier) -> Optimizer | None:
    """Returns an optimizer for a name (e.g. ``"adam"``), a config dict, an instance or an
    optax ``GradientTransformation`` (wrapped in an :class:`OptaxOptimizer`).

    Raises:
        ValueError: the identifier names no known optimizer.
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if is_optax_transformation(identifier):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            found = serialization.get_registered_object(identifier)
            if isinstance(found, type) and issubclass(found, Optimizer):
                return found()
            raise ValueError(
                f"Could not interpret optimizer identifier: {identifier!r}. Expected one of "
                f"{sorted(_BY_NAME)}, an optimizer config dict, an Optimizer instance or an optax "
                "GradientTransformation.")
        return cls()
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        if isinstance(obj, Optimizer):
            return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. Expected an "
                     f"optimizer name (one of {sorted(_BY_NAME)}), a config dict, an "
                     "Optimizer instance or an optax GradientTransformation.")


__all__ = ["Optimizer", "StateVariable", "LossScaleOptimizer", "OptaxOptimizer", "SGD",
           "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl",
           "Lamb", "Adafactor", "Muon", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap",
           "schedules", "serialize", "deserialize", "get"]
