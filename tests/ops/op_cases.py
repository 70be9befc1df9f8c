"""The table of ops test cases: op name -> example arguments, shared by every ops test.

A case is ``C(name, *args, **kwargs)``. Tensor arguments are placeholders (``F``,
``P``, ``I``, ...) materialized with a fixed seed; options start with ``_``:

- ``_dt``: dtype variants, a list of tuples giving the dtypes of the placeholders (in
  argument order); the default dtypes always run too.
- ``_jit``: whether the op also runs under ``jax.jit`` (False for data-dependent
  output shapes).
- ``_sym``: whether the op is also called on symbolic KerasTensors.
- ``_tol``: ``(rtol, atol)`` for float32 results.
- ``_values``: whether values are compared (False for unspecified contents).
- ``_key``: also compared eagerly in the default (fast) run, which otherwise compares
  values for the first case of each op (the slow run compares every case).
- ``_config``: whether the recorded operation's config is compared with Keras's.
- ``_batch``: whether the symbolic check also runs with an unknown leading dimension
  (False where the arguments fix its size, e.g. a reshape to a fixed shape).

Names with a dot (``"image.resize"``) are looked up in that submodule.
"""

from __future__ import annotations

import numpy as np


class Spec:
    """A tensor placeholder: shape, kind of values and default dtype."""

    def __init__(self, shape, kind, dtype):
        self.shape, self.kind, self.dtype = tuple(shape), kind, dtype

    def make(self, rng, dtype=None):
        dtype = dtype or self.dtype
        shape = self.shape
        if self.kind == "float":
            base = rng.standard_normal(shape)
        elif self.kind == "pos":
            base = rng.uniform(0.5, 2.0, shape)
        elif self.kind == "unit":
            base = rng.uniform(-0.9, 0.9, shape)
        elif self.kind == "prob":
            base = rng.uniform(0.05, 0.95, shape)
        elif self.kind.startswith("int"):
            low, high = self.kind[3:].split(":") if ":" in self.kind else (0, 5)
            base = rng.integers(int(low), int(high), shape)
        elif self.kind == "bool":
            base = rng.uniform(size=shape) > 0.5
        elif self.kind == "spd":
            a = rng.standard_normal(shape)
            base = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
        elif self.kind == "sorted":
            base = np.sort(rng.uniform(0, 5, shape), axis=-1)
        elif self.kind == "onehot":
            base = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
        else:
            raise ValueError(self.kind)
        if dtype == "bool":
            return np.asarray(base > (0 if self.kind in ("float", "unit") else 0.5 if
                                      self.kind == "prob" else 1))
        if np.dtype(dtype if dtype != "bfloat16" else "float32").kind in "iu" and (
                self.kind in ("float", "unit", "pos", "prob")):
            base = np.round(base * 3) if self.kind != "pos" else np.ceil(base)
            if np.dtype(dtype).kind == "u":
                base = np.abs(base)
        if dtype == "bfloat16":
            import ml_dtypes

            return np.asarray(base, dtype=ml_dtypes.bfloat16)
        return np.asarray(base, dtype=dtype)


def F(*shape, dtype="float32"):  # noqa: N802 - placeholder constructors read like types
    return Spec(shape, "float", dtype)


def P(*shape, dtype="float32"):  # noqa: N802
    return Spec(shape, "pos", dtype)


def U(*shape, dtype="float32"):  # noqa: N802
    return Spec(shape, "unit", dtype)


def PR(*shape, dtype="float32"):  # noqa: N802
    return Spec(shape, "prob", dtype)


def I(*shape, low=0, high=5, dtype="int32"):  # noqa: N802, E743
    return Spec(shape, f"int{low}:{high}", dtype)


def B(*shape):  # noqa: N802
    return Spec(shape, "bool", "bool")


def SPD(*shape):  # noqa: N802
    return Spec(shape, "spd", "float32")


def SORTED(*shape):  # noqa: N802
    return Spec(shape, "sorted", "float32")


def ONEHOT(*shape):  # noqa: N802
    return Spec(shape, "onehot", "float32")


def C(name, *args, **kwargs):
    options = {k[1:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
    return {"name": name, "args": args, "kwargs": kwargs, "dt": options.get("dt", []),
            "jit": options.get("jit", True), "sym": options.get("sym", True),
            "tol": options.get("tol"), "values": options.get("values", True),
            "batch": options.get("batch", True), "config": options.get("config", True),
            "key": options.get("key", False)}


# Dtype variants.
U1 = [("int32",), ("float16",), ("bool",), ("bfloat16",), ("int8",)]
UF = [("float16",), ("bfloat16",)]
B2 = [("int32", "float32"), ("float16", "float32"), ("int8", "int16"), ("bool", "bool"),
      ("bfloat16", "float16"), ("uint8", "int8"), ("int32", "int32"), ("bool", "float32")]
B2F = [("int32", "float32"), ("float16", "float32"), ("int32", "int32"), ("bfloat16", "float16")]
B2I = [("int8", "int16"), ("uint8", "int32"), ("bool", "bool")]
R1 = [("int32",), ("float16",), ("bool",), ("int8",), ("uint8",)]


def _unary(names, spec, variants=U1, **options):
    return [C(n, spec, _dt=variants, **options) for n in names]


def _binary(names, a, b, variants=B2, **options):
    return [C(n, a, b, _dt=variants, **options) for n in names]


UNARY_MATH = ["sin", "cos", "tan", "arctan", "sinh", "cosh", "tanh", "arcsinh", "exp", "exp2",
              "expm1", "cbrt", "deg2rad", "rad2deg", "sinc", "fabs", "ceil", "floor",
              "absolute", "abs", "negative", "square", "sign", "trunc", "round", "isfinite",
              "isinf", "isnan", "isneginf", "isposinf", "isreal", "signbit", "logical_not",
              "conj", "conjugate", "real", "imag", "copy", "angle", "ravel", "erf", "erfc",
              "i0", "nan_to_num"]
UNARY_POSITIVE = ["log", "log10", "log2", "log1p", "sqrt", "reciprocal", "rsqrt", "arccosh"]
UNARY_UNIT = ["arcsin", "arccos", "arctanh", "erfinv"]
ACTIVATIONS = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign",
               "sparse_plus", "silu", "swish", "squareplus", "log_sigmoid", "leaky_relu",
               "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink",
               "soft_shrink", "tanh_shrink", "elu", "selu", "celu", "gelu", "glu", "softmax",
               "log_softmax", "sparsemax"]
BINARY_ARITH = ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
                "fmax", "fmin", "power", "equal", "not_equal", "greater", "greater_equal",
                "less", "less_equal", "logical_and", "logical_or", "logical_xor", "hypot",
                "arctan2", "logaddexp", "logaddexp2", "heaviside", "divide_no_nan", "isclose",
                "allclose", "append", "kron", "outer", "nextafter"]
BINARY_NONZERO = ["floor_divide", "mod", "fmod"]
BINARY_INT = ["bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm"]
SHIFTS = ["bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"]
REDUCTIONS = ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "all", "any",
              "argmax", "argmin", "ptp", "median", "nansum", "nanmean", "nanmax", "nanmin",
              "nanprod", "nanstd", "nanvar", "nanmedian", "nanargmax", "nanargmin",
              "logsumexp"]

CASES = [
    *_unary(UNARY_MATH, F(2, 3)),
    *_unary(UNARY_POSITIVE, P(2, 3), [("int32",), ("float16",), ("bfloat16",)]),
    *_unary(UNARY_UNIT, U(2, 3), UF),
    C("round", F(2, 3), decimals=2),
    C("nan_to_num", F(2, 3), nan=1.0, posinf=5.0, neginf=-5.0),
    C("clip", F(2, 3), -0.5, 0.5, _dt=[("int32",), ("float16",), ("bool",)]),
    C("clip", I(2, 3), 1, 3),
    C("bitwise_invert", I(2, 3), _dt=[("int8",), ("uint8",), ("bool",)]),
    C("bitwise_not", I(2, 3), _dt=[("int16",)]),
    # binary arithmetic, with broadcasting and Python scalars
    *_binary(BINARY_ARITH, F(2, 3), F(2, 3)),
    *_binary(BINARY_NONZERO, F(2, 3), P(2, 3), B2F),
    *_binary(BINARY_INT, I(2, 3, low=1), I(2, 3, low=1), B2I),
    *_binary(SHIFTS, I(2, 3), I(2, 3, high=3), [("int8", "int8"), ("uint8", "int32")]),
    C("add", F(2, 3), F(3)),
    C("add", F(2, 3), 2.0, _dt=[("int32",), ("float16",), ("int8",), ("bool",)], _key=True),
    C("add", I(2, 3), 2, _dt=[("int8",), ("uint8",), ("float16",)]),
    C("add", 2.5, I(2, 3)),
    C("subtract", 3.0, F(2, 3), _dt=[("float16",), ("int32",)]),
    C("multiply", F(2, 3), 2, _dt=[("bfloat16",), ("int16",)]),
    C("divide", I(2, 3), 2, _dt=[("int8",), ("float16",)]),
    C("power", F(2, 3), 2, _dt=[("int32",), ("float16",)]),
    C("power", P(2, 3), 0.5),
    C("maximum", F(2, 3), 0.0, _dt=[("int32",), ("float16",)]),
    C("minimum", I(2, 3), 2.5),
    C("greater", F(2, 3), 0.5, _dt=[("int32",)]),
    C("equal", I(2, 3), 2),
    C("floor_divide", F(2, 3), 2.0, _dt=[("int32",)]),
    C("mod", I(2, 3), 3),
    C("isclose", F(2, 3), F(2, 3), rtol=1.0, atol=0.5),
    C("ldexp", F(2, 3), I(2, 3), _dt=[("float16", "int32"), ("int32", "int8")]),
    C("matmul", F(2, 3), F(3, 4), _dt=B2F + [("int8", "int8"), ("bool", "bool")]),
    C("matmul", F(5, 2, 3), F(3, 4)),
    C("matmul", F(3), F(3, 4)),
    C("dot", F(2, 3), F(3, 4), _dt=B2F),
    C("dot", F(3), F(3)),
    C("tensordot", F(2, 3, 4), F(3, 4, 5), _dt=B2F),
    C("tensordot", F(2, 3), F(3, 2), axes=([1], [0])),
    C("inner", F(2, 3), F(4, 3), _dt=B2F),
    C("vdot", F(2, 3), F(2, 3), _dt=B2F),
    C("cross", F(4, 3), F(4, 3), _dt=B2F),
    C("cross", F(4, 2), F(4, 2)),
    C("einsum", "ij,jk->ik", F(2, 3), F(3, 4), _dt=B2F + [("int8", "int8")]),
    C("einsum", "bij->bji", F(2, 3, 4)),
    # reductions
    *[C(n, F(2, 3, 4), axis=1, _dt=R1) for n in REDUCTIONS],
    *[C(n, F(2, 3, 4)) for n in REDUCTIONS if n not in ("argmax", "argmin", "nanargmax",
                                                          "nanargmin")],
    *[C(n, F(2, 3, 4), axis=(0, 2), keepdims=True) for n in
      ("sum", "mean", "max", "min", "prod", "std", "var", "all", "any", "logsumexp")],
    C("argmax", F(2, 3, 4), axis=-1, keepdims=True),
    C("argmax", F(2, 3)),
    C("max", F(2, 3), axis=1, initial=0.5),
    C("min", F(2, 3), initial=-0.5),
    C("count_nonzero", I(2, 3), _dt=[("float32",), ("bool",)]),
    C("count_nonzero", I(2, 3), axis=1),
    C("average", F(2, 3), _dt=[("int32",)]),
    C("average", F(2, 3), axis=1, weights=P(3)),
    C("average", F(2, 3), axis=0, weights=I(2, low=1)),
    C("cumsum", F(2, 3), axis=1, _dt=R1),
    C("cumsum", F(2, 3)),
    C("cumsum", I(2, 3), axis=0, dtype="float32"),
    C("cumprod", F(2, 3), axis=1, _dt=[("int32",), ("float16",), ("bool",)]),
    C("nancumsum", F(2, 3), axis=1, _dt=[("int32",), ("float16",)]),
    C("nancumprod", F(2, 3), axis=0),
    C("prod", F(2, 3), axis=1, dtype="float32", _dt=[("int32",)]),
    C("quantile", F(2, 5), 0.3, _dt=[("int32",), ("float16",)]),
    C("quantile", F(2, 5), np.array([0.25, 0.75], "float32"), axis=1, keepdims=True),
    C("quantile", F(2, 5), 0.5, axis=1, method="nearest"),
    C("percentile", F(2, 5), 30.0, axis=1),
    C("nanquantile", F(2, 5), 0.3, axis=1),
    C("nanpercentile", F(2, 5), 60.0),
    C("median", F(2, 5), axis=1, keepdims=True),
    C("trace", F(3, 3), _dt=[("int32",), ("bool",), ("float16",)]),
    C("trace", F(2, 3, 3), offset=1, axis1=1, axis2=2),
    # shapes
    C("reshape", F(2, 3, 4), (6, 4), _batch=False),
    C("reshape", F(2, 3, 4), (-1, 2)),
    C("transpose", F(2, 3, 4)),
    C("transpose", F(2, 3, 4), (0, 2, 1)),
    C("expand_dims", F(2, 3), 1),
    C("expand_dims", F(2, 3), (0, 3)),
    C("squeeze", F(2, 1, 3)),
    C("squeeze", F(2, 1, 3, 1), axis=-1),
    C("broadcast_to", F(1, 3), (4, 3), _dt=[("int32",), ("bool",)], _batch=False),
    C("moveaxis", F(2, 3, 4), 0, -1),
    C("moveaxis", F(2, 3, 4), (0, 1), (2, 0)),
    C("swapaxes", F(2, 3, 4), 0, 2),
    C("size", F(2, 3), _sym=False, _jit=False),
    C("ndim", F(2, 3), _sym=False, _jit=False),
    C("concatenate", [F(2, 3), F(2, 2)], axis=1, _dt=[("int32", "float32"),
                                                       ("float16", "bfloat16")]),
    C("concatenate", [F(2, 3), F(1, 3), F(3, 3)]),
    C("stack", [F(2, 3), F(2, 3)], axis=1, _dt=[("int32", "float16"), ("bool", "bool")]),
    C("hstack", [F(2, 3), F(2, 1)], _dt=[("int32", "float32")]),
    C("vstack", [F(2, 3), F(1, 3)], _dt=[("int32", "int8")]),
    C("dstack", [F(2, 3), F(2, 3)]),
    C("tile", F(2, 3), (2, 1)),
    C("tile", F(3), 2),
    C("repeat", F(2, 3), 2, axis=1),
    C("repeat", F(2, 3), 2),
    C("split", F(4, 6), 3, axis=1),
    C("split", F(4, 6), [1, 3]),
    C("array_split", F(5, 2), 3),
    C("hsplit", F(4, 6), 2),
    C("vsplit", F(4, 6), 2, _batch=False),
    C("dsplit", F(2, 2, 4), [1]),
    C("flip", F(2, 3)),
    C("flip", F(2, 3, 4), axis=(0, 2)),
    C("fliplr", F(2, 3)),
    C("flipud", F(2, 3)),
    C("roll", F(2, 3), 1),
    C("roll", F(2, 3), (1, -1), axis=(0, 1)),
    C("rot90", F(2, 3)),
    C("rot90", F(2, 3, 4), k=2, axes=(1, 2)),
    C("pad", F(2, 3), ((1, 1), (0, 2))),
    C("pad", F(2, 3), ((1, 1), (0, 2)), mode="reflect"),
    C("pad", F(2, 3), ((1, 0), (0, 2)), constant_values=3.0),
    C("pad", I(2, 3), 1, _dt=[("float16",)]),
    C("sort", F(2, 5)),
    C("sort", F(2, 5), axis=0, _dt=[("int32",)]),
    C("argsort", F(2, 5), _dt=[("int32",)]),
    C("argsort", F(2, 5), axis=0),
    C("argpartition", F(2, 5), 2),
    C("take", F(4, 3), I(2, high=4), axis=0),
    C("take", F(4, 3), I(2, 2, high=3)),
    C("take", F(4, 3), np.array([-1, 0]), axis=1),
    C("take_along_axis", F(4, 3), I(4, 2, high=3), axis=1),
    C("get_item", F(4, 3), 1),
    C("get_item", F(4, 3), (slice(None), 1)),
    C("get_item", F(4, 3, 2), (Ellipsis, None, slice(0, 2))),
    C("diag", F(3, 3)),
    C("diag", F(3), k=1),
    C("diagflat", F(2, 2)),
    C("diagonal", F(3, 4)),
    C("diagonal", F(2, 3, 4), offset=1, axis1=1, axis2=2),
    C("tril", F(3, 4)),
    C("triu", F(3, 4), k=1),
    C("where", B(2, 3), F(2, 3), F(2, 3), _dt=[("bool", "int32", "float32"),
                                                ("bool", "float16", "float32")]),
    C("where", B(2, 3), F(2, 3), 0.0, _key=True),
    C("where", B(2, 3), I(2, 3), 2.5),
    C("where", B(2, 3), _jit=False, _sym=False),
    C("select", [B(3), B(3)], [F(3), F(3)]),
    C("select", [B(3)], [I(3)], default=7),
    C("nonzero", I(2, 3), _jit=False, _sym=False),
    C("searchsorted", SORTED(6), F(4)),
    C("searchsorted", SORTED(6), F(4), side="right"),
    C("digitize", F(5), np.array([-1.0, 0.0, 1.0], "float32")),
    C("isin", I(2, 3), I(4), _dt=[("int32", "float32")]),
    C("isin", I(2, 3), I(4), invert=True),
    C("unravel_index", I(4, high=12), (3, 4)),
    C("unique", I(8), _jit=False, _sym=False),
    C("unique", I(8), return_counts=True, return_inverse=True, _jit=False, _sym=False),
    C("unique", I(8), size=6, fill_value=0),
    C("view", F(2, 3), "int32"),
    C("view", I(2, 4, dtype="int16"), "float16"),
    # creation
    C("zeros", (2, 3), _sym=False),
    C("zeros", (2, 3), dtype="int32", _sym=False),
    C("ones", (2,), _sym=False),
    C("empty", (2, 3), _sym=False, _values=False),
    C("eye", 3, _sym=False),
    C("eye", 3, 4, k=1, dtype="int32", _sym=False),
    C("identity", 3, _sym=False),
    C("tri", 3, 4, k=-1, _sym=False),
    C("zeros_like", F(2, 3), _dt=[("int32",)]),
    C("ones_like", F(2, 3), dtype="int8"),
    C("empty_like", F(2, 3)),
    C("full", (2, 3), 1.5, _sym=False),
    C("full", (2, 3), 2, _sym=False),
    C("full", (2, 3), 2, dtype="float16", _sym=False),
    C("full_like", F(2, 3), 2, _dt=[("int32",)]),
    C("full_like", I(2, 3), 0.5, dtype="float32"),
    C("array", F(2, 3), _dt=[("int32",)]),
    C("array", [[1, 2], [3, 4]], _sym=False),
    C("array", [1.5, 2.0], dtype="float16", _sym=False),
    C("arange", 5, _sym=False),
    C("arange", 1.0, 5, _sym=False),
    C("arange", 0, 10, 3, _sym=False),
    C("arange", 0, 2, 0.5, dtype="float16", _sym=False),
    C("linspace", 0, 1, _sym=False),
    C("linspace", 0.0, 10.0, num=5, endpoint=False, _sym=False),
    C("logspace", 0, 2, num=4, _sym=False),
    C("geomspace", 1, 100, num=3, _sym=False),
    C("meshgrid", F(3), F(2)),
    C("meshgrid", F(3), F(2), indexing="ij"),
    C("vander", F(3)),
    C("vander", F(3), N=4, increasing=True, _dt=[("int32",)]),
    C("bartlett", 5, _sym=False),
    C("blackman", 5, _sym=False),
    C("hamming", 5, _sym=False),
    C("hanning", 5, _sym=False),
    C("kaiser", 5, 2.0, _sym=False),
    # other numpy
    C("diff", F(2, 5)),
    C("diff", F(2, 5), n=2, axis=0, _dt=[("int32",)]),
    C("trapezoid", F(2, 5)),
    C("trapezoid", F(2, 5), x=np.linspace(0, 1, 5, dtype="float32"), axis=-1),
    C("trapezoid", F(2, 5), dx=0.5, _dt=[("int32",)]),
    C("correlate", F(5), F(3)),
    C("correlate", F(5), F(3), mode="full", _dt=[("int32", "int32")]),
    C("corrcoef", F(3, 5)),
    C("histogram", F(20)),
    C("histogram", F(20), bins=4, range=(-1.0, 1.0)),
    C("bincount", I(8), _jit=False, _sym=False),
    C("bincount", I(8), minlength=7, _jit=False, _sym=False),
    C("bincount", I(8), weights=P(8), _jit=False, _sym=False),
    C("slogdet", SPD(3, 3), _batch=False),
    # nn
    *_unary([a for a in ACTIVATIONS if a != "sparsemax"], F(2, 4),
            [("int32",), ("float16",), ("bfloat16",)]),
    C("sparsemax", F(2, 4), _dt=[("int32",), ("float16",)], _values=False),
    C("leaky_relu", F(2, 4), negative_slope=0.1),
    C("elu", F(2, 4), alpha=0.5),
    C("celu", F(2, 4), alpha=2.0),
    C("gelu", F(2, 4), approximate=False),
    C("glu", F(2, 4), axis=0, _batch=False),
    C("softmax", F(2, 3, 4), axis=(1, 2)),
    C("softmax", F(2, 3, 4), axis=0),
    C("log_softmax", F(2, 3, 4), axis=1),
    # Keras 3.15.1's sparsemax does not project onto the simplex (its rows do not sum to
    # 1); lamina's does (tests/ops/test_op_semantics.py checks known values).
    C("sparsemax", F(2, 3, 4), axis=1, _values=False),
    C("squareplus", F(2, 4), b=2),
    C("hard_shrink", F(2, 4), threshold=0.2),
    C("soft_shrink", F(2, 4), threshold=0.2),
    C("threshold", F(2, 4), 0.1, -1.0),
    C("one_hot", I(2, 3, high=4), 4),
    C("one_hot", I(5, low=-1, high=6), 5, axis=0, dtype="int32"),
    C("multi_hot", I(2, 3, high=4), 4),
    C("multi_hot", I(3, high=4), 4, dtype="int32"),
    C("moments", F(3, 4, 5), (0, 1), _dt=[("float16",)]),
    C("moments", F(3, 4, 5), [2], keepdims=True),
    C("batch_normalization", F(3, 4), F(4), P(4), -1),
    C("batch_normalization", F(3, 4, 2), F(4), P(4), 1, offset=F(4), scale=F(4),
      epsilon=0.01),
    C("layer_normalization", F(3, 4)),
    C("layer_normalization", F(3, 4, 2), gamma=F(2), beta=F(2), epsilon=1e-3),
    C("layer_normalization", F(3, 4), gamma=F(4), rms_scaling=True),
    C("rms_normalization", F(3, 4)),
    C("rms_normalization", F(3, 4), scale=F(4), epsilon=0.1),
    C("normalize", F(3, 4)),
    C("normalize", F(3, 4), axis=0, order=1),
    C("binary_crossentropy", PR(3, 4), PR(3, 4)),
    C("binary_crossentropy", PR(3, 4), F(3, 4), from_logits=True),
    C("categorical_crossentropy", ONEHOT(3, 4), PR(3, 4)),
    C("categorical_crossentropy", ONEHOT(3, 4), F(3, 4), from_logits=True, _key=True),
    C("sparse_categorical_crossentropy", I(3, high=4), PR(3, 4)),
    C("sparse_categorical_crossentropy", I(3, high=4), F(3, 4), from_logits=True),
    C("psnr", PR(2, 4, 4, 3), PR(2, 4, 4, 3), 1.0),
    C("ctc_loss", I(2, 3, low=1, high=4), F(2, 6, 5), np.array([3, 2], "int32"),
      np.array([6, 5], "int32"), _tol=(1e-4, 1e-4)),
    C("ctc_decode", F(2, 6, 5), np.array([6, 4], "int32"), _batch=False),
    C("dot_product_attention", F(2, 3, 2, 4), F(2, 5, 2, 4), F(2, 5, 2, 4)),
    C("dot_product_attention", F(2, 3, 4, 4), F(2, 3, 2, 4), F(2, 3, 2, 4), is_causal=True,
      scale=0.3, _key=True),
    C("dot_product_attention", F(2, 3, 2, 4), F(2, 5, 2, 4), F(2, 5, 2, 4), bias=F(2, 2, 3, 5),
      mask=B(2, 2, 3, 5)),
    C("polar", P(3), F(3)),
    C("conv", F(2, 8, 3), F(3, 3, 4)),
    C("conv", F(2, 8, 3), F(3, 3, 4), strides=2, padding="same", _key=True),
    C("conv", F(2, 6, 6, 4), F(3, 3, 2, 6), padding="same", dilation_rate=2),
    C("conv", F(2, 3, 6, 6), F(3, 3, 3, 2), data_format="channels_first", strides=(2, 1),
      _key=True),
    C("conv", F(1, 4, 4, 4, 2), F(2, 2, 2, 2, 3)),
    C("depthwise_conv", F(2, 6, 6, 3), F(3, 3, 3, 2), padding="same"),
    C("depthwise_conv", F(2, 8, 3), F(3, 3, 1), strides=2),
    C("separable_conv", F(2, 6, 6, 3), F(3, 3, 3, 2), F(1, 1, 6, 4)),
    *[C("conv_transpose", F(2, 5, 5, 3), F(k, k, 2, 3), strides=s, padding=p, _key=s == 2)
      for k in (2, 3) for s in (1, 2) for p in ("valid", "same")],
    C("conv_transpose", F(2, 5, 3), F(3, 2, 3), strides=2, padding="same", output_padding=1,
      _key=True),
    C("conv_transpose", F(2, 5, 3), F(3, 2, 3), strides=3, padding="valid", output_padding=2),
    C("conv_transpose", F(2, 3, 5, 5), F(3, 3, 2, 3), strides=2, data_format="channels_first"),
    C("conv_transpose", F(2, 5, 3), F(3, 2, 3), dilation_rate=2),
    C("max_pool", F(2, 6, 6, 3), (2, 2)),
    C("max_pool", F(2, 7, 3), 3, strides=2, padding="same", _dt=[("int32",)]),
    C("max_pool", F(2, 3, 6, 6), (2, 3), strides=(2, 3), data_format="channels_first"),
    C("average_pool", F(2, 6, 6, 3), (2, 2)),
    C("average_pool", F(2, 7, 7, 3), 3, strides=2, padding="same", _key=True),
    C("average_pool", F(2, 7, 3), 2, strides=1, padding="same"),
    C("adaptive_average_pool", F(2, 7, 5, 3), (3, 2)),
    C("adaptive_average_pool", F(2, 3, 8), 3, data_format="channels_first"),
    C("adaptive_max_pool", F(2, 7, 5, 3), 3),
    C("adaptive_max_pool", F(2, 3, 7, 5), (2, 4), data_format="channels_first"),
    C("depth_to_space", F(2, 3, 3, 8), 2),
    C("depth_to_space", F(2, 8, 3, 3), 2, data_format="channels_first"),
    C("space_to_depth", F(2, 4, 6, 3), 2),
    C("space_to_depth", F(2, 3, 4, 6), 2, data_format="channels_first"),
    C("unfold", F(2, 3, 5, 5), 2),
    C("unfold", F(2, 3, 6, 5), (3, 2), dilation=1, padding=1, stride=2),
    C("fold", F(2, 12, 16), (5, 5), 2),
    C("fold", F(2, 18, 9), (6, 5), (3, 2), padding=1, stride=2),
    # linalg
    C("cholesky", SPD(3, 3)),
    C("cholesky", SPD(2, 3, 3), upper=True),
    C("cholesky_inverse", SPD(3, 3)),
    C("det", SPD(2, 3, 3)),
    C("eigh", SPD(3, 3), _tol=(1e-4, 1e-4)),
    C("inv", SPD(2, 3, 3), _tol=(1e-4, 1e-5)),
    C("lu_factor", SPD(3, 3)),
    C("lstsq", F(4, 3), F(4, 2), _tol=(1e-4, 1e-4)),
    C("matrix_rank", F(4, 3)),
    C("norm", F(3, 4)),
    C("norm", F(3, 4), ord=1, axis=1, keepdims=True),
    C("norm", F(3, 4), ord="fro", axis=(0, 1)),
    C("norm", F(3, 4), ord=np.inf, axis=0, _dt=[("int32",)]),
    C("pinv", F(4, 3), _tol=(1e-4, 1e-4)),
    C("qr", F(4, 3), _tol=(1e-4, 1e-5)),
    C("qr", F(4, 3), mode="complete", _tol=(1e-4, 1e-5)),
    C("solve", SPD(3, 3), F(3, 2), _tol=(1e-4, 1e-5)),
    C("solve_triangular", SPD(3, 3), F(3, 2), lower=True, _tol=(1e-4, 1e-5)),
    C("svd", F(4, 3), compute_uv=False, _tol=(1e-4, 1e-5)),
    C("eig", SPD(3, 3), _tol=(1e-4, 1e-4)),
    C("logdet", SPD(3, 3), _batch=False),
    # math
    C("segment_sum", F(5, 2), np.array([0, 0, 1, 2, 2]), num_segments=3, _batch=False),
    C("segment_max", F(5, 2), np.array([0, 0, 1, 2, 2]), num_segments=4, sorted=True,
      _batch=False),
    C("segment_min", F(5, 2), np.array([0, 2, 1, 2, 2]), num_segments=3, _batch=False),
    C("segment_prod", F(5), np.array([0, 0, 1, 2, 2]), num_segments=3),
    C("segment_sum", F(5, 2), np.array([0, 0, 1, 2, 2]), _jit=False, _sym=False),
    C("top_k", F(3, 6), 2),
    C("top_k", F(3, 6), 3, sorted=False, _dt=[("int32",)]),
    C("in_top_k", I(3, high=6), F(3, 6), 2),
    C("extract_sequences", F(2, 10), 4, 3),
    C("fft", (F(2, 8), F(2, 8))),
    C("fft2", (F(2, 4, 4), F(2, 4, 4))),
    C("ifft2", (F(2, 4, 4), F(2, 4, 4))),
    C("rfft", F(2, 8)),
    C("rfft", F(2, 8), fft_length=6),
    C("irfft", (F(2, 5), F(2, 5))),
    C("irfft", (F(2, 5), F(2, 5)), fft_length=6),
    C("stft", F(2, 32), 8, 4, 8, _tol=(1e-4, 1e-4)),
    C("stft", F(32), 6, 3, 8, window="hamming", center=False, _tol=(1e-4, 1e-4), _key=True),
    C("stft", F(2, 32), 8, 4, 16, window=None, _tol=(1e-4, 1e-4)),
    C("istft", (F(2, 9, 5), F(2, 9, 5)), 8, 4, 8, _tol=(1e-4, 1e-4)),
    C("istft", (F(7, 5), F(7, 5)), 6, 3, 8, window="hamming", center=False, length=20,
      _tol=(1e-4, 1e-4)),
    C("view_as_complex", F(3, 2)),
    C("view_as_real", F(3)),
    C("cdist", F(3, 4), F(5, 4)),
    C("cdist", F(2, 3, 4), F(2, 5, 4)),
    # core
    C("cast", F(2, 3), "int32"),
    C("cast", F(2, 3), "bfloat16", _dt=[("int8",)]),
    C("saturate_cast", np.array([-300.0, 3.5, 300.0], "float32"), "uint8", _sym=False),
    C("saturate_cast", np.array([-70000, 5, 70000], "int32"), "int16", _sym=False),
    C("convert_to_tensor", F(2, 3), _sym=False),
    C("convert_to_numpy", F(2, 3), _sym=False, _jit=False),
    C("is_tensor", F(2, 3), _sym=False, _jit=False),
    C("dtype", F(2, 3), _sym=False, _jit=False, _dt=[("int8",), ("bfloat16",)]),
    C("shape", F(2, 3), _sym=False, _jit=False),
    C("convert_to_tensor", [[1, 2], [3, 4]], _sym=False),
    C("convert_to_tensor", [1.0, 2.0], dtype="float16", _sym=False),
    C("stop_gradient", F(2, 3)),
    C("slice", F(4, 5), (1, 2), (2, 3)),
    C("slice_update", F(4, 5), (1, 2), F(2, 3)),
    C("scatter", np.array([[0, 1], [2, 2]]), F(2), (3, 3)),
    C("scatter_update", F(3, 3), np.array([[0, 1], [2, 2]]), F(2)),
    C("scatter_update", F(3, 3), np.array([[0], [2]]), F(2, 3)),
    C("scatter_update", F(3, 3), np.array([[0, 1], [0, 1]]), F(2), reduction="add"),
    C("unstack", F(3, 4)),
    C("unstack", F(3, 4), axis=1, num=4),
    C("rearrange", F(2, 3, 4), "b h w -> b (h w)"),
    C("rearrange", F(2, 6), "b (h w) -> w b h", h=3),
    # image
    C("image.rgb_to_grayscale", PR(2, 4, 4, 3)),
    C("image.rgb_to_grayscale", PR(3, 4, 4), data_format="channels_first", _batch=False),
    C("image.rgb_to_hsv", PR(2, 4, 4, 3)),
    C("image.hsv_to_rgb", PR(2, 4, 4, 3)),
    C("image.resize", F(2, 4, 4, 3), (6, 8)),
    C("image.resize", F(2, 8, 6, 3), (4, 3), interpolation="nearest"),
    C("image.resize", F(2, 3, 4, 4), (8, 8), interpolation="bicubic",
      data_format="channels_first", _tol=(1e-4, 1e-4)),
    C("image.resize", F(8, 4, 3), (4, 4), crop_to_aspect_ratio=True),
    C("image.resize", F(8, 4, 3), (4, 4), pad_to_aspect_ratio=True, fill_value=1.0),
    C("image.pad_images", F(2, 4, 4, 3), 1, 2, 0, 1),
    C("image.pad_images", F(4, 4, 3), top_padding=1, left_padding=2, target_height=7,
      target_width=8),
    C("image.crop_images", F(2, 6, 6, 3), 1, 2, 0, 1),
    C("image.crop_images", F(6, 6, 3), top_cropping=1, left_cropping=2, target_height=3,
      target_width=2),
    C("image.scale_and_translate", F(2, 4, 4, 3), (2, 8, 6, 3), np.array([2.0, 1.5], "float32"),
      np.array([0.0, 0.5], "float32"), (1, 2), "linear"),
    C("image.extract_patches", F(2, 6, 7, 3), (2, 3)),
    C("image.extract_patches", F(2, 6, 7, 3), 3, strides=2, padding="same"),
    C("image.extract_patches", F(6, 7, 3), (2, 2), strides=1, dilation_rate=2),
    # Keras 3.15.1 records this call with a wrong config (size (2, 2), strides 3).
    C("image.extract_patches", F(2, 3, 6, 7), (2, 3), data_format="channels_first",
      _config=False),
    C("image.extract_patches_3d", F(2, 4, 5, 6, 2), (2, 2, 3)),
    C("image.extract_patches_3d", F(4, 5, 6, 2), 2, strides=1),
    # Keras 3.15.1 treats images as channels-first in gaussian_blur when data_format is
    # None; lamina uses image_data_format() (compared here with an explicit format).
    C("image.gaussian_blur", F(2, 6, 7, 3), data_format="channels_last"),
    C("image.gaussian_blur", F(6, 7, 3), kernel_size=(5, 3), sigma=(2.0, 0.5),
      data_format="channels_last"),
    C("image.gaussian_blur", F(2, 3, 6, 7), data_format="channels_first"),
    C("image.sobel_edges", F(2, 6, 7, 3)),
    C("image.sobel_edges", F(2, 3, 6, 7), data_format="channels_first"),
    C("image.ssim", PR(2, 8, 8, 3), PR(2, 8, 8, 3), filter_size=3),
    C("image.ssim", PR(8, 8, 3), PR(8, 8, 3), max_val=2.0, filter_size=5, filter_sigma=1.0),
    C("image.affine_transform", F(2, 6, 7, 3),
      np.array([[0.9, 0.1, 0.4, -0.2, 1.1, 0.3, 0, 0], [1, 0, 1.3, 0, 1, -1, 0, 0]], "float32"),
      _batch=False),
    C("image.affine_transform", F(6, 7, 3), np.array([1, 0.2, 0.3, 0.1, 1, -0.7, 0, 0], "float32"),
      interpolation="nearest", fill_mode="reflect"),
    C("image.affine_transform", F(2, 6, 7, 3), np.array([1, 0, 2.3, 0, 1, 1.2, 0, 0], "float32"),
      fill_mode="wrap"),
    C("image.affine_transform", F(2, 3, 6, 7), np.array([1.2, 0, 0.3, 0, 0.8, 0.1, 0, 0],
                                                        "float32"),
      fill_mode="nearest", data_format="channels_first"),
    C("image.perspective_transform", F(2, 6, 7, 3),
      np.array([[[0, 0], [0, 5], [6, 0], [6, 5]]] * 2, "float32"),
      np.array([[[0.5, 0.2], [0.1, 4.5], [5.5, 0.3], [6.2, 5.1]],
                [[0, 0], [0, 5], [6, 0], [6, 5]]], "float32"), _batch=False),
    C("image.perspective_transform", F(6, 7, 3), np.array([[0, 0], [0, 5], [6, 0], [6, 5]],
                                                          "float32"),
      np.array([[0.3, 0.2], [0.1, 4.7], [5.5, 0.3], [6.1, 5.2]], "float32"),
      interpolation="nearest", fill_value=1.0),
    # Random displacements: lamina's random numbers are not Keras's.
    C("image.elastic_transform", F(2, 16, 16, 3), seed=3, _values=False, _jit=False),
    C("image.map_coordinates", F(4, 5), (P(3), P(3)), 1),
    C("image.map_coordinates", F(4, 5), (P(3), P(3)), 0, fill_mode="nearest"),
]

# Ops whose example arguments are functions (control flow, transforms): compared
# eagerly and under jit, never symbolically.
FUNCTION_CASES = [
    C("cond", True, lambda: np.float32(1.0), lambda: np.float32(2.0), _sym=False),
    C("switch", 1, [lambda x: x + 1, lambda x: x * 2], F(3), _sym=False),
    C("scan", lambda c, x: (c + x, c * x), np.float32(0.0), F(4), _sym=False),
    C("scan", lambda c, x: (c + 1.0, c), np.float32(0.0), length=3, reverse=True, _sym=False),
    C("associative_scan", lambda a, b: a + b, F(5), _sym=False),
    C("associative_scan", lambda a, b: a * b, F(2, 5), axis=1, reverse=True, _sym=False),
    C("fori_loop", 0, 4, lambda i, v: v * 2.0, F(3), _sym=False),
    C("while_loop", lambda a, b: a < 5, lambda a, b: (a + 1, b * 2.0),
      (np.int32(0), np.float32(1.0)), _sym=False),
    C("while_loop", lambda a: a < 10.0, lambda a: a + 3.0, np.float32(0.0),
      maximum_iterations=2, _sym=False),
    C("map", lambda v: v * 2.0, F(3, 2), _sym=False),
    C("jvp", lambda v: v * v, (F(3),), (F(3),), _sym=False),
    C("jvp", lambda v: (v * v, v.sum()), (F(3),), (F(3),), has_aux=True, _sym=False),
    C("vectorized_map", lambda v: v.sum(), F(3, 2), _sym=False),
]
