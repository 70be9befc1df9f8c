"""Metrics that reduce values: ``Sum``, ``Mean`` and ``MeanMetricWrapper``."""

from __future__ import annotations

import types
from typing import Callable

import jax.numpy as jnp

from lamina.metrics.metric import Metric
from lamina.metrics.metrics_utils import divide_no_nan, reduce_to_samplewise_values
from lamina.saving import serialization


class Sum(Metric):
    """The (weighted) sum of all values seen.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")

    def update_state(self, values, sample_weight=None) -> None:
        """Adds ``sum(values * sample_weight)`` to the running total."""
        values, _ = reduce_to_samplewise_values(values, sample_weight, jnp.sum, self.dtype)
        self.total.assign(self.total.value + jnp.sum(values))

    def result(self):
        return self.total.value


class Mean(Metric):
    """The (weighted) mean of all values seen.

    Values of rank > 1 are first averaged per sample; ``sample_weight`` weighs
    samples (or elements, when it has the values' shape).

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="count")

    def update_state(self, values, sample_weight=None) -> None:
        """Adds the weighted values to the total and their weight to the count."""
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, jnp.mean,
                                                            self.dtype)
        self.total.assign(self.total.value + jnp.sum(values))
        if sample_weight is not None:
            num_samples = jnp.sum(sample_weight)
        else:
            num_samples = values.shape[0] if values.ndim >= 1 else 1
        self.count.assign(self.count.value + jnp.asarray(num_samples, dtype=self.dtype))

    def result(self):
        return divide_no_nan(self.total.value, self.count.value.astype(self.dtype))


def _serialize_fn(fn):
    """Keras's serialized form of a plain function held by a metric config."""
    registered = serialization._GLOBAL_CUSTOM_NAMES.get(fn)
    if registered is None and isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)):
        return {"module": "builtins", "class_name": "function", "config": fn.__name__,
                "registered_name": "function"}
    return serialization.serialize_keras_object(fn)


def _deserialize_fn(config):
    if callable(config):
        return config
    from lamina import metrics as metrics_module  # the public namespace, imported lazily

    return serialization.deserialize_keras_object(config,
                                                  module_objects=metrics_module._fn_objects())


class MeanMetricWrapper(Mean):
    """The mean of a function ``fn(y_true, y_pred, **kwargs)`` over all batches.

    Args:
        fn: the per-sample metric function, ``fn(y_true, y_pred, **kwargs)``.
        name: the metric's name.
        dtype: the dtype of the state and result.
        **kwargs: keyword arguments passed to ``fn`` on every call.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper expects a callable `fn`, received "
                            f"{type(fn).__name__}: {fn!r}")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Evaluates ``fn`` on the batch and adds its values to the running mean."""
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        config = {"name": self.name, "dtype": self.dtype}
        if type(self) is MeanMetricWrapper:
            # Subclasses fix their function; only the generic wrapper records it.
            config["fn"] = _serialize_fn(self._fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if "fn" in config:
            config["fn"] = _deserialize_fn(config["fn"])
        return cls(**config)
