"""The ``Loss`` base class, its reductions and sample weighting, and ``LossFunctionWrapper``.

A loss object turns ``(y_true, y_pred)`` into per-sample losses with ``call`` and
then weights and reduces them in ``__call__``, exactly as Keras 3 does:

* ``sample_weight`` is aligned to the per-sample losses (a trailing dimension of 1
  is dropped or added) and multiplied in; it may have fewer dimensions than the
  losses (e.g. per-timestep weights of shape ``(batch, T)`` for losses of shape
  ``(batch, T)`` computed from ``(batch, T, C)`` outputs) and then broadcasts.
* a ``mask`` (the Keras mask of ``y_pred``) zeroes masked entries. For the
  mean-like reductions the mask is first rescaled by ``total / valid`` so the
  result is the mean over the unmasked entries; it then multiplies into the
  sample weight.
* reductions: ``"sum_over_batch_size"``/``"mean"`` divide the weighted sum by the
  number of loss entries, ``"sum"`` does not divide, ``"mean_with_sample_weight"``
  divides by the sum of the (aligned, unbroadcast) weights, ``"none"``/``None``
  return the weighted per-sample losses.

Everything is jax.numpy on static shapes, so it runs inside jitted train steps.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from lamina import dtypes
from lamina.losses._utils import epsilon, squeeze_or_expand_to_same_rank
from lamina.losses.functions import BUILTIN_FUNCTIONS, FUNCTION_ALIASES
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object
from lamina.utils.naming import to_snake_case, uniquify

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
_MEAN_LIKE = ("sum_over_batch_size", "mean")


def standardize_reduction(reduction):
    """Returns ``reduction`` if it is one Keras accepts, else raises ValueError."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
            f"Received: reduction={reduction!r}")
    return reduction


def _compute_dtype(dtype) -> str:
    # A loss computes in its dtype policy's compute dtype: "mixed_float16" -> float16.
    if dtype is None:
        return dtypes.floatx()
    compute = getattr(dtype, "compute_dtype", None)
    if isinstance(compute, str):
        return dtypes.standardize(compute)
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return dtypes.standardize(dtype[len("mixed_"):])
    return dtypes.standardize(dtype)


def _divide_no_nan(x, y):
    safe = jnp.where(y == 0, jnp.ones_like(y), y)
    return jnp.where(y == 0, jnp.zeros_like(x), x / safe)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces (already weighted) ``values`` to a scalar as ``reduction`` says.

    Args:
        values: the weighted per-sample losses.
        sample_weight: the aligned weights; only ``"mean_with_sample_weight"``
            uses them, as its divisor.
        reduction: one of :data:`REDUCTIONS`.

    Returns:
        A scalar, or ``values`` unchanged for ``"none"``/``None`` and for values of
        shape ``()`` or ``(0,)``.
    """
    shape = jnp.shape(values)
    if reduction is None or reduction == "none" or shape == () or shape == (0,):
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = jnp.sum(sample_weight).astype(total.dtype)
    else:
        count = 1
        for d in shape:
            count *= d
        divisor = jnp.asarray(count, dtype=total.dtype)
    return _divide_no_nan(total, divisor)


def apply_mask(sample_weight, mask, dtype, reduction):
    """Folds a mask into the sample weight and returns the combined weight.

    For ``"sum_over_batch_size"`` and ``"mean"`` the mask is scaled by
    ``size / (count of valid entries + epsilon)`` so that dividing by the number of
    entries later yields the mean over the valid ones.
    """
    if mask is None:
        return sample_weight
    mask = jnp.asarray(mask).astype(dtype)
    if reduction in _MEAN_LIKE:
        total = jnp.asarray(mask.size, dtype=dtype)
        valid = jnp.sum(mask)
        mask = mask * (total / (valid + epsilon()))
    if sample_weight is None:
        return mask
    sample_weight = jnp.asarray(sample_weight).astype(dtype)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weights per-sample losses by ``sample_weight`` and ``mask`` and reduces them.

    Args:
        values: per-sample losses.
        sample_weight: optional weights, broadcastable to ``values`` after a
            trailing dimension of 1 is aligned.
        mask: optional boolean (or 0/1) mask of the entries that count.
        reduction: one of :data:`REDUCTIONS`.
        dtype: the dtype to compute in (floatx by default).

    Returns:
        The reduced loss (a scalar), or the weighted losses for ``"none"``.
    """
    reduction = standardize_reduction(reduction)
    dtype = _compute_dtype(dtype)
    values = jnp.asarray(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype=dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        sample_weight = sample_weight.astype(values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


def _to_array(x, dtype):
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype=dtype), x)


class Loss:
    """Base class of losses, as ``keras.losses.Loss``.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses;
    calling the object weights and reduces them.

    Args:
        name: the loss name; defaults to the snake-cased class name, made unique
            (``"loss"``, ``"loss_1"``, ...).
        reduction: how per-sample losses become the returned value:
            ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or ``None``.
        dtype: the dtype (or dtype policy) the loss computes in; floatx by default.
    """

    _keras_module = "keras"

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None):
        # Unnamed losses get unique names, "loss", "loss_1", ..., from the counter layers use.
        self.name = name or uniquify(to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = _compute_dtype(dtype)

    @property
    def dtype(self) -> str:
        """The dtype inputs are converted to and the loss is computed in."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        """Computes the weighted, reduced loss.

        Args:
            y_true: ground-truth values (integer class labels for sparse losses).
            y_pred: predictions.
            sample_weight: optional per-sample (or per-timestep, ...) weights.
            mask: optional Keras mask of ``y_pred`` (True where an entry counts),
                shaped like the per-sample losses; combined with any mask the loss
                itself produces (e.g. ``ignore_class``) and with ``sample_weight``
                as Keras combines them.

        Returns:
            A scalar, or per-sample losses when ``reduction`` is ``"none"``/``None``.
        """
        y_pred = _to_array(y_pred, self.dtype)
        y_true = _to_array(y_true, self.dtype)
        values, own_mask = self._call_with_mask(y_true, y_pred)
        if mask is not None and own_mask is not None:
            mask = jnp.logical_and(jnp.asarray(mask, dtype=bool), own_mask)
        elif own_mask is not None:
            mask = own_mask
        return reduce_weighted_values(values, sample_weight=sample_weight, mask=mask,
                                      reduction=self.reduction, dtype=self.dtype)

    def _call_with_mask(self, y_true, y_pred):
        # Returns (per-sample losses, mask of the entries that count or None). Losses that
        # exclude some entries themselves (sparse cross-entropy's ignore_class) override this.
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        """Returns the per-sample losses; subclasses must implement it."""
        raise NotImplementedError(
            f"{type(self).__name__}.call(y_true, y_pred) is not implemented: subclasses of "
            "Loss must define it.")

    def get_config(self) -> dict:
        """The constructor arguments, as Keras writes them (``name`` and ``reduction``)."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        """Builds the loss from :meth:`get_config` output."""
        return cls(**config)


def serialize_function(fn: Callable):
    """Keras's serialized form of a loss function: a ``builtins.function`` dict for built-ins."""
    if BUILTIN_FUNCTIONS.get(getattr(fn, "__name__", None)) is fn:
        return {"module": "builtins", "class_name": "function", "config": fn.__name__,
                "registered_name": "function"}
    return serialize_keras_object(fn)


def deserialize_function(config, custom_objects: dict | None = None):
    """Inverse of :func:`serialize_function`: a function from its name or serialized dict."""
    if callable(config):
        return config
    return deserialize_keras_object(config, module_objects={**BUILTIN_FUNCTIONS, **FUNCTION_ALIASES},
                                    custom_objects=custom_objects)


class LossFunctionWrapper(Loss):
    """A Loss that calls a function ``fn(y_true, y_pred, **kwargs)`` for per-sample losses.

    Args:
        fn: the loss function.
        reduction: as for :class:`Loss`.
        name: the loss name; defaults to ``"loss_function_wrapper"``.
        dtype: as for :class:`Loss`.
        **kwargs: extra keyword arguments passed to ``fn`` on every call.
    """

    _keras_module = "keras.src.losses.losses"

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not callable(fn):
            fn = deserialize_function(fn)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        """Aligns ranks (a trailing 1 is dropped or added) and returns ``fn``'s per-sample losses."""
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _call_with_mask(self, y_true, y_pred):
        # Built-in functions that leave some entries out (sparse cross-entropy's ignore_class,
        # circle's anchors without positives) expose a variant that also returns that mask,
        # the counterpart of the Keras mask Keras attaches to their output.
        with_mask = getattr(self.fn, "_with_mask", None)
        if with_mask is None:
            return super()._call_with_mask(y_true, y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return with_mask(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["fn"] = serialize_function(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_function(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"
