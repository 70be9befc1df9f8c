"""Variables and the stateless scope.

A :class:`Variable` is a named, shaped slot whose value is a ``jax.Array``.
Outside any scope, reading ``v.value`` gives the stored array and ``v.assign``
replaces it. Inside a :class:`StatelessScope` (entered by ``stateless_call``
while JAX traces), reads return the value the scope maps the variable to and
assignments are recorded in the scope instead of mutating the variable, so the
traced function stays pure and the caller writes new values back afterwards.
"""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.distribution import context as distribution_context
from lamina.dtype_policy import get_autocast_scope
from lamina.name_scopes import scoped_path

_local = threading.local()


def _scope_stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def current_scope() -> StatelessScope | None:
    stack = _scope_stack()
    return stack[-1] if stack else None


class AllocationBudget:
    """Caps the bytes that Variables created inside it may allocate (a context manager).

    A file loader rebuilding a model from an untrusted config enters one sized from the
    weights it is about to read: the variables a genuine file describes fit in those
    bytes, while a config declaring e.g. ``Dense(units=10**9)`` is refused with a
    ValueError before its initializer allocates anything.

    Args:
        max_bytes: the budget.
        what: names the source in the error (e.g. "the .keras file 'm.keras'").
    """

    def __init__(self, max_bytes: int, what: str):
        self.remaining = int(max_bytes)
        self.what = what

    @classmethod
    def for_weights(cls, weights_bytes: int, what: str) -> AllocationBudget:
        """The budget for a model rebuilt from a file whose weights take
        ``weights_bytes``: those bytes plus room for state files do not carry (seed
        generators, metrics, a stateful RNN's carried state)."""
        return cls(int(weights_bytes * 1.25) + (64 << 20), what)

    def spend(self, nbytes: int, name: str) -> None:
        """Takes ``nbytes`` for the variable ``name``, or raises ValueError."""
        if nbytes > self.remaining:
            raise ValueError(
                f"Variable '{name}' needs {nbytes} bytes, more than {self.what} can "
                f"describe ({self.remaining} bytes left of the budget taken from its "
                "weights): refused before allocating it.")
        self.remaining -= nbytes

    def __enter__(self):
        _local.budgets = getattr(_local, "budgets", []) + [self]
        return self

    def __exit__(self, *exc):
        _local.budgets = _local.budgets[:-1]


def _spend_budget(shape: tuple, dtype: str, name: str) -> None:
    budgets = getattr(_local, "budgets", None)
    if budgets:
        size = int(np.prod(shape, dtype=object)) * jnp.dtype(dtype).itemsize
        budgets[-1].spend(size, name)


class StatelessScope:
    """Maps variables to (possibly traced) values and collects what a call produces.

    Args:
        state_mapping: ``(variable, value)`` pairs read in place of stored values
            (None: no mapping).
        collect_losses: whether ``add_loss`` calls are collected (for training).
        initialize_variables: accepted for Keras compatibility; lamina's variables
            always hold a value from their creation.
        key: a ``jax.random`` key that random layers derive their keys from.
        key_source: instead of ``key``, a function making the key, called once, when a
            random layer first asks (a compiled step splits the trainer's key only if
            the model draws).
        isolated: keep what the scope records (assignments, losses) from its parent.
    """

    def __init__(self, state_mapping=None, collect_losses: bool = False,
                 initialize_variables: bool = True, *, key=None, key_source=None,
                 isolated: bool = False):
        self._values: dict[int, object] = {}
        self._variables: dict[int, Variable] = {}
        self.initialize_variables = initialize_variables
        for var, value in state_mapping or ():
            self._values[id(var)] = value
            self._variables[id(var)] = var
        self.assigned: dict[int, object] = {}
        self._key = key
        self._key_source = key_source
        self.collect_losses = collect_losses
        self.losses: list = []
        self._key_counts: dict[int, int] = {}
        # An isolated scope (abstract evaluation) keeps what it records to itself.
        self.isolated = isolated

    def get(self, var: Variable):
        vid = id(var)
        if vid in self.assigned:
            return self.assigned[vid]
        return self._values.get(vid)

    def assign(self, var: Variable, value) -> None:
        self.assigned[id(var)] = value
        self._variables[id(var)] = var

    def get_current_value(self, variable: Variable):
        """The value ``variable`` has in this scope (assigned or mapped), or None when
        the scope neither maps nor assigned it."""
        return self.get(variable)

    def add_update(self, update) -> None:
        """Records ``update``, a ``(variable, value)`` pair, as an assignment."""
        variable, value = update
        self.assign(variable, value)

    def add_loss(self, loss) -> None:
        """Adds ``loss`` to the losses the scope collects."""
        self.losses.append(loss)

    def new_value(self, var: Variable):
        """The value ``var`` holds at the end of the scope."""
        value = self.get(var)
        return var._value if value is None else value

    @property
    def has_key(self) -> bool:
        """Whether random layers draw from this scope's key (reading it makes it)."""
        return self._key is not None or self._key_source is not None

    @property
    def key(self):
        if self._key is None and self._key_source is not None:
            self._key, self._key_source = self._key_source(), None
        return self._key

    def next_key(self, owner_id: int):
        """A key for the ``n``-th random draw of the owner within this scope."""
        count = self._key_counts.get(owner_id, 0)
        self._key_counts[owner_id] = count + 1
        key = jax.random.fold_in(self.key, owner_id & 0x7FFFFFFF)
        return jax.random.fold_in(key, count)

    def __enter__(self):
        parent = current_scope()
        if parent is not None:
            # Nested scopes see the parent's values for variables they do not map.
            for vid, value in parent._values.items():
                self._values.setdefault(vid, value)
            for vid, value in parent.assigned.items():
                self._values.setdefault(vid, value)
            if not self.has_key and parent.has_key:
                self._key_source = lambda: parent.key
        _scope_stack().append(self)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()
        parent = current_scope()
        if parent is not None and not self.isolated:
            parent.assigned.update(self.assigned)
            parent.losses.extend(self.losses)


class Variable:
    """A named, shaped slot holding a ``jax.Array``.

    Args:
        initializer: an initial value (array-like) or a callable
            ``initializer(shape, dtype)``.
        shape: the shape, required when ``initializer`` is callable.
        dtype: the dtype; defaults to the initial value's floating dtype or float32.
        trainable: whether gradients are taken for this variable.
        name: the variable's name (e.g. ``"kernel"``).
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable: bool = True,
                 name: str | None = None, autocast: bool = True, aggregation="none",
                 synchronization="auto", path: str | None = None):
        self.name = name or "variable"
        # Inside `name_scope`s the path gets the scopes' prefix, as in Keras.
        self.path = scoped_path(path or self.name)
        self.trainable = bool(trainable)
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        if callable(initializer):
            if shape is None:
                raise ValueError(f"Variable '{self.name}': a shape is required when the "
                                 "initializer is callable.")
            shape = tuple(int(d) for d in shape)
            dtype = dtypes.standardize(dtype or dtypes.floatx())
            _spend_budget(shape, dtype, self.path)
            value = initializer(shape, dtype=dtype)
        else:
            value = initializer
            if dtype is None:
                arr = np.asarray(value) if not isinstance(value, jax.Array) else value
                dtype = arr.dtype if not np.issubdtype(arr.dtype, np.floating) else (
                    dtypes.floatx() if arr.dtype == np.float64 else arr.dtype)
            dtype = dtypes.standardize(dtype)
        with jax.ensure_compile_time_eval():
            self._value = jnp.asarray(value, dtype=dtype)
        if shape is not None and tuple(self._value.shape) != tuple(shape):
            raise ValueError(f"Variable '{self.name}': initial value has shape "
                             f"{tuple(self._value.shape)}, expected {tuple(shape)}.")
        placer = distribution_context.distribution()
        if placer is not None:  # created under a distribution: placed with its layout
            with jax.ensure_compile_time_eval():
                self._value = placer.place_variable(self)

    # -- value access -------------------------------------------------------
    @property
    def value(self):
        """The current value; inside a mixed-precision layer's call a float variable
        reads in the compute dtype (``dtype_policy.AutocastScope``)."""
        scope = current_scope()
        value = None if scope is None else scope.get(self)
        if value is None:
            value = self._value
        cast = get_autocast_scope() if self.autocast else None
        return value if cast is None else cast.maybe_cast(value)

    def assign(self, value):
        scope = current_scope()
        if scope is not None:
            scope.assign(self, jnp.asarray(value, dtype=self.dtype))
            return value
        value = jnp.asarray(value, dtype=self.dtype)
        if tuple(value.shape) != self.shape:
            raise ValueError(f"Cannot assign a value of shape {tuple(value.shape)} to variable "
                             f"'{self.path}' of shape {self.shape}.")
        self._value = value
        return value

    def write(self, value) -> None:
        """Replaces the stored array by ``value`` as it is, outside any scope.

        The write-back of a compiled step: ``value`` is an array the step computed
        for this variable, so it is neither converted nor checked.
        """
        self._value = value

    def assign_add(self, delta):
        return self.assign(self.value + delta)

    def assign_sub(self, delta):
        return self.assign(self.value - delta)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    @property
    def shape(self) -> tuple:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> str:
        return dtypes.standardize(self._value.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype=None, copy=None):
        arr = np.asarray(self.value)
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.asarray(self._value)}>")

    # Arithmetic reads the current value, so ``x @ layer.kernel`` works in calls.
    def __neg__(self):
        return -self.value

    def __getitem__(self, idx):
        return self.value[idx]

    def __len__(self):
        return self.shape[0]

    def __bool__(self):
        raise TypeError("A Variable cannot be used as a Python bool.")


def _binop(name):
    def op(self, other):
        other = other.value if isinstance(other, Variable) else other
        return getattr(self.value, name)(other)

    op.__name__ = name
    return op


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__matmul__", "__rmatmul__", "__pow__",
              "__rpow__", "__floordiv__", "__mod__", "__lt__", "__le__", "__gt__", "__ge__"):
    setattr(Variable, _name, _binop(_name))


def to_value(x):
    """The array behind ``x`` when it is a Variable, else ``x`` unchanged."""
    return x.value if isinstance(x, Variable) else x
