"""lamina.backend against keras.backend: dtype names, promotion, uids, settings."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import backend

DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "bfloat16", "float16", "float32", "float64", "complex64", "complex128"]
SPECIAL = [int, float, bool, None, "float8_e4m3fn", "string", np.float32, jnp.bfloat16,
           np.dtype("int16")]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return ValueError


@pytest.fixture
def floatx(request):
    """Sets floatx in both Keras and lamina, restoring float32 afterwards."""
    value = request.param
    keras.config.set_floatx(value)
    lamina.backend.set_floatx(value)
    yield value
    keras.config.set_floatx("float32")
    lamina.backend.set_floatx("float32")


@pytest.mark.parametrize("floatx", ["float32", "float16", "float64", "bfloat16"], indirect=True)
def test_result_type_pairs_match_keras(floatx):
    values = DTYPES + SPECIAL
    mismatches = []
    for a, b in itertools.product(values, repeat=2):
        expected = _outcome(keras.backend.result_type, a, b)
        actual = _outcome(backend.result_type, a, b)
        if actual != expected:
            mismatches.append((a, b, actual, expected))
    assert not mismatches, mismatches[:20]


def test_result_type_singletons_triples_and_empty_match_keras():
    values = DTYPES + SPECIAL
    for a in values:
        assert _outcome(backend.result_type, a) == _outcome(keras.backend.result_type, a), a
    assert backend.result_type() == keras.backend.result_type() == "float32"
    rng = np.random.default_rng(0)
    for _ in range(400):
        args = [values[i] for i in rng.integers(0, len(values), size=3)]
        assert (_outcome(backend.result_type, *args)
                == _outcome(keras.backend.result_type, *args)), args


def test_result_type_examples():
    assert backend.result_type("bfloat16", int) == "bfloat16"
    assert backend.result_type("int32", "float32") == "float32"
    assert backend.result_type("int8", int) == "int8"
    assert backend.result_type("uint8", "int8") == "int16"
    assert backend.result_type(int, float) == "float32"
    with pytest.raises(ValueError, match="float8"):
        backend.result_type("float8_e4m3fn", "float32")


STANDARDIZE_CASES = [None, int, float, bool, str, complex, "int", "float", "float32", "float64",
                     "int64", "uint8", "bool", "string", "bfloat16", "float8_e4m3fn",
                     "float8_e5m2", "complex64", "complex128", np.float32, np.dtype("int16"),
                     jnp.bfloat16, jnp.float16, jnp.dtype("float32"), np.int64, np.bool_,
                     "float128", "foo", "str", "uint64"]


@pytest.mark.parametrize("dtype", STANDARDIZE_CASES, ids=repr)
def test_standardize_and_kind_match_keras(dtype):
    for name in ("standardize_dtype", "is_float_dtype", "is_int_dtype"):
        expected = _outcome(getattr(keras.backend, name), dtype)
        assert _outcome(getattr(backend, name), dtype) == expected, name


def test_get_uid_counts_per_prefix_and_shares_layer_names():
    backend.clear_session()
    keras.backend.clear_session()
    assert [backend.get_uid("abc") for _ in range(3)] == [1, 2, 3]
    assert [keras.backend.get_uid("abc") for _ in range(3)] == [1, 2, 3]
    assert backend.get_uid() == keras.backend.get_uid() == 1
    lamina.layers.Dense(2)
    keras.layers.Dense(2)
    assert backend.get_uid("dense") == keras.backend.get_uid("dense") == 2
    assert lamina.layers.Dense(2).name == keras.layers.Dense(2).name == "dense_2"
    backend.clear_session()
    assert backend.get_uid("abc") == 1
    assert lamina.layers.Dense(2).name == "dense"
    backend.clear_session(free_memory=False)


def test_settings_round_trip_and_validate():
    assert backend.backend() == "jax"
    backend.set_epsilon(1e-4)
    try:
        assert backend.epsilon() == 1e-4
        assert lamina.config.epsilon() == 1e-4
    finally:
        backend.set_epsilon(1e-7)
    backend.set_image_data_format("CHANNELS_FIRST")
    try:
        assert backend.image_data_format() == "channels_first"
    finally:
        backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError):
        backend.set_image_data_format("nhwc")
    with pytest.raises(ValueError):
        backend.set_floatx("int32")


def test_is_keras_tensor():
    x = lamina.Input((3,))
    assert backend.is_keras_tensor(x)
    assert not backend.is_keras_tensor(np.zeros(3))


def test_public_names_match_keras():
    names = {n for n in dir(keras.backend) if not n.startswith("_")}
    assert names <= set(dir(backend))
