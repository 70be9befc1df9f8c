"""Element-wise ops of one tensor (``keras.ops.numpy``): math functions, rounding,
predicates and bitwise negation."""

from __future__ import annotations

import jax.numpy as jnp

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, tensor, to_float
from lamina.ops.operation import keras_op


def _keep_bool_as_int(x):
    """``x`` as an array; bools become int32 for ops that do arithmetic on them."""
    x = tensor(x)
    return x.astype("int32") if x.dtype == jnp.bool_ else x


# -- float-valued functions: integer and bool inputs compute in floatx() ------------
@keras_op(NUMPY)
def sin(x):
    """Element-wise sine."""
    return jnp.sin(to_float(x))


@keras_op(NUMPY)
def cos(x):
    """Element-wise cosine."""
    return jnp.cos(to_float(x))


@keras_op(NUMPY)
def tan(x):
    """Element-wise tangent."""
    return jnp.tan(to_float(x))


@keras_op(NUMPY)
def arcsin(x):
    """Element-wise inverse sine."""
    return jnp.arcsin(to_float(x))


@keras_op(NUMPY)
def arccos(x):
    """Element-wise inverse cosine."""
    return jnp.arccos(to_float(x))


@keras_op(NUMPY)
def arctan(x):
    """Element-wise inverse tangent."""
    return jnp.arctan(to_float(x))


@keras_op(NUMPY)
def sinh(x):
    """Element-wise hyperbolic sine."""
    return jnp.sinh(to_float(x))


@keras_op(NUMPY)
def cosh(x):
    """Element-wise hyperbolic cosine."""
    return jnp.cosh(to_float(x))


@keras_op(NUMPY)
def tanh(x):
    """Element-wise hyperbolic tangent."""
    return jnp.tanh(to_float(x))


@keras_op(NUMPY)
def arcsinh(x):
    """Element-wise inverse hyperbolic sine."""
    return jnp.arcsinh(to_float(x))


@keras_op(NUMPY)
def arccosh(x):
    """Element-wise inverse hyperbolic cosine."""
    return jnp.arccosh(to_float(x))


@keras_op(NUMPY)
def arctanh(x):
    """Element-wise inverse hyperbolic tangent."""
    return jnp.arctanh(to_float(x))


@keras_op(NUMPY)
def exp(x):
    """Element-wise ``e ** x``."""
    return jnp.exp(to_float(x))


@keras_op(NUMPY)
def exp2(x):
    """Element-wise ``2 ** x``."""
    return jnp.exp2(to_float(x))


@keras_op(NUMPY)
def expm1(x):
    """Element-wise ``exp(x) - 1``, accurate near 0."""
    return jnp.expm1(to_float(x))


@keras_op(NUMPY)
def log(x):
    """Element-wise natural logarithm."""
    return jnp.log(to_float(x))


@keras_op(NUMPY)
def log10(x):
    """Element-wise base-10 logarithm."""
    return jnp.log10(to_float(x))


@keras_op(NUMPY)
def log2(x):
    """Element-wise base-2 logarithm."""
    return jnp.log2(to_float(x))


@keras_op(NUMPY)
def log1p(x):
    """Element-wise ``log(1 + x)``, accurate near 0."""
    return jnp.log1p(to_float(x))


@keras_op(NUMPY)
def sqrt(x):
    """Element-wise square root."""
    return jnp.sqrt(to_float(x))


@keras_op(NUMPY)
def cbrt(x):
    """Element-wise cube root."""
    return jnp.cbrt(to_float(x))


@keras_op(NUMPY)
def reciprocal(x):
    """Element-wise ``1 / x``."""
    return jnp.reciprocal(to_float(x))


@keras_op(NUMPY)
def deg2rad(x):
    """Converts angles from degrees to radians."""
    return jnp.deg2rad(to_float(x))


@keras_op(NUMPY)
def rad2deg(x):
    """Converts angles from radians to degrees."""
    return jnp.rad2deg(to_float(x))


@keras_op(NUMPY)
def sinc(x):
    """Element-wise normalized sinc, ``sin(pi x) / (pi x)``."""
    return jnp.sinc(to_float(x))


@keras_op(NUMPY)
def i0(x):
    """Element-wise modified Bessel function of the first kind, order 0."""
    return jnp.i0(to_float(x))


@keras_op(NUMPY)
def fabs(x):
    """Element-wise absolute value, as a float."""
    return jnp.abs(to_float(x))


@keras_op(NUMPY)
def angle(x):
    """Element-wise complex argument (0 or pi for real numbers)."""
    return jnp.angle(to_float(x))


@keras_op(NUMPY)
def ceil(x):
    """Element-wise ceiling."""
    return jnp.ceil(to_float(x))


@keras_op(NUMPY)
def floor(x):
    """Element-wise floor."""
    return jnp.floor(to_float(x))


# -- dtype-preserving functions -----------------------------------------------------
@keras_op(NUMPY)
def absolute(x):
    """Element-wise absolute value."""
    x = tensor(x)
    return x if x.dtype == jnp.bool_ else jnp.abs(x)


@keras_op(NUMPY)
def negative(x):
    """Element-wise ``-x``."""
    return jnp.negative(tensor(x))


@keras_op(NUMPY)
def square(x):
    """Element-wise ``x * x``."""
    return jnp.square(_keep_bool_as_int(x))


@keras_op(NUMPY)
def sign(x):
    """Element-wise sign: -1, 0 or 1."""
    return jnp.sign(_keep_bool_as_int(x))


@keras_op(NUMPY)
def trunc(x):
    """Element-wise rounding toward zero."""
    x = tensor(x)
    return x if not dtypes.is_float(x.dtype) else jnp.trunc(x)


@keras_op(NUMPY, init=("decimals",))
def round(x, decimals=0):  # noqa: A001 - Keras's name
    """Rounds half to even to ``decimals`` decimal places."""
    return jnp.round(tensor(x), decimals)


@keras_op(NUMPY)
def conjugate(x):
    """Element-wise complex conjugate."""
    return jnp.conjugate(tensor(x))


@keras_op(NUMPY)
def real(x):
    """The real part."""
    return jnp.real(tensor(x))


@keras_op(NUMPY)
def imag(x):
    """The imaginary part."""
    return jnp.imag(tensor(x))


@keras_op(NUMPY)
def copy(x):
    """A copy of ``x``."""
    return jnp.array(tensor(x), copy=True)


# -- predicates ---------------------------------------------------------------------
@keras_op(NUMPY)
def isfinite(x):
    """Whether each element is finite."""
    return jnp.isfinite(tensor(x))


@keras_op(NUMPY)
def isinf(x):
    """Whether each element is positive or negative infinity."""
    return jnp.isinf(tensor(x))


@keras_op(NUMPY)
def isnan(x):
    """Whether each element is NaN."""
    return jnp.isnan(tensor(x))


@keras_op(NUMPY)
def isneginf(x):
    """Whether each element is negative infinity."""
    return jnp.isneginf(tensor(x))


@keras_op(NUMPY)
def isposinf(x):
    """Whether each element is positive infinity."""
    return jnp.isposinf(tensor(x))


@keras_op(NUMPY)
def isreal(x):
    """Whether each element has no imaginary part."""
    return jnp.isreal(tensor(x))


@keras_op(NUMPY)
def signbit(x):
    """Whether each element has its sign bit set (negative numbers, -0.0)."""
    x = tensor(x)
    if x.dtype == jnp.bool_:
        return jnp.zeros(x.shape, bool)
    return jnp.signbit(x)


@keras_op(NUMPY)
def logical_not(x):
    """Element-wise logical NOT."""
    return jnp.logical_not(tensor(x))


# -- bitwise --------------------------------------------------------------------------
@keras_op(NUMPY)
def bitwise_invert(x):
    """Element-wise bitwise NOT of integers (logical NOT of bools)."""
    return jnp.invert(tensor(x))


@keras_op(NUMPY)
def bitwise_not(x):
    """Element-wise bitwise NOT (alias of ``bitwise_invert``)."""
    return jnp.invert(tensor(x))


@keras_op(NUMPY, init=("nan", "posinf", "neginf"))
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN by ``nan`` and infinities by ``posinf``/``neginf`` (default the
    dtype's largest and smallest finite values)."""
    x = tensor(x)
    if not dtypes.is_float(x.dtype):
        return x
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)



@keras_op(NUMPY, init=("x_min", "x_max"))
def clip(x, x_min, x_max):
    """``x`` limited to ``[x_min, x_max]``."""
    return jnp.clip(_keep_bool_as_int(x), x_min, x_max)


# Keras records these aliases as the operations they alias.
abs = absolute  # noqa: A001 - Keras's name
conj = conjugate
