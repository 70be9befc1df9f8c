"""StringLookup, IntegerLookup and HashedCrossing against Keras's documented outputs.

Keras runs these layers through TensorFlow, which is not installed here, so the
expected values are the ones Keras documents (its docstrings and its own tests)
and the ones its algorithm gives (vocabulary order: decreasing count, ties by
decreasing token; idf = log(1 + N / (1 + df))).
"""

import numpy as np
import pytest

from lamina import layers
from lamina.graph import KerasTensor

VOCAB = ["a", "b", "c", "d"]
DATA = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
IVOCAB = [12, 36, 1138, 42]
IDATA = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])


def test_string_lookup_int_modes():
    assert layers.StringLookup(vocabulary=VOCAB)([["a", "c", "d"], ["d", "z", "b"]]).tolist() == \
        [[1, 3, 4], [4, 0, 2]]
    data = np.array([["a", "c", "d"], ["d", "z", "b"]])
    layer = layers.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert layer(data).tolist() == [[5, 3, 1], [1, 2, 4]]
    two = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert two([["a", "c", "d"], ["m", "z", "b"]]).tolist() == [[2, 4, 5], [0, 1, 3]]
    out = layers.StringLookup(vocabulary=VOCAB)(np.array([b"a", b"z"]))
    assert out.dtype == np.int64 and out.tolist() == [1, 0]


def test_string_lookup_encodings_and_invert():
    one_hot = layers.StringLookup(vocabulary=VOCAB, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot(["a", "b", "c", "d", "z"]),
                                  np.eye(5)[[1, 2, 3, 4, 0]])
    multi = layers.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA)
    assert multi.tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    count = layers.StringLookup(vocabulary=VOCAB, output_mode="count")(DATA)
    assert count.tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    tfidf = layers.StringLookup(output_mode="tf_idf")
    tfidf.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tfidf(DATA), [[0, .25, 0, .6, .8], [1., 0, .75, 0, .4]], 1e-6)
    tfidf.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(tfidf(DATA), [[0, .25, 0, .6, .8], [1.8, 0, .75, 0, .4]], 1e-6)
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)([[1, 3, 4], [4, 0, 2]])
    assert inverse.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_mask_token_and_padding():
    layer = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]"] + VOCAB
    assert layer([["a", ""], ["z", "d"]]).tolist() == [[2, 0], [1, 5]]
    assert layer.vocabulary_size() == 6
    inv = layers.StringLookup(vocabulary=VOCAB, mask_token="", invert=True)
    assert inv([[2, 0, 1, 9]]).tolist() == [["a", "", "[UNK]", "[UNK]"]]
    # Outside "int" mode the mask has no slot and encodes to zeros.
    multi = layers.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="multi_hot",
                                pad_to_max_tokens=True, max_tokens=7)
    assert multi([["a", ""], ["", ""]]).tolist() == [[0, 1, 0, 0, 0, 0, 0], [0] * 7]
    strict = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    assert strict(["a", "d"]).tolist() == [0, 3]
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        strict(["zz"])


def test_integer_lookup():
    assert layers.IntegerLookup(vocabulary=IVOCAB)([[12, 1138, 42], [42, 1000, 36]]).tolist() == \
        [[1, 3, 4], [4, 0, 2]]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = layers.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert layer(data).tolist() == [[5, 2, 1], [1, 3, 4]]
    two = layers.IntegerLookup(vocabulary=IVOCAB, num_oov_indices=2)
    assert two(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5], [1, 0, 3]]
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    floormod = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4)
    farmhash = layers.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4,
                                    oov_method="farmhash")
    assert floormod(oov).tolist() == [0] * 6
    assert farmhash(oov).tolist() == [3, 3, 2, 2, 0, 1]
    count = layers.IntegerLookup(vocabulary=IVOCAB, output_mode="count")(IDATA)
    assert count.tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    inverse = layers.IntegerLookup(vocabulary=IVOCAB, invert=True)([[1, 3, 4], [4, 0, 2]])
    assert inverse.tolist() == [[12, 1138, 42], [42, -1, 36]]


def test_adapt_tf_idf_batches_and_limits():
    docs = [["x", "y", "y"], ["y", "z", "w"], ["w", "w", "v"]]
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(iter([np.array(docs[:2]), np.array(docs[2:])]))
    # counts: y 3, w 3, x/z/v 1 -> ties by decreasing token.
    assert layer.get_vocabulary() == ["[UNK]", "y", "w", "z", "x", "v"]
    df = np.array([2, 2, 1, 1, 1])
    idf = np.log(1 + 3 / (1 + df))
    np.testing.assert_allclose(layer.idf_weights, np.r_[idf.mean(), idf], rtol=1e-6)
    np.testing.assert_allclose(layer([["y", "y", "q"]]),
                               [[idf.mean(), 2 * idf[0], 0, 0, 0, 0]], rtol=1e-6)
    small = layers.StringLookup(max_tokens=3)
    small.adapt(np.array(["y", "y", "w", "w", "w", "x"]))
    assert small.get_vocabulary() == ["[UNK]", "w", "y"]
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.StringLookup(vocabulary=VOCAB).adapt(["a"])
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(invert=True, output_mode="multi_hot")
    with pytest.raises(ValueError, match="TensorFlow"):
        layers.StringLookup(sparse=True)


def test_lookup_config_and_assets_round_trip(tmp_path):
    layer = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="[M]")
    config = layer.get_config()
    assert config["vocabulary"] == VOCAB and "vocabulary_dtype" not in config
    assert {"invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token",
            "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary_size",
            "oov_method", "salt", "encoding", "name", "trainable", "dtype",
            "vocabulary"} == set(config)
    clone = layers.deserialize(layers.serialize(layer))
    assert clone.get_vocabulary() == layer.get_vocabulary()
    adapted = layers.IntegerLookup(output_mode="tf_idf")
    adapted.adapt(np.array([[3, 3, 5], [5, 8, 9]]))
    store = {}
    adapted.save_assets(str(tmp_path))
    adapted.save_own_variables(store)
    assert (tmp_path / "vocabulary.txt").read_text().splitlines() == ["-1", "5", "3", "9", "8"]
    restored = layers.IntegerLookup.from_config(adapted.get_config())
    restored.load_own_variables(store)
    restored.load_assets(str(tmp_path))
    probe = np.array([[3, 9, 4]])
    np.testing.assert_allclose(restored(probe), adapted(probe))
    file_layer = layers.StringLookup(vocabulary=str(tmp_path / "vocabulary.txt"))
    assert file_layer.get_vocabulary() == ["[UNK]", "-1", "5", "3", "9", "8"]


def test_lookup_rejects_symbolic_inputs():
    with pytest.raises(TypeError, match="input pipeline"):
        layers.StringLookup(vocabulary=VOCAB)(KerasTensor((None, 3), "string"))


def test_hashed_crossing_matches_keras_tests():
    layer = layers.HashedCrossing(num_bins=5)
    feat1 = np.array(["A", "B", "A", "B", "A"])
    feat2 = np.array([101, 101, 101, 102, 102])
    assert layer((feat1, feat2)).tolist() == [1, 4, 1, 1, 3]
    assert layers.HashedCrossing(num_bins=10)((np.array("A"), np.array(101))).tolist() == 1
    one_hot = layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    np.testing.assert_array_equal(one_hot((feat1[:, None], feat2[:, None])),
                                  np.eye(5)[[1, 4, 1, 1, 3]])
    config = layer.get_config()
    assert config == {"num_bins": 5, "output_mode": "int", "sparse": False,
                      "name": layer.name, "dtype": "int64"}
    for bad in ([feat1], feat1, (feat1, feat2[:2]), (np.ones(5), feat2)):
        with pytest.raises(ValueError):
            layer(bad)
