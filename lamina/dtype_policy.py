"""Dtype policies: the dtype a layer computes in and the dtype of its variables."""

from __future__ import annotations

import contextlib
import threading

import jax

from lamina import dtypes


class DTypePolicy:
    """A layer's dtype policy, as ``keras.DTypePolicy``.

    Args:
        name: a dtype name (``"float32"``) or ``"mixed_float16"``/``"mixed_bfloat16"``
            (compute in 16 bits, keep variables in float32).
    """

    _keras_module = "keras"

    def __init__(self, name: str | None = None):
        name = name or dtypes.floatx()
        if isinstance(name, str) and name.startswith("mixed_"):
            self._compute = dtypes.standardize(name[len("mixed_"):])
            self._variable = "float32"
            self._name = name
        else:
            self._compute = self._variable = dtypes.standardize(name)
            self._name = self._compute

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute

    @property
    def variable_dtype(self) -> str:
        return self._variable

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """A float (or mixed float) dtype policy: Keras 3's name for the plain policy,
    kept so code and configs naming ``FloatDTypePolicy`` keep working."""


_GLOBAL_POLICY: list = [None]


def set_global_policy(policy) -> None:
    """Sets the policy new layers use when they are given no dtype."""
    _GLOBAL_POLICY[0] = None if policy is None else get(policy)


def global_policy() -> DTypePolicy:
    return _GLOBAL_POLICY[0] or DTypePolicy(dtypes.floatx())


def get(identifier) -> DTypePolicy:
    """A DTypePolicy from None (the global one), a name, a policy, or a serialized dict."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy"):
            raise ValueError(f"Expected a DTypePolicy config, received {identifier!r}")
        return DTypePolicy(**identifier.get("config", {}))
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    return DTypePolicy(dtypes.standardize(identifier))


# -- autocasting --------------------------------------------------------------
# Inside a layer's call whose policy is mixed, reading a float Variable gives its
# value in the compute dtype (the variable itself stays in its variable dtype), as
# Keras's AutocastScope does; layers never cast their weights themselves.
_autocast = threading.local()


class AutocastScope:
    """While entered, float Variables with ``autocast=True`` read as ``dtype``.

    Args:
        dtype: a float dtype name, or None to read variables as they are.
    """

    def __init__(self, dtype):
        if dtype is not None:
            dtype = dtypes.standardize(dtype)
            if not dtypes.is_float(dtype):
                raise ValueError(f"AutocastScope needs a floating-point dtype such as "
                                 f"'bfloat16', received dtype={dtype!r}.")
        self.dtype = dtype
        self._outer = None

    def maybe_cast(self, value):
        """``value`` in this scope's dtype when it is a float array, else unchanged."""
        if self.dtype is not None and dtypes.is_float(value.dtype) and (
                dtypes.standardize(value.dtype) != self.dtype):
            return value.astype(self.dtype)
        return value

    def __enter__(self):
        self._outer = get_autocast_scope()
        _autocast.scope = self
        return self

    def __exit__(self, *exc):
        _autocast.scope = self._outer


def get_autocast_scope() -> AutocastScope | None:
    """The innermost entered AutocastScope, or None."""
    return getattr(_autocast, "scope", None)


def layer_autocast(policy: DTypePolicy, autocast: bool):
    """The scope a layer's call runs in (Keras's rule): none needed when nothing
    changes, no casting for layers with ``autocast=False`` or a non-float compute
    dtype, else casting to the compute dtype when it differs from the scope's or,
    outside any scope, from the variable dtype (a mixed policy)."""
    current = get_autocast_scope()
    compute = policy.compute_dtype
    if current is not None:
        if not autocast or not dtypes.is_float(compute):
            return AutocastScope(None)
        if current.dtype != compute:
            return AutocastScope(compute)
        return contextlib.nullcontext()
    if autocast and compute != policy.variable_dtype and dtypes.is_float(compute):
        return AutocastScope(compute)
    return contextlib.nullcontext()


def cast_float_array(x, dtype: str):
    """``x`` cast to ``dtype`` when it is a float JAX array (or tracer) of another
    dtype; anything else unchanged. A layer's inputs go through this (Keras casts a
    mixed layer's float inputs to its compute dtype)."""
    if isinstance(x, jax.Array) and dtypes.is_float(x.dtype) and (
            dtypes.standardize(x.dtype) != dtype):
        return x.astype(dtype)
    return x
