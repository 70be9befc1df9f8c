"""keras.Function: a graph of operations as a callable, compared with Keras."""

import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(0)
A, B = RNG.random((4, 2, 3)).astype("float32"), RNG.random((4, 2, 3)).astype("float32")


def _function(K):
    a, b = K.KerasTensor(shape=(None, 2, 3)), K.KerasTensor(shape=(None, 2, 3))
    mean = K.ops.mean(a * b, axis=-1, keepdims=True)
    return K.Function(inputs=[a, b], outputs=[K.ops.sigmoid(a + b), mean - 1.0], name="f")


def test_function_runs_like_keras():
    fk, fl = _function(keras), _function(lamina)
    assert fl.name == "f"
    # The same operations (lamina lists them in a topological order of its own).
    assert sorted(type(op).__name__ for op in fl.operations) == sorted(
        type(op).__name__ for op in fk.operations)
    assert_close(fl([A, B]), fk([A, B]))


def test_function_on_symbolic_inputs_records_its_graph_again():
    fl = _function(lamina)
    x = lamina.Input((2, 3))
    outputs = fl([x, x])
    assert [t.shape for t in outputs] == [(None, 2, 3), (None, 2, 1)]
    assert [t.shape for t in fl.compute_output_spec([x, x])] == [(None, 2, 3), (None, 2, 1)]
    model = lamina.Model(x, outputs)
    assert_close(model.predict(A, verbose=0), fl([A, A]))


def test_function_with_layers_uses_their_weights():
    x = lamina.KerasTensor(shape=(None, 3))
    dense = lamina.layers.Dense(2)
    fn = lamina.Function(x, lamina.ops.relu(dense(x)))
    expected = np.maximum(A[:, 0] @ dense.kernel.value + dense.bias.value, 0)
    assert_close(fn(A[:, 0]), expected)


def test_disconnected_or_wrong_inputs_raise():
    a, b = lamina.KerasTensor(shape=(None, 3)), lamina.KerasTensor(shape=(None, 3))
    with pytest.raises(ValueError, match="disconnected"):
        lamina.Function(inputs=[a], outputs=a + b)
    with pytest.raises(ValueError, match="KerasTensors"):
        lamina.Function(inputs=[a], outputs=[np.ones(3)])
    fn = lamina.Function(inputs=[a, b], outputs=a + b)
    with pytest.raises(ValueError, match="expects 2 input"):
        fn([np.ones((1, 3))])
