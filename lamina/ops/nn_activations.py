"""Activation ops (``keras.ops.nn``): rectifiers, sigmoids, smooth and sparse
activations, shrinkage functions and (log-)softmax/sparsemax."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.ops.op_utils import NN, axis_arg, tensor, to_float
from lamina.ops.operation import keras_op


def _bool_as_int(x):
    x = tensor(x)
    return x.astype("int32") if x.dtype == jnp.bool_ else x


@keras_op(NN)
def relu(x):
    """``max(x, 0)``."""
    return jax.nn.relu(_bool_as_int(x))


@keras_op(NN)
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return jax.nn.relu6(tensor(x))


@keras_op(NN)
def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return jax.nn.sigmoid(to_float(x))


@keras_op(NN)
def sparse_sigmoid(x):
    """0 below -1, 1 above 1, linear ``(x + 1) / 2`` in between."""
    x = to_float(x)
    return jnp.clip(0.5 * (x + 1.0), 0.0, 1.0).astype(x.dtype)


@keras_op(NN)
def softplus(x):
    """``log(1 + exp(x))``."""
    return jax.nn.softplus(to_float(x))


@keras_op(NN)
def softsign(x):
    """``x / (1 + |x|)``."""
    return jax.nn.soft_sign(to_float(x))


@keras_op(NN)
def sparse_plus(x):
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` in between."""
    x = to_float(x)
    return jnp.where(x <= -1, jnp.zeros_like(x),
                     jnp.where(x >= 1, x, jnp.square(x + 1) / 4))


@keras_op(NN)
def silu(x):
    """``x * sigmoid(x)`` (swish)."""
    return jax.nn.silu(to_float(x))


@keras_op(NN, init=("b",))
def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth rectifier."""
    x = to_float(x)
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


@keras_op(NN)
def log_sigmoid(x):
    """``log(sigmoid(x))``, computed stably."""
    return jax.nn.log_sigmoid(to_float(x))


@keras_op(NN, init=("negative_slope",))
def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return jax.nn.leaky_relu(to_float(x), negative_slope=negative_slope)


@keras_op(NN)
def hard_sigmoid(x):
    """``relu6(x + 3) / 6``."""
    return jax.nn.hard_sigmoid(to_float(x))


@keras_op(NN)
def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    return jax.nn.hard_silu(to_float(x))


@keras_op(NN)
def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]`` (integers stay integers)."""
    x = _bool_as_int(x)
    return jnp.clip(x, -1, 1) if not jnp.issubdtype(x.dtype, jnp.unsignedinteger) else (
        jnp.minimum(x, 1))


@keras_op(NN, init=("threshold",))
def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    x = to_float(x)
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


@keras_op(NN, init=("threshold",))
def soft_shrink(x, threshold=0.5):
    """``x`` moved toward 0 by ``threshold`` (0 within ``[-threshold, threshold]``)."""
    x = to_float(x)
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, jnp.zeros_like(x)))


@keras_op(NN)
def tanh_shrink(x):
    """``x - tanh(x)``."""
    x = to_float(x)
    return x - jnp.tanh(x)


@keras_op(NN, init=("threshold", "default_value"))
def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = to_float(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


@keras_op(NN, init=("alpha",))
def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return jax.nn.elu(to_float(x), alpha=alpha)


@keras_op(NN)
def selu(x):
    """The scaled ELU with the self-normalizing constants."""
    return jax.nn.selu(to_float(x))


@keras_op(NN, init=("alpha",))
def celu(x, alpha=1.0):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return jax.nn.celu(to_float(x), alpha=alpha)


@keras_op(NN, init=("approximate",))
def gelu(x, approximate=True):
    """The Gaussian error linear unit (tanh approximation by default)."""
    return jax.nn.gelu(to_float(x), approximate=approximate)


@keras_op(NN, init=("axis",))
def glu(x, axis=-1):
    """The gated linear unit: ``a * sigmoid(b)`` for the two halves of ``x`` along
    ``axis``."""
    x = to_float(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu expects an even size along axis {axis}, received shape "
                         f"{tuple(x.shape)}.")
    a, b = jnp.split(x, 2, axis=axis)
    return a * jax.nn.sigmoid(b)


@keras_op(NN, init=("axis",))
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int or a tuple of ints)."""
    return jax.nn.softmax(to_float(x), axis=axis_arg(axis))


@keras_op(NN, init=("axis",))
def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably."""
    return jax.nn.log_softmax(to_float(x), axis=axis_arg(axis))


@keras_op(NN, init=("axis",))
def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis``
    (a softmax that gives exact zeros)."""
    x = to_float(x)
    z = jnp.moveaxis(x, axis, -1)
    z_sorted = jnp.flip(jnp.sort(z, axis=-1), axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumsum = jnp.cumsum(z_sorted, axis=-1)
    support = (1 + k * z_sorted) > cumsum
    k_z = jnp.sum(support, axis=-1, keepdims=True).astype(z.dtype)
    tau = (jnp.take_along_axis(cumsum, k_z.astype("int32") - 1, axis=-1) - 1) / k_z
    return jnp.moveaxis(jnp.maximum(z - tau, 0), -1, axis)


# Keras records these aliases as the operations they alias.
swish = silu
hard_swish = hard_silu
