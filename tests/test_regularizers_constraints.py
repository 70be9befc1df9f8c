"""lamina.regularizers and lamina.constraints against Keras 3 (JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina import constraints as C  # noqa: E402
from lamina import regularizers as R  # noqa: E402

W = np.random.RandomState(0).randn(4, 3).astype("float32") * 2
W3 = np.random.RandomState(1).randn(2, 3, 4).astype("float32")


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


# -- regularizers -------------------------------------------------------------------

REG_CASES = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L1", {"l1": 1}), ("L2", {}), ("L2", {"l2": 0.3}),
    ("L1L2", {}), ("L1L2", {"l1": 0.1, "l2": 0.2}), ("L1L2", {"l1": 0.01}),
    ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.5}),
    ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"}),
]
REG_IDS = [f"{n}-{i}" for i, (n, _) in enumerate(REG_CASES)]


@pytest.mark.parametrize("name,kwargs", REG_CASES, ids=REG_IDS)
def test_regularizer_values_match_keras(name, kwargs):
    ours = getattr(R, name)(**kwargs)(W)
    # Keras's columns mode fails on NumPy inputs; give it a jax array.
    theirs = getattr(keras.regularizers, name)(**kwargs)(jnp.asarray(W))
    assert isinstance(ours, jax.Array) and ours.shape == ()
    _close(ours, theirs)


@pytest.mark.parametrize("name,kwargs", REG_CASES, ids=REG_IDS)
def test_regularizer_configs_match_keras(name, kwargs):
    ours = R.serialize(getattr(R, name)(**kwargs))
    theirs = keras.regularizers.serialize(getattr(keras.regularizers, name)(**kwargs))
    assert json.dumps(ours) == json.dumps(theirs)
    restored = R.deserialize(json.loads(json.dumps(theirs)))
    assert type(restored) is getattr(R, name)
    assert R.serialize(restored) == ours
    assert type(keras.regularizers.deserialize(ours)).__name__ == name


@pytest.mark.parametrize("alias,cls", [("l1", "L1"), ("l2", "L2"), ("l1_l2", "L1L2"),
                                       ("orthogonal_regularizer", "OrthogonalRegularizer")])
def test_regularizer_aliases(alias, cls):
    assert getattr(R, alias) is getattr(R, cls)
    assert getattr(keras.regularizers, alias).__name__ == cls
    got = R.get(alias)
    assert type(got) is getattr(R, cls)
    assert json.dumps(R.serialize(got)) == json.dumps(
        keras.regularizers.serialize(getattr(keras.regularizers, cls)()))


def test_regularizer_argument_errors():
    for bad in [dict(l1=-1), dict(l1="a")]:
        with pytest.raises(ValueError, match="l1"):
            R.L1(**bad)
    with pytest.raises(ValueError, match="l2"):
        R.L1L2(l2=-1)
    with pytest.raises(ValueError, match="factor"):
        R.OrthogonalRegularizer(factor=-1)
    with pytest.raises(ValueError, match="mode"):
        R.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match="rank 2"):
        R.OrthogonalRegularizer()(W3)


def test_regularizer_none_arguments_use_defaults():
    assert R.L1(l1=None).get_config() == keras.regularizers.L1(l1=None).get_config()
    assert R.L2(l2=None).get_config() == keras.regularizers.L2(l2=None).get_config()
    assert R.L1L2(None, None).get_config() == keras.regularizers.L1L2(None, None).get_config()


def test_regularizers_under_jit_and_grad():
    reg = R.L1L2(l1=0.1, l2=0.2)
    value, grad = jax.jit(jax.value_and_grad(reg))(jnp.asarray(W))
    _close(value, keras.regularizers.L1L2(l1=0.1, l2=0.2)(W))
    _close(grad, 0.1 * np.sign(W) + 0.4 * W)
    _close(jax.jit(R.OrthogonalRegularizer(0.5))(W),
           keras.regularizers.OrthogonalRegularizer(0.5)(jnp.asarray(W)))


def test_regularizer_base():
    assert float(R.Regularizer()(W)) == 0.0
    with pytest.raises(NotImplementedError, match="get_config"):
        R.Regularizer().get_config()


def test_regularizer_get():
    assert R.get(None) is None
    assert isinstance(R.get("L2"), R.L2)
    assert isinstance(R.get(R.L1), R.L1)
    inst = R.L2(0.5)

    def fn(x):
        return jnp.sum(x)

    assert R.get(inst) is inst and R.get(fn) is fn
    assert R.get({"class_name": "L1", "config": {"l1": 0.2}}).l1 == pytest.approx(0.2)
    with pytest.raises(ValueError, match="'foo'.*l1"):
        R.get("foo")
    with pytest.raises(ValueError, match="Could not interpret"):
        R.get(3)
    assert R.serialize("l2") == "l2"


# -- constraints --------------------------------------------------------------------

CON_CASES = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 1.5}), ("MaxNorm", {"max_value": 1.5, "axis": 1}),
    ("MaxNorm", {"max_value": 3, "axis": [0, 1]}), ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.5, "rate": 0.7}),
    ("MinMaxNorm", {"min_value": 3.0, "max_value": 4.0, "axis": -1}), ("NonNeg", {}),
    ("UnitNorm", {}), ("UnitNorm", {"axis": -1}), ("UnitNorm", {"axis": [0, 1]}),
]
CON_IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CON_CASES)]


@pytest.mark.parametrize("w", [W, W3], ids=["2d", "3d"])
@pytest.mark.parametrize("name,kwargs", CON_CASES, ids=CON_IDS)
def test_constraint_values_match_keras(name, kwargs, w):
    ours = getattr(C, name)(**kwargs)(w)
    theirs = getattr(keras.constraints, name)(**kwargs)(w)
    assert isinstance(ours, jax.Array) and ours.shape == w.shape
    _close(ours, theirs)


@pytest.mark.parametrize("name,kwargs", CON_CASES, ids=CON_IDS)
def test_constraint_configs_match_keras(name, kwargs):
    ours = C.serialize(getattr(C, name)(**kwargs))
    theirs = keras.constraints.serialize(getattr(keras.constraints, name)(**kwargs))
    assert json.dumps(ours) == json.dumps(theirs)
    restored = C.deserialize(json.loads(json.dumps(theirs)))
    assert type(restored) is getattr(C, name)
    assert C.serialize(restored) == ours
    assert type(keras.constraints.deserialize(ours)).__name__ == name


def test_constraint_axes_of_a_3d_kernel():
    for axis in ([0, 2], (1, 2), 2):
        _close(C.UnitNorm(axis=axis)(W3), keras.constraints.UnitNorm(axis=axis)(W3))
        _close(C.MaxNorm(0.8, axis=axis)(W3), keras.constraints.MaxNorm(0.8, axis=axis)(W3))


def test_constraint_results():
    out = np.asarray(C.MaxNorm(1.0)(W))
    assert (np.linalg.norm(out, axis=0) <= 1.0 + 1e-6).all()
    out = np.asarray(C.UnitNorm(axis=1)(W))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(C.NonNeg()(np.array([-1, 2, 0]))), [0, 2, 0])
    # Integer weights come back as floatx for the norm constraints, as in Keras.
    assert C.MaxNorm()(np.ones((2, 2), "int32")).dtype == jnp.float32
    assert C.MaxNorm()(np.ones((2, 2), "float16")).dtype == jnp.float16
    _close(C.MaxNorm()(np.zeros((2, 2), "float32")), np.zeros((2, 2)))


@pytest.mark.parametrize("alias,cls", [("max_norm", "MaxNorm"), ("min_max_norm", "MinMaxNorm"),
                                       ("non_neg", "NonNeg"), ("unit_norm", "UnitNorm")])
def test_constraint_aliases(alias, cls):
    assert getattr(C, alias) is getattr(C, cls)
    assert type(C.get(alias)) is getattr(C, cls)
    assert json.dumps(C.serialize(C.get(alias))) == json.dumps(
        keras.constraints.serialize(keras.constraints.get(alias)))


def test_constraints_under_jit():
    fn = jax.jit(lambda w: C.MinMaxNorm(0.5, 1.5, 0.7)(C.NonNeg()(w)))
    _close(fn(W), keras.constraints.MinMaxNorm(0.5, 1.5, 0.7)(keras.constraints.NonNeg()(W)))


def test_constraint_get_and_errors():
    assert C.get(None) is None
    assert isinstance(C.get("MaxNorm"), C.MaxNorm)
    assert isinstance(C.get(C.UnitNorm), C.UnitNorm)
    assert C.Constraint()(W) is W
    assert C.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 1}}).max_value == 3
    with pytest.raises(ValueError, match="'foo'.*max_norm"):
        C.get("foo")
    with pytest.raises(ValueError, match="Could not interpret"):
        C.get(5)
    with pytest.raises(TypeError, match="max_value"):
        C.MaxNorm(max_value="a")
    assert C.serialize("non_neg") == "non_neg"
