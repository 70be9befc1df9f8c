"""lamina.activations against keras.activations (Keras 3, JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import inspect  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina import activations  # noqa: E402
from lamina.saving import register_keras_serializable  # noqa: E402

RTOL, ATOL = 1e-5, 1e-6

# Boundary values of the piecewise activations (+-0.5, +-1, +-3, 0, 6) and random ones.
_EDGES = np.array([-7.0, -3.0, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 3.0, 6.0,
                   7.0], dtype="float32")
X = np.concatenate([_EDGES, np.random.RandomState(0).randn(10).astype("float32") * 3])
X = X.reshape(4, 6)

# Names whose Keras call needs extra arguments, or where Keras is wrong (sparsemax).
_SPECIAL = {"threshold", "sparsemax"}
PLAIN_NAMES = sorted(set(activations.ALL_OBJECTS_DICT) - _SPECIAL)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL)


def test_same_names_as_keras():
    keras_names = set(keras.src.activations.ALL_OBJECTS_DICT)
    assert set(activations.ALL_OBJECTS_DICT) == keras_names


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_values_match_keras(name):
    _close(getattr(activations, name)(X), getattr(keras.activations, name)(X))


@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS_DICT))
def test_signature_and_builtin_flag(name):
    ours, theirs = getattr(activations, name), getattr(keras.activations, name)
    ours_params = [(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
    theirs_params = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert ours_params == theirs_params
    assert ours._keras_builtin is True


@pytest.mark.parametrize("threshold", [0.0, -0.5, 0.5])
@pytest.mark.parametrize("negative_slope", [0.0, 0.3])
@pytest.mark.parametrize("max_value", [None, 1.5, 6.0])
def test_relu_options_match_keras(threshold, negative_slope, max_value):
    kw = dict(threshold=threshold, negative_slope=negative_slope, max_value=max_value)
    _close(activations.relu(X, **kw), keras.activations.relu(X, **kw))


@pytest.mark.parametrize("name,kwargs", [
    ("leaky_relu", {"negative_slope": 0.05}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {"axis": 0}),
    ("glu", {"axis": 0}),
    ("soft_shrink", {"threshold": 1.0}),
    ("hard_shrink", {"threshold": 1.0}),
    ("squareplus", {"b": 1.0}),
    ("threshold", {"threshold": 0.3, "default_value": -2.0}),
    ("threshold", {"threshold": -1.0, "default_value": 0.0}),
])
def test_arguments_match_keras(name, kwargs):
    _close(getattr(activations, name)(X, **kwargs), getattr(keras.activations, name)(X, **kwargs))


def test_softmax_sums_to_one():
    out = np.asarray(activations.softmax(X))
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


def test_glu_odd_axis_raises():
    with pytest.raises(ValueError, match="even"):
        activations.glu(np.ones((2, 3), "float32"))


def test_sparsemax_known_values_and_properties():
    # Keras 3.15.1 returns values that do not sum to 1 for these rows (e.g. [0, 0.067,
    # 0.167] for the first); the Euclidean projections onto the simplex are:
    out = np.asarray(activations.sparsemax(np.array([[0.1, 0.2, 0.3]], "float32")))
    _close(out, [[0.1 + 0.4 / 3, 0.2 + 0.4 / 3, 0.3 + 0.4 / 3]])
    out = np.asarray(activations.sparsemax(np.array([[-1.0, 0.3, 0.9, 1.1]], "float32")))
    _close(out, [[0.0, 0.0, 0.4, 0.6]])
    out = np.asarray(activations.sparsemax(X * 0.3, axis=0))
    np.testing.assert_allclose(out.sum(0), 1.0, rtol=1e-5)
    assert (out >= 0).all()
    assert (out == 0).any()


@pytest.mark.parametrize("x", [[[1.0, 2.0, 0.5]], [[0.5, 0.6, 0.7, 3.0]], [[0.0, 0.0, 0.0]]])
def test_sparsemax_matches_keras_where_keras_is_right(x):
    x = np.asarray(x, "float32")
    _close(activations.sparsemax(x), keras.activations.sparsemax(x))


def test_linear_returns_input_and_works_on_lists():
    assert activations.linear(X) is X
    _close(activations.relu([-1.0, 2.0]), [0.0, 2.0])


def test_activations_trace_under_jit():
    fn = jax.jit(lambda x: activations.relu(x, negative_slope=0.1, max_value=2.0, threshold=0.5)
                 + activations.sparsemax(x) + activations.glu(jnp.concatenate([x, x], -1)))
    expected = (keras.activations.relu(X, negative_slope=0.1, max_value=2.0, threshold=0.5)
                + np.asarray(activations.sparsemax(X))
                + keras.activations.glu(np.concatenate([X, X], -1)))
    _close(fn(X), expected)


# -- get / serialize / deserialize ---------------------------------------------------

@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS_DICT))
def test_serialize_matches_keras(name):
    ours = activations.serialize(activations.get(name))
    assert ours == keras.activations.serialize(keras.activations.get(name))
    assert activations.get(ours) is activations.get(name)


def test_aliases_are_the_canonical_functions():
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.serialize(activations.swish) == "silu"


def test_get():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom
    with pytest.raises(ValueError, match="'no_such_fn'.*relu"):
        activations.get("no_such_fn")
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get(3)


def test_deserialize_keras_written_configs():
    # What Keras writes for a function activation in a layer config, and a bare name.
    keras_dict = keras.saving.serialize_keras_object(keras.activations.gelu)
    assert activations.deserialize(keras_dict) is activations.gelu
    assert activations.get(keras_dict) is activations.gelu
    assert activations.deserialize(keras.layers.Dense(2, activation="swish").get_config()[
        "activation"]) is activations.silu
    with pytest.raises(ValueError, match="nope"):
        activations.deserialize("nope")


def test_custom_activation_round_trip():
    def my_act(x):
        return x + 1

    config = activations.serialize(my_act)
    assert isinstance(config, dict) and config["config"] == "my_act"
    assert activations.deserialize(config, custom_objects={"my_act": my_act}) is my_act

    @register_keras_serializable(package="TestActs")
    def registered_act(x):
        return x - 1

    assert activations.deserialize(activations.serialize(registered_act)) is registered_act
