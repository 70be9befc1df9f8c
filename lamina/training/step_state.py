"""The state a training, evaluation or prediction step works on, and batch packing.

A step is a pure function of its state and one batch, as in Keras's JAX backend::

    logs, state = model.train_step(TrainState(...), data)
    logs, state = model.test_step(TestState(...), data)
    outputs, non_trainable_variables = model.predict_step(PredictState(...), data)

Each state field is a list of arrays in the order of the matching list of
Variables: ``model.trainable_variables``, ``model.non_trainable_variables``,
``model.optimizer_variables`` and ``model.metrics_variables``. The states are
NamedTuples, so code written for Keras that unpacks plain tuples works unchanged.
``fit``/``evaluate``/``predict`` build a state once per call and write it back
to the Variables when they return (and at epoch ends).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class TrainState(NamedTuple):
    """What ``train_step`` reads and returns."""

    trainable_variables: list
    non_trainable_variables: list
    optimizer_variables: list
    metrics_variables: list


class TestState(NamedTuple):
    """What ``test_step`` reads and returns."""

    __test__ = False  # not a pytest test class

    trainable_variables: list
    non_trainable_variables: list
    metrics_variables: list


class PredictState(NamedTuple):
    """What ``predict_step`` reads."""

    trainable_variables: list
    non_trainable_variables: list


def pack_x_y_sample_weight(x, y=None, sample_weight=None) -> tuple:
    """The batch a step receives, as Keras packs it: ``x`` alone (``(x,)`` when ``x`` is
    itself a list or tuple), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` from a batch, None for what it lacks: a tuple or list of
    one to three items (a torch DataLoader yields lists), or ``x`` alone."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("Data is expected to be (x,), (x, y) or (x, y, sample_weight), "
                     f"received a tuple of {len(data)} items.")
