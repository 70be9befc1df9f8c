"""Activation functions, as ``keras.activations``.

Each activation is a plain function of a JAX (or array-like) input that returns a
``jax.Array`` of the same shape. The defaults and formulas are Keras 3's. Built-in
activations carry ``_keras_builtin = True`` so configs name them by their bare
name (``"relu"``), exactly as Keras writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from lamina.saving import serialization as _ser

# Constants of the scaled ELU (Klambauer et al., 2017), as Keras uses them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _builtin(fn: Callable) -> Callable:
    fn._keras_builtin = True
    return fn


@_builtin
def relu(x, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> jax.Array:
    """Rectified linear unit, with Keras's optional leak, cap and threshold.

    Args:
        x: input array.
        negative_slope: slope applied to values below ``threshold``.
        max_value: if given, the non-leaky part is clipped to ``[0, max_value]``.
        threshold: values at or below it are zeroed (before the leak is applied).

    Returns:
        ``x`` where ``x > threshold`` (clipped to ``[0, max_value]`` when a cap is
        given), else ``negative_slope * (x - threshold)``.
    """
    x = jnp.asarray(x)
    if threshold != 0:
        out = jnp.where(x > threshold, x, jnp.zeros_like(x))
    else:
        out = jax.nn.relu(x)
    if max_value is not None:
        # Keras clips to [0, max_value]: with a negative threshold, values between
        # the threshold and 0 become 0 once a cap is set.
        out = jnp.clip(out, 0, max_value)
    if negative_slope != 0:
        out = out - negative_slope * jax.nn.relu(threshold - x)
    return out


@_builtin
def relu6(x) -> jax.Array:
    """ReLU capped at 6: ``min(max(x, 0), 6)``."""
    return jax.nn.relu6(jnp.asarray(x))


@_builtin
def leaky_relu(x, negative_slope: float = 0.2) -> jax.Array:
    """``x`` for positive inputs, ``negative_slope * x`` otherwise."""
    return jax.nn.leaky_relu(jnp.asarray(x), negative_slope=negative_slope)


@_builtin
def elu(x, alpha: float = 1.0) -> jax.Array:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    return jax.nn.elu(jnp.asarray(x), alpha=alpha)


@_builtin
def selu(x) -> jax.Array:
    """Scaled ELU: ``scale * elu(x, alpha)`` with the self-normalizing constants."""
    return _SELU_SCALE * jax.nn.elu(jnp.asarray(x), alpha=_SELU_ALPHA)


@_builtin
def softplus(x) -> jax.Array:
    """``log(exp(x) + 1)``, computed stably."""
    return jax.nn.softplus(jnp.asarray(x))


@_builtin
def softsign(x) -> jax.Array:
    """``x / (abs(x) + 1)``."""
    x = jnp.asarray(x)
    return x / (jnp.abs(x) + 1)


@_builtin
def softmax(x, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """Normalized exponentials along ``axis`` (an int or a tuple of ints); sums to 1 there."""
    return jax.nn.softmax(jnp.asarray(x), axis=axis)


@_builtin
def log_softmax(x, axis: int | tuple[int, ...] = -1) -> jax.Array:
    """Logarithm of :func:`softmax` along ``axis``, computed stably."""
    return jax.nn.log_softmax(jnp.asarray(x), axis=axis)


@_builtin
def sigmoid(x) -> jax.Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return jax.nn.sigmoid(jnp.asarray(x))


@_builtin
def hard_sigmoid(x) -> jax.Array:
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6`` (0 below -3, 1 above 3)."""
    return jax.nn.relu6(jnp.asarray(x) + 3.0) / 6.0


@_builtin
def hard_silu(x) -> jax.Array:
    """Hard SiLU (hard swish): ``x * relu6(x + 3) / 6``."""
    x = jnp.asarray(x)
    return x * (jax.nn.relu6(x + 3.0) / 6.0)


hard_swish = hard_silu


@_builtin
def silu(x) -> jax.Array:
    """SiLU (swish): ``x * sigmoid(x)``."""
    return jax.nn.silu(jnp.asarray(x))


swish = silu


@_builtin
def gelu(x, approximate: bool = False) -> jax.Array:
    """Gaussian error linear unit ``x * P(X <= x)`` for ``X ~ N(0, 1)``.

    Args:
        x: input array.
        approximate: use the tanh approximation instead of the exact erf form.
    """
    return jax.nn.gelu(jnp.asarray(x), approximate=approximate)


@_builtin
def tanh(x) -> jax.Array:
    """Hyperbolic tangent."""
    return jnp.tanh(jnp.asarray(x))


@_builtin
def tanh_shrink(x) -> jax.Array:
    """``x - tanh(x)``."""
    x = jnp.asarray(x)
    return x - jnp.tanh(x)


@_builtin
def exponential(x) -> jax.Array:
    """``exp(x)``."""
    return jnp.exp(jnp.asarray(x))


@_builtin
def linear(x) -> Any:
    """The identity: returns ``x`` unchanged."""
    return x


@_builtin
def mish(x) -> jax.Array:
    """``x * tanh(softplus(x))``."""
    x = jnp.asarray(x)
    return x * jnp.tanh(jax.nn.softplus(x))


@_builtin
def celu(x, alpha: float = 1.0) -> jax.Array:
    """Continuously differentiable ELU: ``max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)``."""
    return jax.nn.celu(jnp.asarray(x), alpha=alpha)


@_builtin
def glu(x, axis: int = -1) -> jax.Array:
    """Gated linear unit: splits ``x`` in two halves ``a, b`` along ``axis``, returns ``a * sigmoid(b)``.

    Raises:
        ValueError: if the size of ``axis`` is odd.
    """
    x = jnp.asarray(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even, received shape "
                         f"{tuple(x.shape)}.")
    a, b = jnp.split(x, 2, axis=axis)
    return a * jax.nn.sigmoid(b)


@_builtin
def hard_tanh(x) -> jax.Array:
    """``x`` clipped to ``[-1, 1]``."""
    return jnp.clip(jnp.asarray(x), -1, 1)


@_builtin
def log_sigmoid(x) -> jax.Array:
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably."""
    return jax.nn.log_sigmoid(jnp.asarray(x))


@_builtin
def soft_shrink(x, threshold: float = 0.5) -> jax.Array:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    x = jnp.asarray(x)
    zero = jnp.zeros_like(x)
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, zero))


@_builtin
def hard_shrink(x, threshold: float = 0.5) -> jax.Array:
    """``x`` where ``abs(x) > threshold``, else 0."""
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


@_builtin
def squareplus(x, b: float = 4) -> jax.Array:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU; ``b`` sets the curvature near 0."""
    x = jnp.asarray(x)
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


@_builtin
def sparse_plus(x) -> jax.Array:
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    x = jnp.asarray(x)
    return jnp.where(x <= -1, jnp.zeros_like(x),
                     jnp.where(x >= 1, x, jnp.square(x + 1) / 4))


@_builtin
def sparse_sigmoid(x) -> jax.Array:
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 for ``x >= 1``."""
    x = jnp.asarray(x)
    return jnp.clip((x + 1) / 2, 0, 1)


@_builtin
def threshold(x, threshold: float, default_value: float) -> jax.Array:
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, dtype=x.dtype))


@_builtin
def sparsemax(x, axis: int = -1) -> jax.Array:
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the simplex.

    Like softmax the outputs along ``axis`` are non-negative and sum to 1, but
    entries below a data-dependent threshold are exactly 0.
    """
    x = jnp.asarray(x)
    z = jnp.moveaxis(x, axis, -1)
    z_sorted = -jnp.sort(-z, axis=-1)
    cumsum = jnp.cumsum(z_sorted, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    # The support holds the k largest entries for which 1 + k * z_(k) > sum_{j<=k} z_(j).
    in_support = (1 + k * z_sorted) > cumsum
    support_size = jnp.sum(in_support, axis=-1, keepdims=True)
    support_sum = jnp.take_along_axis(cumsum, support_size.astype("int32") - 1, axis=-1)
    tau = (support_sum - 1) / support_size.astype(z.dtype)
    out = jnp.maximum(z - tau, 0)
    return jnp.moveaxis(out, -1, axis)


_ACTIVATIONS = (
    relu, relu6, leaky_relu, elu, selu, softplus, softsign, softmax, log_softmax, sigmoid,
    hard_sigmoid, hard_silu, silu, gelu, tanh, tanh_shrink, exponential, linear, mish, celu,
    glu, hard_tanh, log_sigmoid, soft_shrink, hard_shrink, squareplus, sparse_plus,
    sparse_sigmoid, threshold, sparsemax,
)

# Name -> function for every name a config or a string identifier may use.
ALL_OBJECTS_DICT: dict[str, Callable] = {fn.__name__: fn for fn in _ACTIVATIONS}
ALL_OBJECTS_DICT.update({"swish": silu, "hard_swish": hard_silu})


def serialize(activation: Callable) -> Any:
    """Returns the config of an activation as Keras writes it.

    Built-in activations serialize to their name (``"relu"``; aliases to their
    canonical name, e.g. ``swish`` to ``"silu"``); other callables (registered
    functions, layer objects) to a Keras-3 object dict.
    """
    if isinstance(activation, str):
        return activation
    return _ser.serialize_keras_object(activation)


def deserialize(config: Any, custom_objects: dict | None = None) -> Callable:
    """Returns the activation named or described by ``config``.

    Args:
        config: a name (``"relu"``) or a Keras-3 serialized dict.
        custom_objects: extra name -> function/class mappings.

    Raises:
        ValueError: if the name is unknown.
    """
    return _ser.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                         custom_objects=custom_objects)


def get(identifier: Any) -> Callable:
    """Resolves an activation identifier to a callable.

    Args:
        identifier: ``None`` (gives :func:`linear`), a name, a serialized dict,
            or a callable (returned unchanged).

    Raises:
        ValueError: if a name is unknown or the identifier cannot be interpreted.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _ser.get_registered_object(identifier, module_objects=ALL_OBJECTS_DICT)
        if fn is None:
            raise ValueError(f"Unknown activation function {identifier!r}: expected one of "
                             f"{sorted(ALL_OBJECTS_DICT)} or a registered custom object.")
        return fn
    if isinstance(identifier, dict):
        fn = deserialize(identifier)
    else:
        fn = identifier
    if callable(fn):
        return fn
    raise ValueError("Could not interpret activation function identifier: expected None, a "
                     f"name, a config dict or a callable, received {identifier!r}.")


__all__ = [*ALL_OBJECTS_DICT, "serialize", "deserialize", "get"]
