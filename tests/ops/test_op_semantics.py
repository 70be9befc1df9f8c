"""Behaviour of lamina.ops beyond the table: operators on KerasTensors, ops returning
functions (custom_gradient, vectorize), Variables inside stateless calls, gradients,
compiled eager calls, shape inference with unknown dimensions, and sparsemax where
Keras 3.15.1 is wrong."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
from lamina import ops
from lamina.ops.operation import OPERATIONS, Operation

OPERATORS = {
    "add": lambda x, y: x + y, "radd": lambda x, y: 2 + x, "sub": lambda x, y: x - y,
    "rsub": lambda x, y: 1.5 - x, "mul": lambda x, y: x * y, "rmul": lambda x, y: 3 * x,
    "truediv": lambda x, y: x / y, "rtruediv": lambda x, y: 1 / x,
    "floordiv": lambda x, y: x // y, "rfloordiv": lambda x, y: 7 // x,
    "mod": lambda x, y: x % y, "rmod": lambda x, y: 5 % x, "pow": lambda x, y: x ** y,
    "rpow": lambda x, y: 2 ** x, "matmul": lambda x, y: x @ y,
    "lt": lambda x, y: x < y, "le": lambda x, y: x <= y, "gt": lambda x, y: x > y,
    "ge": lambda x, y: x >= y, "ne": lambda x, y: x != y, "and": lambda x, y: (x > 0) & (y > 0),
    "or": lambda x, y: (x > 0) | (y > 0), "xor": lambda x, y: (x > 0) ^ (y > 0),
    "neg": lambda x, y: -x, "abs": lambda x, y: abs(x), "invert": lambda x, y: ~(x > 0),
    "round": lambda x, y: round(x, 1), "getitem": lambda x, y: x[1:, None, ::2],
    "reshape": lambda x, y: x.reshape((-1,)), "squeeze": lambda x, y: x.reshape((1, 9)).squeeze(0),
}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operators_on_symbolic_tensors_record_keras_operations(name):
    fn = OPERATORS[name]
    got = fn(lamina.KerasTensor((3, 3)), lamina.KerasTensor((3, 3)))
    expected = fn(keras.KerasTensor((3, 3)), keras.KerasTensor((3, 3)))
    assert tuple(got.shape) == tuple(expected.shape) and got.dtype == expected.dtype
    lamina_op, keras_op = got._keras_history[0], expected._keras_history.operation
    assert type(lamina_op).__name__ == type(keras_op).__name__
    keras_args = keras_op._inbound_nodes[0].arguments.args
    lamina_args = lamina_op._inbound_nodes[0].call_args
    assert [type(a).__name__ for a in lamina_args] == [type(a).__name__ for a in keras_args]


def test_equality_stays_identity_while_inequality_is_an_op():
    x = lamina.KerasTensor((2,))
    assert (x == x) is True and (x == 1) is False
    assert isinstance(x != 1, lamina.KerasTensor)
    assert len({x, x}) == 1
    with pytest.raises(NotImplementedError):
        list(x)


def test_operation_registry_is_fixed_and_complete():
    assert len(OPERATIONS) > 300
    for (module, name), cls in OPERATIONS.items():
        assert module.startswith("keras.src.ops.") and cls.__name__ == name
        assert issubclass(cls, Operation)


def test_custom_gradient_matches_keras():
    def make(lib):
        o = lib.ops

        @o.custom_gradient
        def log1pexp(x):
            e = o.exp(x)

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return o.multiply(upstream, 1.0 - 1.0 / o.add(1, e))

            return o.log(1 + e), grad

        return log1pexp

    x = np.array([0.5, 100.0, -3.0], "float32")
    expected = jax.grad(lambda v: make(keras)(v).sum())(x)
    got = jax.grad(lambda v: make(lamina)(v).sum())(x)
    assert_close(got, expected)
    assert np.isfinite(np.asarray(got)).all()


def test_vectorize_matches_keras():
    def f(a, b):
        return a + b * 2

    x, y = np.arange(6.0, dtype="float32").reshape(2, 3), np.float32(3.0)
    assert_close(ops.vectorize(f)(x, y), keras.ops.vectorize(f)(x, y))
    inner = ops.vectorize(lambda a, b: jnp.dot(a, b), signature="(n),(n)->()")
    expected = keras.ops.vectorize(lambda a, b: jnp.dot(a, b), signature="(n),(n)->()")
    assert_close(inner(x, x), expected(x, x))


def test_while_loop_passes_sequences_of_loop_vars_as_arguments():
    out = ops.while_loop(lambda i, s: i < 3, lambda i, s: [i + 1, s * 2.0],
                         [np.int32(0), np.float32(1.0)])
    assert int(out[0]) == 3 and float(out[1]) == 8.0
    expected = keras.ops.while_loop(lambda i, s: i < 3, lambda i, s: [i + 1, s * 2.0],
                                    [np.int32(0), np.float32(1.0)])
    assert type(out) is type(expected)


def test_ops_read_variables_through_the_stateless_scope():
    layer = lamina.layers.Dense(2)
    layer.build((None, 3))
    x = np.ones((1, 3), "float32")
    doubled = [v.value * 2 for v in layer.trainable_variables]

    class Probe(lamina.layers.Layer):
        def call(self, inputs):
            return ops.matmul(inputs, layer.kernel) + ops.convert_to_tensor(layer.bias)

    probe = Probe()
    probe._layers.append(layer)
    out, _ = probe.stateless_call(doubled, [], x)
    assert_close(out, x @ np.asarray(doubled[0]) + np.asarray(doubled[1]))


def test_gradients_flow_through_ops():
    def loss(w):
        h = ops.tanh(ops.matmul(np.ones((2, 3), "float32"), w))
        return ops.sum(ops.square(h - ops.mean(h, axis=0)))

    w = np.full((3, 2), 0.1, "float32")
    grad = jax.grad(loss)(w)
    numeric = (loss(w + np.eye(3, 2, dtype="float32") * 1e-3)
               - loss(w - np.eye(3, 2, dtype="float32") * 1e-3)) / 2e-3
    assert np.isfinite(np.asarray(grad)).all()
    assert abs(float(np.sum(np.asarray(grad) * np.eye(3, 2))) - float(numeric)) < 1e-2


def test_compiled_eager_calls_keep_python_scalar_types_apart():
    x = np.ones(3, "int32")
    assert ops.add(x, 1).dtype == jnp.int32
    assert ops.add(x, 1.0).dtype == jnp.float32
    assert ops.add(x, True).dtype == jnp.int32
    # Unhashable arguments (a slice on Python 3.11) run uncompiled.
    assert_close(ops.get_item(np.arange(5), slice(1, 3)), np.array([1, 2]))


def test_unknown_dimensions_stay_unknown_where_they_limit_the_output():
    x = lamina.KerasTensor((None, 3))
    assert ops.diag(x).shape == (None,)
    assert ops.reshape(x, (-1,)).shape == (None,)
    assert ops.squeeze(lamina.KerasTensor((None, 1, 3)), axis=1).shape == (None, 3)
    assert ops.matmul(x, lamina.KerasTensor((3, 5))).shape == (None, 5)


def test_ops_on_symbolic_tensors_raise_named_errors():
    with pytest.raises(ValueError, match="Matmul"):
        ops.matmul(lamina.KerasTensor((None, 3)), lamina.KerasTensor((4, 5)))


def test_sparsemax_projects_onto_the_simplex():
    # Keras 3.15.1 returns [0.05, 0, 0, 0] for the first row (not a distribution).
    out = np.asarray(ops.sparsemax(np.array([[0.5, 0.2, 0.1, 0.0], [-1.0, 0.3, 0.9, 1.1]],
                                            "float32")))
    assert_close(out, [[0.55, 0.25, 0.15, 0.05], [0.0, 0.0, 0.4, 0.6]])
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype("float32")
    out = np.asarray(ops.sparsemax(x, axis=1))
    assert_close(out.sum(axis=1), np.ones((3, 4)))
    assert (out >= 0).all() and (out == 0).any()
