"""Dtype policies: the dtype a layer computes in and the dtype of its variables."""

from __future__ import annotations

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
