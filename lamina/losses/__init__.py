"""Loss functions and Loss classes, as ``keras.losses``."""

from __future__ import annotations

import inspect
from typing import Any

from lamina.losses.classes import (
    CTC,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    CategoricalHinge,
    Circle,
    CosineSimilarity,
    Dice,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    Tversky,
)
from lamina.losses.functions import (
    BUILTIN_FUNCTIONS,
    FUNCTION_ALIASES,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    categorical_hinge,
    circle,
    cosine_similarity,
    ctc,
    dice,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
    tversky,
)
from lamina.losses.loss import Loss, LossFunctionWrapper, serialize_function
from lamina.saving.serialization import deserialize_keras_object

_CLASSES = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh,
    Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy,
    BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy, CategoricalGeneralizedCrossEntropy, Dice, Tversky, Circle,
    CTC,
)

# Every name `deserialize` accepts: class names, function names and the short aliases.
_DESERIALIZABLE = {cls.__name__: cls for cls in _CLASSES}
_DESERIALIZABLE.update(BUILTIN_FUNCTIONS)
_DESERIALIZABLE.update(FUNCTION_ALIASES)
# The names `get` resolves: the same as Keras 3, which leaves out the generalized
# cross-entropy (its config dicts still deserialize).
ALL_OBJECTS = {k: v for k, v in _DESERIALIZABLE.items()
               if k not in ("CategoricalGeneralizedCrossEntropy",
                            "categorical_generalized_cross_entropy")}


# The short names as module attributes too (``lamina.losses.mse``), as tf.keras had them;
# Keras 3 accepts them only as strings.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


def serialize(loss) -> Any:
    """Returns the Keras-3 JSON-able form of a loss (class instance or function).

    A Loss object becomes ``{"module", "class_name", "config", "registered_name"}``;
    a built-in loss function becomes Keras's ``builtins.function`` dict naming it.
    """
    if inspect.isfunction(loss):
        return serialize_function(loss)
    from lamina.saving.serialization import serialize_keras_object

    return serialize_keras_object(loss)


def deserialize(name, custom_objects: dict | None = None):
    """Rebuilds a loss from :func:`serialize` output or a name.

    Args:
        name: a serialized dict, or a function/class name (classes come back as
            classes, not instances).
        custom_objects: extra name -> class/function mappings.
    """
    return deserialize_keras_object(name, module_objects=_DESERIALIZABLE,
                                    custom_objects=custom_objects)


def get(identifier):
    """Resolves a loss identifier as ``keras.losses.get`` does.

    Args:
        identifier: ``None``; a name (``"mse"``, ``"mean_squared_error"``,
            ``"MeanSquaredError"``); a serialized dict; a Loss class; or any callable.

    Returns:
        ``None``, a loss function, or a Loss instance (classes, named or given,
        are instantiated with their defaults).

    Raises:
        ValueError: for an unknown name or an identifier that is not callable.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS.get(identifier)
        if obj is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. Expected one of "
                f"{sorted(ALL_OBJECTS)}, a Loss instance, a dict config or a callable.")
    else:
        obj = identifier
    if callable(obj):
        if inspect.isclass(obj):
            obj = obj()
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Expected a name, "
                     "a Loss instance, a dict config or a callable.")


__all__ = [
    "Loss", "LossFunctionWrapper", "get", "serialize", "deserialize",
    *[cls.__name__ for cls in _CLASSES[2:]],
    *sorted(BUILTIN_FUNCTIONS),
]
