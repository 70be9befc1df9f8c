"""Element-wise ops of two tensors (``keras.ops.numpy``): arithmetic, comparisons,
logic and bits. Operands are promoted to their Keras result type first, so Python
scalars are weak (``int8_tensor + 1`` stays int8) as in Keras."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, dtype_of, promote, result_type, tensor
from lamina.ops.operation import keras_op


def _float_promote(x1, x2):
    """Both operands in their result type, at least a float (``floatx()`` for ints)."""
    dtype = result_type(dtype_of(x1), dtype_of(x2), float)
    return jnp.asarray(x1, dtype), jnp.asarray(x2, dtype)


def _int_promote(x1, x2):
    """Both operands in their result type; bools are computed as int32."""
    (a, b), dtype = promote(x1, x2)
    if dtype == "bool":
        return a.astype("int32"), b.astype("int32")
    return a, b


# -- arithmetic -------------------------------------------------------------------------
@keras_op(NUMPY)
def add(x1, x2):
    """Element-wise ``x1 + x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.add(a, b)


@keras_op(NUMPY)
def subtract(x1, x2):
    """Element-wise ``x1 - x2``."""
    (a, b), dtype = promote(x1, x2)
    if dtype == "bool":
        return jnp.logical_xor(a, b)
    return jnp.subtract(a, b)


@keras_op(NUMPY)
def multiply(x1, x2):
    """Element-wise ``x1 * x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.multiply(a, b)


@keras_op(NUMPY)
def divide(x1, x2):
    """Element-wise true division; integers divide as floats."""
    return jnp.true_divide(*_float_promote(x1, x2))


@keras_op(NUMPY)
def true_divide(x1, x2):
    """Element-wise true division (alias of ``divide``)."""
    return jnp.true_divide(*_float_promote(x1, x2))


@keras_op(NUMPY)
def divide_no_nan(x1, x2):
    """``x1 / x2``, 0 where ``x2`` is 0."""
    a, b = _float_promote(x1, x2)
    safe = jnp.where(b == 0, jnp.ones_like(b), b)
    return jnp.where(b == 0, jnp.zeros_like(a * b), a / safe)


@keras_op(NUMPY)
def floor_divide(x1, x2):
    """Element-wise division rounded toward negative infinity."""
    return jnp.floor_divide(*_int_promote(x1, x2))


@keras_op(NUMPY)
def mod(x1, x2):
    """Element-wise remainder with the sign of the divisor."""
    return jnp.mod(*_int_promote(x1, x2))


@keras_op(NUMPY)
def fmod(x1, x2):
    """Element-wise remainder with the sign of the dividend."""
    return jnp.fmod(*_int_promote(x1, x2))


@keras_op(NUMPY)
def power(x1, x2):
    """Element-wise ``x1 ** x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.power(a, b)


@keras_op(NUMPY)
def maximum(x1, x2):
    """Element-wise maximum (NaN if either is NaN)."""
    (a, b), _ = promote(x1, x2)
    return jnp.maximum(a, b)


@keras_op(NUMPY)
def minimum(x1, x2):
    """Element-wise minimum (NaN if either is NaN)."""
    (a, b), _ = promote(x1, x2)
    return jnp.minimum(a, b)


@keras_op(NUMPY)
def fmax(x1, x2):
    """Element-wise maximum ignoring NaN."""
    (a, b), _ = promote(x1, x2)
    return jnp.fmax(a, b)


@keras_op(NUMPY)
def fmin(x1, x2):
    """Element-wise minimum ignoring NaN."""
    (a, b), _ = promote(x1, x2)
    return jnp.fmin(a, b)


@keras_op(NUMPY)
def arctan2(x1, x2):
    """Element-wise arc tangent of ``x1 / x2`` in the correct quadrant."""
    return jnp.arctan2(*_float_promote(x1, x2))


@keras_op(NUMPY)
def hypot(x1, x2):
    """Element-wise ``sqrt(x1**2 + x2**2)``."""
    return jnp.hypot(*_float_promote(x1, x2))


@keras_op(NUMPY)
def logaddexp(x1, x2):
    """Element-wise ``log(exp(x1) + exp(x2))``."""
    return jnp.logaddexp(*_float_promote(x1, x2))


@keras_op(NUMPY)
def logaddexp2(x1, x2):
    """Element-wise ``log2(2**x1 + 2**x2)``."""
    return jnp.logaddexp2(*_float_promote(x1, x2))


@keras_op(NUMPY)
def heaviside(x1, x2):
    """The Heaviside step of ``x1``, ``x2`` where ``x1 == 0``."""
    (a, b), dtype = promote(x1, x2)
    if not dtypes.is_float(dtype):
        a, b = a.astype(dtypes.floatx()), b.astype(dtypes.floatx())
    return jnp.heaviside(a, b)


@keras_op(NUMPY)
def nextafter(x1, x2):
    """The next float after ``x1`` toward ``x2``."""
    return jnp.nextafter(*_float_promote(x1, x2))


@keras_op(NUMPY)
def ldexp(x1, x2):
    """Element-wise ``x1 * 2 ** x2`` (``x2`` an integer)."""
    x1, x2 = tensor(x1), tensor(x2)
    if not jnp.issubdtype(x2.dtype, jnp.integer):
        raise ValueError(f"ldexp exponent must be an integer tensor, received dtype "
                         f"{dtypes.standardize(x2.dtype)}.")
    dtype = result_type(dtype_of(x1), float)
    return jnp.ldexp(x1.astype(dtype), x2)


@keras_op(NUMPY)
def gcd(x1, x2):
    """Element-wise greatest common divisor of integers."""
    return jnp.gcd(*_int_promote(x1, x2))


@keras_op(NUMPY)
def lcm(x1, x2):
    """Element-wise least common multiple of integers."""
    return jnp.lcm(*_int_promote(x1, x2))


# -- comparisons ------------------------------------------------------------------------
@keras_op(NUMPY)
def equal(x1, x2):
    """Element-wise ``x1 == x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.equal(a, b)


@keras_op(NUMPY)
def not_equal(x1, x2):
    """Element-wise ``x1 != x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.not_equal(a, b)


@keras_op(NUMPY)
def greater(x1, x2):
    """Element-wise ``x1 > x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.greater(a, b)


@keras_op(NUMPY)
def greater_equal(x1, x2):
    """Element-wise ``x1 >= x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.greater_equal(a, b)


@keras_op(NUMPY)
def less(x1, x2):
    """Element-wise ``x1 < x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.less(a, b)


@keras_op(NUMPY)
def less_equal(x1, x2):
    """Element-wise ``x1 <= x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.less_equal(a, b)


@keras_op(NUMPY, init=("equal_nan",))
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``|x1 - x2| <= atol + rtol * |x2|`` element-wise."""
    (a, b), _ = promote(x1, x2)
    return jnp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


@keras_op(NUMPY, class_name="AllClose", init=("rtol", "atol", "equal_nan"))
def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of ``x1`` is close to ``x2`` (see ``isclose``)."""
    (a, b), _ = promote(x1, x2)
    return jnp.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


# -- logic ------------------------------------------------------------------------------
@keras_op(NUMPY)
def logical_and(x1, x2):
    """Element-wise logical AND (non-zero is true)."""
    return jnp.logical_and(tensor(x1), tensor(x2))


@keras_op(NUMPY)
def logical_or(x1, x2):
    """Element-wise logical OR."""
    return jnp.logical_or(tensor(x1), tensor(x2))


@keras_op(NUMPY)
def logical_xor(x1, x2):
    """Element-wise logical XOR."""
    return jnp.logical_xor(tensor(x1), tensor(x2))


# -- bits -------------------------------------------------------------------------------
@keras_op(NUMPY)
def bitwise_and(x, y):
    """Element-wise bitwise AND of integers or bools."""
    (a, b), _ = promote(x, y)
    return jnp.bitwise_and(a, b)


@keras_op(NUMPY)
def bitwise_or(x, y):
    """Element-wise bitwise OR of integers or bools."""
    (a, b), _ = promote(x, y)
    return jnp.bitwise_or(a, b)


@keras_op(NUMPY)
def bitwise_xor(x, y):
    """Element-wise bitwise XOR of integers or bools."""
    (a, b), _ = promote(x, y)
    return jnp.bitwise_xor(a, b)


@keras_op(NUMPY)
def bitwise_left_shift(x, y):
    """Element-wise ``x << y``."""
    (a, b), _ = promote(x, y)
    return jnp.left_shift(a, b)


@keras_op(NUMPY)
def left_shift(x, y):
    """Element-wise ``x << y`` (alias of ``bitwise_left_shift``)."""
    (a, b), _ = promote(x, y)
    return jnp.left_shift(a, b)


@keras_op(NUMPY)
def bitwise_right_shift(x, y):
    """Element-wise ``x >> y``."""
    (a, b), _ = promote(x, y)
    return jnp.right_shift(a, b)


@keras_op(NUMPY)
def right_shift(x, y):
    """Element-wise ``x >> y`` (alias of ``bitwise_right_shift``)."""
    (a, b), _ = promote(x, y)
    return jnp.right_shift(a, b)
