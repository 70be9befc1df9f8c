"""The ``Metric`` base class: Keras's stateful API over a functional core.

A metric keeps its running statistics in :class:`lamina.state.Variable` objects
created with :meth:`Metric.add_variable`. Subclasses write the Keras-style
stateful methods (``update_state`` reads and assigns those variables, ``result``
reads them) in pure ``jax.numpy``. The functional API that a compiled training
step needs (``stateless_reset_state``, ``stateless_update_state``,
``stateless_result``) is derived here, once for every metric, by running the
stateful methods inside a :class:`lamina.state.StatelessScope` that maps the
metric's variables to the values passed in. Nothing is mutated while JAX traces.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from lamina import dtypes
from lamina.state import StatelessScope, Variable, to_value
from lamina.utils.naming import to_snake_case, uniquify


def _resolve_compute_dtype(dtype) -> str:
    """The dtype a metric computes and stores its state in."""
    if dtype is None:
        return dtypes.floatx()
    compute = getattr(dtype, "compute_dtype", None)
    if isinstance(compute, str):
        return dtypes.standardize(compute)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        # A mixed policy computes in the 16-bit type; metrics follow the compute dtype.
        return dtypes.standardize(dtype[len("mixed_"):])
    return dtypes.standardize(dtype)


def _make_initializer(initializer):
    """A host-side ``init(shape, dtype) -> np.ndarray`` for a metric variable.

    Host (NumPy) values keep variable creation concrete even when a metric builds
    lazily on its first update inside a JAX trace.
    """
    if initializer is None or (isinstance(initializer, str) and initializer == "zeros"):
        return lambda shape, dtype: np.zeros(shape, dtype=dtype)
    if isinstance(initializer, str) and initializer == "ones":
        return lambda shape, dtype: np.ones(shape, dtype=dtype)
    if isinstance(initializer, str):
        from lamina import initializers  # imported lazily: metrics do not need it otherwise

        return _host_initializer(initializers.get(initializer))
    if callable(initializer):
        return _host_initializer(initializer)
    value = np.asarray(initializer)
    return lambda shape, dtype: np.broadcast_to(value, shape).astype(dtype)


def _host_initializer(fn):
    def init(shape, dtype):
        with jax.ensure_compile_time_eval():
            return np.asarray(fn(shape, dtype=dtype))

    return init


class Metric:
    """Base class of all metrics: encapsulates running statistics and their result.

    Args:
        dtype: the dtype the metric's state and computations use (a dtype name or
            a dtype policy); ``None`` means ``floatx()``.
        name: the metric's name; ``None`` gives a unique snake-case name derived
            from the class name.

    Subclasses create their state with :meth:`add_variable` in ``__init__`` (or on
    the first update) and implement ``update_state(*args, **kwargs)`` and
    ``result()`` with ``jax.numpy``, reading ``variable.value`` and writing with
    ``variable.assign``.
    """

    _keras_module = "keras.metrics"

    def __init__(self, dtype=None, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Metric name must be a string, received {type(name).__name__}: "
                            f"{name!r}")
        self.name = name or uniquify(to_snake_case(type(self).__name__))
        self._dtype = _resolve_compute_dtype(dtype)
        self._variables: list[Variable] = []
        self._initializers: list = []
        self._tracked_metrics: list[Metric] = []

    def __setattr__(self, name: str, value: Any) -> None:
        # Metrics held as attributes contribute their variables to this one's state.
        if isinstance(value, Metric) and name != "_tracked_metrics":
            tracked = self.__dict__.get("_tracked_metrics")
            if tracked is not None and all(m is not value for m in tracked):
                tracked.append(value)
        super().__setattr__(name, value)

    # -- properties ------------------------------------------------------------
    @property
    def dtype(self) -> str:
        """The dtype (name) of the metric's state and computations."""
        return self._dtype

    @property
    def variables(self) -> list[Variable]:
        """The metric's state variables, own ones first, in creation order."""
        out = list(self._variables)
        for metric in self._tracked_metrics:
            out.extend(metric.variables)
        return out

    # -- state creation --------------------------------------------------------
    def add_variable(self, shape, initializer, dtype=None, aggregation: str = "sum",
                     name: str | None = None) -> Variable:
        """Creates a non-trainable state variable owned by this metric.

        Args:
            shape: the variable's shape (tuple of ints).
            initializer: ``"zeros"``, ``"ones"``, an initializer name or callable
                ``init(shape, dtype)``, or an array-like initial value.
            dtype: the variable's dtype; defaults to the metric's dtype.
            aggregation: how replicas combine the variable (recorded only).
            name: the variable's name; its path is ``"<metric name>/<name>"``.

        Returns:
            The new :class:`lamina.state.Variable`.
        """
        shape = tuple(int(d) for d in (shape or ()))
        dtype = dtypes.standardize(dtype or self.dtype)
        init = _make_initializer(initializer)
        var_name = name or "variable"
        var = Variable(init(shape, dtype), shape=shape, dtype=dtype, trainable=False,
                       name=var_name, path=f"{self.name}/{var_name}", aggregation=aggregation)
        self._variables.append(var)
        self._initializers.append(init)
        return var

    def add_weight(self, shape=(), initializer=None, dtype=None, name: str | None = None
                   ) -> Variable:
        """Alias of :meth:`add_variable` with Keras's ``add_weight`` defaults."""
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    # -- stateful API ----------------------------------------------------------
    def update_state(self, *args, **kwargs):
        """Accumulates statistics for the metric. Subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self):
        """Computes the current metric value from the state. Subclasses must implement it."""
        raise NotImplementedError(f"{type(self).__name__}.result")

    def reset_state(self) -> None:
        """Puts every state variable back to its initial value."""
        for var, init in zip(self._variables, self._initializers):
            var.assign(init(var.shape, var.dtype))
        for metric in self._tracked_metrics:
            metric.reset_state()

    def __call__(self, *args, **kwargs):
        """Updates the state with the given batch and returns the new result."""
        self.update_state(*args, **kwargs)
        return self.result()

    # -- lazily built metrics --------------------------------------------------
    @property
    def built(self) -> bool:
        """Whether the metric has created all its state (some wait for the first batch)."""
        return True

    def ensure_built(self, y_true=None, y_pred=None) -> None:
        """Creates state that depends on the data's shapes, if not created yet.

        Metrics such as ``F1Score``, ``R2Score`` and multi-label ``AUC`` size their
        variables from the first batch. Call this with arrays (or
        ``jax.ShapeDtypeStruct``) of one batch before ``stateless_reset_state`` so
        the state list has its final length from the start. A no-op for metrics
        whose state does not depend on the data.
        """
        return None

    # -- functional API --------------------------------------------------------
    def _mapping(self, metric_variables, what: str) -> list:
        variables = self.variables
        if not isinstance(metric_variables, (list, tuple)) or len(metric_variables) != len(
                variables):
            received = (f"a list of length {len(metric_variables)}"
                        if isinstance(metric_variables, (list, tuple))
                        else type(metric_variables).__name__)
            raise ValueError(
                f"{what} of metric '{self.name}' expects a list of {len(variables)} values, "
                f"one per entry of `metric.variables` ({[v.path for v in variables]}); "
                f"received {received}.")
        # Variables passed as state stand for their current values.
        return [(var, to_value(value)) for var, value in zip(variables, metric_variables)]

    def stateless_reset_state(self) -> list:
        """The initial values of ``self.variables``, as a list of ``jax.Array``."""
        with StatelessScope() as scope:
            self.reset_state()
        return [scope.new_value(v) for v in self.variables]

    def stateless_update_state(self, metric_variables, *args, **kwargs) -> list:
        """Pure version of ``update_state``: returns the new values of the state.

        Args:
            metric_variables: the current values of ``self.variables`` (same order).
            *args, **kwargs: what ``update_state`` takes (``y_true, y_pred,
                sample_weight``, or ``values, sample_weight`` for ``Mean``/``Sum``).

        Returns:
            The list of updated values. The metric's variables are not modified, so
            this can run under ``jax.jit``.
        """
        mapping = self._mapping(metric_variables, "stateless_update_state")
        with StatelessScope(mapping) as scope:
            self.update_state(*args, **kwargs)
        # A lazily built metric may have created its variables during the update.
        return [scope.new_value(v) for v in self.variables]

    def stateless_result(self, metric_variables):
        """Pure version of ``result``: the metric value for the given state values."""
        mapping = self._mapping(metric_variables, "stateless_result")
        with StatelessScope(mapping):
            out = self.result()
            return jax.tree_util.tree_map(to_value, out,
                                          is_leaf=lambda x: isinstance(x, Variable))

    # -- serialization ---------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this metric (Keras 3's keys)."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        """Builds a metric from the output of :meth:`get_config`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"

    def __str__(self) -> str:
        return self.__repr__()
