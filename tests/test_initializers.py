"""lamina.initializers against keras.initializers (Keras 3, JAX backend)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import json  # noqa: E402
import math  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans  # noqa: E402

from lamina import initializers as I  # noqa: E402
from lamina import random as lamina_random  # noqa: E402
from lamina.state import Variable  # noqa: E402
from lamina.utils import set_random_seed  # noqa: E402

TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]

# (class name, constructor kwargs): defaults and non-defaults for every class.
CASES = [
    ("Zeros", {}), ("Ones", {}), ("Constant", {}), ("Constant", {"value": 3}),
    ("Identity", {}), ("Identity", {"gain": 2.0}),
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1, "stddev": 2, "seed": 3}),
    ("TruncatedNormal", {}), ("TruncatedNormal", {"mean": 1.0, "stddev": 0.5, "seed": 4}),
    ("RandomUniform", {}), ("RandomUniform", {"minval": 1, "maxval": 3.0, "seed": 5}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 2, "mode": "fan_avg", "distribution": "uniform", "seed": 6}),
    ("VarianceScaling", {"distribution": "normal"}),
    ("VarianceScaling", {"mode": "fan_out", "distribution": "untruncated_normal",
                         "input_axes": [0], "output_axes": [1, 2]}),
    ("GlorotUniform", {}), ("GlorotNormal", {"seed": 1}), ("HeUniform", {}), ("HeNormal", {}),
    ("LecunUniform", {}), ("LecunNormal", {"seed": 2}),
    ("Orthogonal", {}), ("Orthogonal", {"gain": 2, "seed": 7}),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
ALIASES = ["zeros", "ones", "constant", "identity", "random_normal", "truncated_normal",
           "random_uniform", "variance_scaling", "glorot_uniform", "glorot_normal", "he_uniform",
           "he_normal", "lecun_uniform", "lecun_normal", "orthogonal", "IdentityInitializer",
           "OrthogonalInitializer"]


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_config_equals_keras(name, kwargs):
    ours = I.serialize(getattr(I, name)(**kwargs))
    theirs = keras.initializers.serialize(getattr(keras.initializers, name)(**kwargs))
    # Same keys in the same order, same values: the JSON text is identical.
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_keras_written_config_deserializes(name, kwargs):
    keras_config = keras.initializers.serialize(getattr(keras.initializers, name)(**kwargs))
    ours = I.deserialize(json.loads(json.dumps(keras_config)))
    assert type(ours) is getattr(I, name)
    assert json.dumps(I.serialize(ours)) == json.dumps(keras_config)
    # The round trip through lamina's own serialization gives the same config back.
    assert I.serialize(I.deserialize(I.serialize(ours))) == I.serialize(ours)
    # And Keras reads what lamina writes.
    back = keras.initializers.deserialize(json.loads(json.dumps(I.serialize(ours))))
    assert type(back).__name__ == name


@pytest.mark.parametrize("alias", ALIASES)
def test_aliases_match_keras(alias):
    ours, theirs = getattr(I, alias), getattr(keras.initializers, alias)
    assert ours.__name__ == theirs.__name__
    # (keras.initializers.get("constant") raises a KeyError in Keras 3.15.1; build theirs.)
    assert json.dumps(I.serialize(I.get(alias))) == json.dumps(
        keras.initializers.serialize(theirs()))


def test_constant_array_value_round_trip():
    init = I.Constant(np.arange(3.0))
    config = I.serialize(init)
    assert json.dumps(config) == json.dumps(
        keras.initializers.serialize(keras.initializers.Constant(np.arange(3.0))))
    restored = I.deserialize(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(restored((2, 3)), np.tile(np.arange(3.0), (2, 1)))
    keras_restored = keras.initializers.deserialize(config)
    np.testing.assert_array_equal(np.asarray(keras_restored((3,))), np.arange(3.0))


# -- statistics -----------------------------------------------------------------------

SHAPE = (256, 256)


def _stats_check(x, mean, std, low=None, high=None, std_rtol=0.02):
    assert x.shape == SHAPE and x.dtype == np.float32
    assert abs(x.mean() - mean) < 4 * std / math.sqrt(x.size) + 1e-7
    assert abs(x.std() - std) < std_rtol * std
    if low is not None:
        assert x.min() >= low and x.max() <= high


@pytest.mark.parametrize("name,scale,mode,dist", [
    ("GlorotUniform", 1.0, "fan_avg", "uniform"), ("GlorotNormal", 1.0, "fan_avg", "normal"),
    ("HeUniform", 2.0, "fan_in", "uniform"), ("HeNormal", 2.0, "fan_in", "normal"),
    ("LecunUniform", 1.0, "fan_in", "uniform"), ("LecunNormal", 1.0, "fan_in", "normal"),
])
def test_variance_scaling_family_statistics(name, scale, mode, dist):
    x = I.get(name)(SHAPE)
    n = 256.0
    std = math.sqrt(scale / n)
    if dist == "uniform":
        limit = math.sqrt(3 * scale / n)
        _stats_check(x, 0.0, std, -limit, limit)
    else:
        bound = 2 * std / TRUNC_STD
        _stats_check(x, 0.0, std, -bound, bound)
    # The same statistics as Keras's own draw.
    theirs = np.asarray(keras.initializers.get(name)(SHAPE))
    assert abs(x.std() - theirs.std()) < 0.03 * theirs.std()
    assert abs(np.abs(x).max() - np.abs(theirs).max()) < 0.02 * np.abs(theirs).max()


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("dist", ["uniform", "truncated_normal", "untruncated_normal"])
def test_variance_scaling_conv_kernel(mode, dist):
    # A conv kernel (kh, kw, in, out): fans include the 3x3 receptive field.
    shape = (3, 3, 16, 64)
    init = I.VarianceScaling(scale=3.0, mode=mode, distribution=dist, seed=1)
    x = init(shape)
    fan_in, fan_out = 9 * 16, 9 * 64
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = math.sqrt(3.0 / n)
    assert abs(x.std() - std) < 0.03 * std
    if dist == "uniform":
        assert np.abs(x).max() <= math.sqrt(3) * std
    elif dist == "truncated_normal":
        assert np.abs(x).max() <= 2 * std / TRUNC_STD
    else:
        assert np.abs(x).max() > 2 * std  # an untruncated normal exceeds 2 std here


@pytest.mark.parametrize("shape,input_axes,output_axes", [
    ((), None, None), ((5,), None, None), ((3, 4), None, None), ((2, 3, 4), None, None),
    ((2, 2, 3, 4), None, None), ((2, 2, 2, 3, 4), None, None), ((3, 4, 5), (0,), (1, 2)),
    ((3, 4, 5), (0, 1), (2,)), ((3, 4, 5), (-1,), (0,)), ((3, 4, 5), (0,), None),
    ((2, 3, 4, 5), (0,), (3,)),
])
def test_compute_fans_matches_keras(shape, input_axes, output_axes):
    assert I.compute_fans(shape, input_axes, output_axes) == tuple(
        keras_compute_fans(shape, input_axes, output_axes))


def test_random_normal_uniform_truncated_statistics():
    _stats_check(I.RandomNormal(mean=1.0, stddev=0.5, seed=1)(SHAPE), 1.0, 0.5)
    _stats_check(I.RandomUniform(minval=-2.0, maxval=4.0, seed=1)(SHAPE), 1.0,
                 6 / math.sqrt(12), -2.0, 4.0)
    _stats_check(I.TruncatedNormal(mean=1.0, stddev=0.5, seed=1)(SHAPE), 1.0, 0.5 * TRUNC_STD,
                 0.0, 2.0)
    _stats_check(I.RandomNormal()(SHAPE), 0.0, 0.05)
    _stats_check(I.RandomUniform()(SHAPE), 0.0, 0.1 / math.sqrt(12), -0.05, 0.05)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (2, 3, 4), (2, 2, 3, 6)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_is_orthogonal(shape, gain):
    x = I.Orthogonal(gain=gain, seed=3)(shape)
    assert x.shape == shape
    m = x.reshape(-1, shape[-1]).astype("float64")
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(small), atol=1e-5 * gain**2)


def test_orthogonal_needs_rank_two():
    with pytest.raises(ValueError, match="rank"):
        I.Orthogonal()((3,))


# -- constant initializers ----------------------------------------------------------

def test_constant_initializers_match_keras():
    for ours, theirs, shape, dtype in [
        (I.Zeros(), keras.initializers.Zeros(), (2, 3), "float32"),
        (I.Ones(), keras.initializers.Ones(), (2, 3), "int32"),
        (I.Constant(3), keras.initializers.Constant(3), (4,), "int32"),
        (I.Constant([1.0, 2.0]), keras.initializers.Constant([1.0, 2.0]), (3, 2), "float32"),
        (I.Identity(), keras.initializers.Identity(), (3, 4), "float32"),
        (I.Identity(gain=2.0), keras.initializers.Identity(gain=2.0), (4, 3), "float32"),
    ]:
        x = ours(shape, dtype=dtype)
        assert isinstance(x, np.ndarray) and x.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(x, np.asarray(theirs(shape, dtype=dtype)))


def test_constant_and_identity_errors():
    with pytest.raises(ValueError, match="numeric"):
        I.Constant("a")((2,))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        I.Constant([1.0, 2.0])((3,))
    with pytest.raises(ValueError, match="2D"):
        I.Identity()((3, 4, 5))


# -- dtypes and host-side output ----------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "orthogonal", "random_normal",
                                  "truncated_normal", "random_uniform", "zeros", "identity"])
def test_dtypes_and_numpy_output(name, dtype):
    x = I.get(name)((3, 4), dtype=dtype)
    assert isinstance(x, np.ndarray)
    assert x.shape == (3, 4) and x.dtype.name == dtype


def test_default_dtype_is_floatx():
    assert I.GlorotUniform()((2, 2)).dtype == np.float32


@pytest.mark.parametrize("name", ["glorot_uniform", "random_normal", "orthogonal"])
def test_random_int_dtype_raises(name):
    with pytest.raises(ValueError, match="float dtype.*int32"):
        I.get(name)((2, 2), dtype="int32")


def test_variable_from_initializer():
    v = Variable(I.get("he_uniform"), shape=(3, 2), dtype="bfloat16")
    assert v.shape == (3, 2) and v.dtype == "bfloat16"


# -- seeding ------------------------------------------------------------------------

def test_seeded_initializer_repeats():
    a, b = I.GlorotUniform(seed=7), I.GlorotUniform(seed=7)
    np.testing.assert_array_equal(a((4, 4)), a((4, 4)))
    np.testing.assert_array_equal(a((4, 4)), b((4, 4)))
    assert not np.array_equal(a((4, 4)), I.GlorotUniform(seed=8)((4, 4)))


def test_unseeded_initializer_as_keras():
    # Keras 3: an unseeded instance gives the same values on each call; instances differ.
    init = I.RandomNormal()
    np.testing.assert_array_equal(init((4, 4)), init((4, 4)))
    assert not np.array_equal(init((4, 4)), I.RandomNormal()((4, 4)))
    keras_init = keras.initializers.RandomNormal()
    np.testing.assert_array_equal(np.asarray(keras_init((4, 4))), np.asarray(keras_init((4, 4))))
    assert init.get_config()["seed"] is None


def test_set_random_seed_reproduces_unseeded():
    set_random_seed(123)
    first = [I.get(n)((3, 3)) for n in ("glorot_uniform", "orthogonal", "truncated_normal")]
    set_random_seed(123)
    second = [I.get(n)((3, 3)) for n in ("glorot_uniform", "orthogonal", "truncated_normal")]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    set_random_seed(124)
    assert not np.array_equal(first[0], I.get("glorot_uniform")((3, 3)))


def test_seed_generator_gives_new_values_each_call():
    init = I.RandomUniform(seed=lamina_random.SeedGenerator(5))
    assert not np.array_equal(init((4,)), init((4,)))
    again = I.RandomUniform(seed=lamina_random.SeedGenerator(5))
    first = I.RandomUniform(seed=lamina_random.SeedGenerator(5))((4,))
    np.testing.assert_array_equal(first, again((4,)))
    restored = I.deserialize(I.serialize(init))
    assert isinstance(restored.seed, lamina_random.SeedGenerator) and restored.seed.seed == 5


@pytest.mark.parametrize("seed", [1.5, "a", True])
def test_bad_seed_raises(seed):
    with pytest.raises(ValueError, match="seed"):
        I.RandomNormal(seed=seed)


def test_variance_scaling_argument_errors():
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="'foo'.*fan_in"):
        I.VarianceScaling(mode="foo")
    with pytest.raises(ValueError, match="'bar'.*uniform"):
        I.VarianceScaling(distribution="bar")


# -- get / serialize / deserialize ---------------------------------------------------

def test_get():
    assert I.get(None) is None
    assert isinstance(I.get("glorot_uniform"), I.GlorotUniform)
    assert isinstance(I.get("GlorotUniform"), I.GlorotUniform)
    assert isinstance(I.get(I.HeNormal), I.HeNormal)
    inst = I.Zeros()
    assert I.get(inst) is inst

    def fn(shape, dtype=None):
        return np.ones(shape)

    assert I.get(fn) is fn
    assert isinstance(I.get({"class_name": "Ones", "config": {}}), I.Ones)
    with pytest.raises(ValueError, match="'foo'.*glorot_uniform"):
        I.get("foo")
    with pytest.raises(ValueError, match="Could not interpret"):
        I.get(3)


def test_serialize_string_and_clone():
    assert I.serialize("glorot_uniform") == "glorot_uniform"
    assert isinstance(I.deserialize("he_normal"), I.HeNormal)
    init = I.VarianceScaling(scale=2.0, mode="fan_out", seed=9)
    clone = init.clone()
    assert clone is not init and clone.get_config() == init.get_config()
    np.testing.assert_array_equal(clone((3, 3)), init((3, 3)))
