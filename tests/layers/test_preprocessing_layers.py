"""Normalization, Rescaling, CategoryEncoding, Discretization and Hashing vs Keras 3.

Keras's Hashing needs TensorFlow, which is not installed, so Hashing is checked
against the bin values printed in Keras's own docstrings and tests, and against
a plain-Python FarmHash64 / SipHash-2-4 written here.
"""

import json
import struct

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers
from lamina.layers.preprocessing import _hash64

RNG = np.random.RandomState(0)
X = (RNG.randn(6, 3) * [1.0, 5.0, 0.1] + [0.0, 10.0, -3.0]).astype("float32")
IMG = RNG.rand(4, 2, 3, 2).astype("float32")


def _strip_name(config):
    return {k: v for k, v in config.items() if k != "name"}


# -- Normalization ------------------------------------------------------------------
@pytest.mark.parametrize("axis,data", [(-1, X), (None, X), ((1, 2), IMG), (1, IMG), (-1, IMG)])
def test_normalization_adapt_matches_keras(axis, data):
    ours = layers.Normalization(axis=axis, name="norm")
    theirs = keras.layers.Normalization(axis=axis, name="norm")
    ours.adapt(data)
    theirs.adapt(data)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [w.dtype for w in ours.weights] == [w.dtype for w in theirs.weights]
    assert_close(ours.get_weights(), theirs.get_weights())
    assert_close([ours.mean, ours.variance], [theirs.mean, theirs.variance])
    assert ours.get_config() == theirs.get_config()
    assert ours.get_build_config() == {"input_shape": list(data.shape)} or (
        ours.get_build_config() == {"input_shape": data.shape})
    expected = np.asarray(theirs(data))
    assert_close(ours(data), expected)
    # Weights travel both ways.
    fresh = layers.Normalization(axis=axis)
    fresh.build(data.shape)
    copy_weights(theirs, fresh)
    assert_close(fresh(data), expected)


def test_normalization_adapt_on_batches_and_jax_arrays():
    # (Keras's own iterable path needs TensorFlow; the exact combination equals full-data stats.)
    batches = [X[:2], X[2:5], X[5:]]
    ours = layers.Normalization()
    ours.adapt(batches)
    assert_close(ours.get_weights()[:2], [X.mean(0), X.var(0)])
    from_jax = layers.Normalization()
    from_jax.adapt(jax.numpy.asarray(X))
    assert_close(from_jax.get_weights()[:2], [X.mean(0), X.var(0)])
    # Re-adapting replaces the statistics.
    ours.adapt(X * 2)
    assert_close(ours.get_weights()[:2], [2 * X.mean(0), 4 * X.var(0)])
    with pytest.raises(ValueError, match="incompatible"):
        ours.adapt(np.zeros((4, 5), "float32"))


@pytest.mark.parametrize("kwargs", [
    {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]},
    {"mean": 2.0, "variance": 4.0},
    {"mean": 2.0, "variance": 4.0, "invert": True},
    {"axis": (1, 2), "mean": [0.5, 0.2, 0.1], "variance": [0.1, 0.3, 2.0]},
    {"axis": (1, 2), "mean": [[0.5, 0.2, 0.1], [0, 1, 2]], "variance": [[1, 2, 3], [4, 5, 6]]},
])
def test_normalization_given_stats_match_keras(kwargs):
    data = IMG if kwargs.get("axis") == (1, 2) else X
    ours = layers.Normalization(name="n", **kwargs)
    theirs = keras.layers.Normalization(name="n", **kwargs)
    expected = np.asarray(theirs(data))
    assert_close(ours(data), expected)
    assert ours.weights == [] and theirs.weights == []
    assert ours.get_config() == theirs.get_config()
    clone = layers.Normalization.from_config(json.loads(json.dumps(ours.get_config())))
    assert_close(clone(data), expected)


def test_normalization_in_functional_model_and_jit():
    norm = layers.Normalization()
    norm.adapt(X)
    inp = lamina.Input(shape=(3,))
    model = lamina.Model(inp, layers.Dense(2)(norm(inp)))
    k_norm = keras.layers.Normalization()
    k_norm.adapt(X)
    k_inp = keras.Input(shape=(3,))
    k_model = keras.Model(k_inp, keras.layers.Dense(2)(k_norm(k_inp)))
    assert [w.path.split("/")[-1] for w in model.weights] == [
        w.path.split("/")[-1] for w in k_model.weights]
    model.set_weights(k_model.get_weights())
    expected = np.asarray(k_model(X))
    assert_close(model(X), expected)
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    jitted = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x)[0])
    assert_close(jitted(tv, ntv, X), expected)
    # The statistics are not trainable.
    assert len(model.trainable_variables) == 2 and len(model.non_trainable_variables) == 3


def test_normalization_errors():
    with pytest.raises(ValueError):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    layer = layers.Normalization(axis=3, name="norm_axis")
    with pytest.raises(ValueError, match="norm_axis"):
        layer(lamina.Input(shape=(3,)))
    unknown = layers.Normalization(name="norm_unknown")
    with pytest.raises(ValueError, match="norm_unknown"):
        unknown(lamina.Input(shape=(None,)))


# -- Rescaling ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255.0}, {"scale": 2.0, "offset": -1.0},
                                    {"scale": [0.5, 2.0], "offset": [1.0, 0.0]}])
def test_rescaling_matches_keras(kwargs):
    ours = layers.Rescaling(name="r", **kwargs)
    theirs = keras.layers.Rescaling(name="r", **kwargs)
    expected = np.asarray(theirs(IMG))
    assert_close(ours(IMG), expected)
    assert ours.get_config() == theirs.get_config()
    assert_close(layers.Rescaling.from_config(ours.get_config())(IMG), expected)
    ints = (IMG * 255).astype("int32")
    assert_close(ours(ints), theirs(ints))
    inp = lamina.Input(shape=(2, 3, 2))
    assert_close(lamina.Model(inp, layers.Rescaling(**kwargs)(inp))(IMG), expected)


# -- CategoryEncoding -------------------------------------------------------------------
IDS1 = np.array([3, 1, 0, 3], "int32")
IDS2 = np.array([[0, 1, 1], [2, 3, 3], [3, 0, 0]], "int32")
IDS_COL = np.array([[2], [0], [1]], "int32")


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("ids", [IDS1, IDS2, IDS_COL], ids=["rank1", "rank2", "column"])
def test_category_encoding_matches_keras(mode, ids):
    ours = layers.CategoryEncoding(4, output_mode=mode, name="ce")
    theirs = keras.layers.CategoryEncoding(4, output_mode=mode, name="ce")
    expected = np.asarray(theirs(ids))
    got = ours(ids)
    assert got.dtype == expected.dtype
    assert_close(got, expected)
    assert ours.get_config() == theirs.get_config()
    assert_close(layers.CategoryEncoding.from_config(ours.get_config())(ids), expected)
    inp = lamina.Input(shape=ids.shape[1:], batch_size=ids.shape[0], dtype="int32")
    out = layers.CategoryEncoding(4, output_mode=mode)(inp)
    k_out = keras.layers.CategoryEncoding(4, output_mode=mode)(
        keras.Input(shape=ids.shape[1:], batch_size=ids.shape[0], dtype="int32"))
    assert tuple(out.shape) == tuple(k_out.shape)
    assert_close(lamina.Model(inp, out)(ids), expected)


def test_category_encoding_count_weights_and_errors():
    weights = RNG.rand(*IDS2.shape).astype("float32")
    ours = layers.CategoryEncoding(5, output_mode="count")
    theirs = keras.layers.CategoryEncoding(5, output_mode="count")
    assert_close(ours(IDS2, count_weights=weights), theirs(IDS2, count_weights=weights))
    with pytest.raises(ValueError):
        layers.CategoryEncoding(5, output_mode="one_hot")(IDS2, count_weights=weights)
    for bad in ({"num_tokens": None}, {"num_tokens": 0}, {"num_tokens": 3, "output_mode": "x"}):
        with pytest.raises(ValueError):
            keras.layers.CategoryEncoding(**bad)
        with pytest.raises(ValueError):
            layers.CategoryEncoding(**bad)
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"


# -- Discretization -----------------------------------------------------------------------
CONT = np.array([[-1.5, 0.0, 0.2, 1.0], [0.5, 2.0, 3.5, -0.1]], "float32")


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_with_boundaries_matches_keras(mode):
    kwargs = {"bin_boundaries": [0.0, 1.0, 2.5], "output_mode": mode}
    ours = layers.Discretization(name="d", **kwargs)
    theirs = keras.layers.Discretization(name="d", **kwargs)
    data = CONT[:, :1] if mode == "one_hot" else CONT
    expected = np.asarray(theirs(data))
    got = ours(data)
    assert got.dtype == expected.dtype
    assert_close(got, expected)
    assert ours.get_config() == theirs.get_config()
    assert_close(layers.Discretization.from_config(ours.get_config())(data), expected)
    inp = lamina.Input(shape=data.shape[1:])
    assert_close(lamina.Model(inp, layers.Discretization(**kwargs)(inp))(data), expected)


def _keras_adapt(layer, batches):
    """Keras's Discretization.adapt() needs TensorFlow; these are the steps it takes."""
    layer.reset_state()
    for batch in batches:
        layer.update_state(batch)
    layer.finalize_state()


@pytest.mark.parametrize("num_bins,epsilon,size", [(4, 0.01, 1000), (3, 0.1, 37), (5, 0.01, 20)])
def test_discretization_adapt_matches_keras(num_bins, epsilon, size):
    data = RNG.gamma(2.0, size=(size, 1)).astype("float32")
    ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon, name="d")
    theirs = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon, name="d")
    ours.adapt(data)
    _keras_adapt(theirs, [data])
    assert_close(ours.bin_boundaries, theirs.bin_boundaries)
    assert ours.get_config() == theirs.get_config()
    assert_close(ours(data), theirs(data))
    # Batches merge into the same summary as Keras's.
    batches = [data[: size // 3], data[size // 3:]]
    ours.adapt(batches)
    _keras_adapt(theirs, batches)
    assert_close(ours.bin_boundaries, theirs.bin_boundaries)
    clone = layers.Discretization.from_config(json.loads(json.dumps(ours.get_config())))
    assert clone.bin_boundaries == ours.bin_boundaries and clone.num_bins == num_bins
    assert_close(clone(data), theirs(data))


def test_discretization_errors():
    for bad in ({}, {"num_bins": 3, "bin_boundaries": [1.0]}, {"num_bins": -1},
                {"bin_boundaries": [1.0], "output_mode": "bad"}):
        with pytest.raises(ValueError):
            keras.layers.Discretization(**bad)
        with pytest.raises(ValueError):
            layers.Discretization(**bad)
    with pytest.raises(ValueError, match="adapt"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(CONT)


# -- Hashing --------------------------------------------------------------------------------
_M64 = 2 ** 64 - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _rot(v, n):
    return ((v >> n) | (v << (64 - n))) & _M64


def _le(s, i, n):
    return int.from_bytes(s[i:i + n], "little")


def _mix16(u, v, m):
    a = ((u ^ v) * m) & _M64
    a ^= a >> 47
    b = ((v ^ a) * m) & _M64
    b ^= b >> 47
    return (b * m) & _M64


def _ref_fingerprint64(s: bytes) -> int:
    """Plain-Python FarmHash Fingerprint64 for strings of up to 32 bytes."""
    n = len(s)
    m = _K2 + 2 * n
    if n > 16:
        a, b = (_le(s, 0, 8) * _K1) & _M64, _le(s, 8, 8)
        c, d = (_le(s, n - 8, 8) * m) & _M64, (_le(s, n - 16, 8) * _K2) & _M64
        return _mix16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                      (a + _rot((b + _K2) & _M64, 18) + c) & _M64, m)
    if n >= 8:
        a, b = (_le(s, 0, 8) + _K2) & _M64, _le(s, n - 8, 8)
        return _mix16((_rot(b, 37) * m + a) & _M64, ((_rot(a, 25) + b) * m) & _M64, m)
    if n >= 4:
        return _mix16(n + (_le(s, 0, 4) << 3), _le(s, n - 4, 4), m)
    if n:
        y, z = s[0] + (s[n >> 1] << 8), n + (s[n - 1] << 2)
        v = ((y * _K2) ^ (z * _K0)) & _M64
        return ((v ^ (v >> 47)) * _K2) & _M64
    return _K2


def _ref_siphash(s: bytes, k0: int, k1: int) -> int:
    """Plain-Python SipHash-2-4."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261,
         k1 ^ 0x7465646279746573]

    def rounds(k):
        for _ in range(k):
            v[0] = (v[0] + v[1]) & _M64
            v[1] = _rot(v[1], 64 - 13) ^ v[0]
            v[0] = _rot(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64
            v[3] = _rot(v[3], 64 - 16) ^ v[2]
            v[0] = (v[0] + v[3]) & _M64
            v[3] = _rot(v[3], 64 - 21) ^ v[0]
            v[2] = (v[2] + v[1]) & _M64
            v[1] = _rot(v[1], 64 - 17) ^ v[2]
            v[2] = _rot(v[2], 32)

    tail = len(s) // 8 * 8
    words = [_le(s, i, 8) for i in range(0, tail, 8)]
    words.append(_le(s + bytes(8), tail, 8) & ((1 << 8 * (len(s) - tail)) - 1)
                 | (len(s) & 0xFF) << 56)
    for w in words:
        v[3] ^= w
        rounds(2)
        v[0] ^= w
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _digests(pair):
    hi, lo = (np.asarray(p).astype(np.uint64) for p in pair)
    return [int(h) << 32 | int(low) for h, low in zip(hi.reshape(-1), lo.reshape(-1))]


def test_hash_primitives_match_python_reference():
    strings = [bytes(RNG.randint(0, 256, size=n).astype(np.uint8)) for n in range(33)]
    strings += [b"A", b"omar", b"stringer", b"skywalker", b"-2147483648"]
    data, lengths = _hash64.encode_strings(np.array(strings, dtype=object))
    assert _digests(jax.jit(_hash64.fingerprint64)(data, lengths)) == [
        _ref_fingerprint64(s) for s in strings]
    key = _hash64.split_key(133, 2 ** 63 + 5)
    assert _digests(jax.jit(_hash64.siphash24)(data, lengths, key)) == [
        _ref_siphash(s, 133, 2 ** 63 + 5) for s in strings]
    values = np.array([0, 7, -7, 10, 99, -100, 123456789, 2 ** 31 - 1, -2 ** 31], "int32")
    data, lengths = jax.jit(_hash64.decimal_bytes)(values)
    got = [bytes(np.asarray(row)[:n]) for row, n in zip(data, lengths)]
    assert got == [str(v).encode() for v in values]
    digest = (np.array([0xFFFFFFFF, 0x12345678], np.uint32), np.array([0xFFFFFFFF, 9], np.uint32))
    mod = jax.jit(_hash64.mod)
    for n in (1, 2, 3, 1000, 65537, 2 ** 31 - 1):
        assert list(np.asarray(mod(digest, np.uint32(n)))) == [(2 ** 64 - 1) % n,
                                                            (0x12345678 << 32 | 9) % n]


def test_hashing_matches_keras_documented_values():
    ints = np.array([[0], [1], [2], [3], [4]])
    assert_close(layers.Hashing(3)(ints), [[1], [0], [1], [0], [2]])
    assert_close(layers.Hashing(3, salt=[133, 137])(ints), [[1], [1], [2], [0], [1]])
    assert_close(layers.Hashing(2)([[1, 2], [2, 3], [3, 4]]), [[1, 1], [1, 1], [1, 1]])
    letters = [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert_close(layers.Hashing(3)(letters), [[1], [0], [1], [1], [2]])
    assert_close(layers.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]),
                 [[1], [1], [0], [2], [2]])
    assert_close(layers.Hashing(3, salt=[133, 137])(letters), [[1], [2], [1], [0], [2]])
    assert_close(layers.Hashing(3, salt=133)(letters), [[0], [0], [2], [1], [0]])
    names = np.array([["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]])
    assert_close(layers.Hashing(2)(names), [[0], [0], [1], [0], [0]])
    assert_close(layers.Hashing(3, mask_value="omar")(names), [[0], [1], [2], [1], [1]])
    assert_close(layers.Hashing(2, salt=[211, 137])(names), [[1], [0], [1], [0], [1]])
    assert_close(layers.Hashing(1)(letters), [[0]] * 5)


def test_hashing_integers_match_reference_in_model_and_jit():
    values = RNG.randint(-10 ** 9, 10 ** 9, size=(16, 3)).astype("int32")
    values[0, :2] = [0, -1]
    values[1, 0] = 5
    want = np.array([_ref_fingerprint64(str(v).encode()) % 7 + 1 for v in values.reshape(-1)])
    want = np.where(values.reshape(-1) == 5, 0, want).reshape(values.shape)
    inp = lamina.Input(shape=(3,), dtype="int32")
    model = lamina.Model(inp, layers.Hashing(8, mask_value=5)(inp))
    got = model(values)
    assert got.dtype == np.int32
    assert_close(got, want)
    jitted = jax.jit(lambda x: model.stateless_call([], [], x)[0])
    assert_close(jitted(values), want)
    salted = layers.Hashing(11, salt=(3, 4))(values)
    assert_close(salted, np.array([_ref_siphash(str(v).encode(), 3, 4) % 11
                                   for v in values.reshape(-1)]).reshape(values.shape))
    # Floats are truncated to integers first, as Keras does.
    assert_close(layers.Hashing(7)(np.array([1.7, -2.2, 0.0], "float32")),
                 [_ref_fingerprint64(s) % 7 for s in (b"1", b"-2", b"0")])


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_hashing_output_modes(mode):
    ids = np.array([[0], [1], [2], [3], [4]]) if mode == "one_hot" else np.array(
        [[0, 1, 2], [3, 4, 4]])
    bins = np.asarray(layers.Hashing(3)(ids))
    want = np.asarray(keras.layers.CategoryEncoding(3, output_mode=mode)(bins))
    got = layers.Hashing(3, output_mode=mode)(ids)
    assert got.dtype == np.float32
    assert_close(got, want)


def test_hashing_config_and_errors():
    layer = layers.Hashing(5, mask_value=0, salt=7, name="h")
    assert layer.get_config() == {
        "name": "h", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy",
                  "config": {"name": "int64"}, "registered_name": None},
        "num_bins": 5, "salt": [7, 7], "mask_value": 0, "output_mode": "int", "sparse": False}
    clone = layers.Hashing.from_config(json.loads(json.dumps(layer.get_config())))
    values = np.arange(-5, 5, dtype="int32")
    assert_close(clone(values), layer(values))
    one_hot = layers.Hashing(4, output_mode="one_hot")
    assert one_hot.get_config()["dtype"]["config"]["name"] == "float32"
    for bad in ({"num_bins": 0}, {"num_bins": 3, "output_mode": "x"},
                {"num_bins": 3, "salt": "pepper"}, {"num_bins": 3, "dtype": "float32"},
                {"num_bins": 3, "sparse": True}):
        with pytest.raises(ValueError):
            layers.Hashing(**bad)
    with pytest.raises(NotImplementedError, match="FarmHash64"):
        layers.Hashing(3)(["x" * 40])
    assert int(layers.Hashing(3, salt=1)(["x" * 40])[0]) == _ref_siphash(b"x" * 40, 1, 1) % 3


def test_struct_pack_reference_is_little_endian():
    # Guard for the reference implementation itself (its reads are little-endian).
    assert _le(struct.pack("<Q", 0x0102030405060708), 0, 8) == 0x0102030405060708
