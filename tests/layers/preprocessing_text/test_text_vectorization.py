"""TextVectorization against Keras's documented behaviour (Keras needs TensorFlow for
it, which is not installed here): TensorFlow's standardization (ASCII lower-casing,
ASCII punctuation removed), whitespace/character splits, n-grams in width order, the
mask token "" at index 0, and Keras's vocabulary order."""

import numpy as np
import pytest

from lamina import layers
from lamina.saving import register_keras_serializable


def test_documented_examples():
    layer = layers.TextVectorization(max_tokens=5000, output_mode="int",
                                     output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert layer.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    out = layer([["foo qux bar"], ["qux baz"]])
    assert out.dtype == np.int64 and out.tolist() == [[4, 1, 3, 0], [1, 2, 0, 0]]
    given = layers.TextVectorization(output_sequence_length=4,
                                     vocabulary=["earth", "wind", "and", "fire"])
    assert given.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert given(["Earth, wind AND fire!"]).tolist() == [[2, 3, 4, 5]]


def test_standardize_split_ngrams():
    layer = layers.TextVectorization(ngrams=2)
    layer.adapt(np.array(["The Cat sat.", "the dog, sat!"]))
    vocab = layer.get_vocabulary()
    assert vocab[:3] == ["", "[UNK]", "the"]
    assert set(vocab[2:]) == {"the", "sat", "cat", "dog", "the cat", "cat sat", "the dog",
                              "dog sat"}
    # Unigrams first, then bigrams; padded to the longest in the batch.
    index = {t: i for i, t in enumerate(vocab)}
    assert layer(["the cat", "dog"]).tolist() == [
        [index["the"], index["cat"], index["the cat"]], [index["dog"], 0, 0]]
    # TensorFlow lowers ASCII only and strips ASCII punctuation only.
    raw = layers.TextVectorization(split=None, vocabulary=["École", "ab"])
    assert raw(["ÉCOLE", "A-B", "éCOLE"]).tolist() == [2, 3, 1]
    chars = layers.TextVectorization(split="character", standardize=None, output_mode="count")
    chars.adapt(["abca", "bb"])
    assert chars.get_vocabulary() == ["[UNK]", "b", "a", "c"]
    assert chars(["abcz", "zz"]).tolist() == [[1, 1, 1, 1], [2, 0, 0, 0]]
    custom = layers.TextVectorization(standardize=lambda x: np.char.upper(x),
                                      split=lambda x: [s.split("-") for s in x],
                                      vocabulary=["A", "B"])
    assert custom(["a-b-c", "b"]).tolist() == [[2, 3, 1], [3, 0, 0]]


def test_encoded_modes_and_tf_idf():
    texts = np.array(["red red blue", "blue green", "green green green"])
    multi = layers.TextVectorization(output_mode="multi_hot", max_tokens=6,
                                     pad_to_max_tokens=True)
    multi.adapt(texts)
    assert multi.get_vocabulary() == ["[UNK]", "green", "red", "blue"]
    assert multi(["red pink", "green"]).tolist() == [[1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0]]
    tfidf = layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(texts)
    idf = np.log(1 + 3 / (1 + np.array([2, 1, 2])))  # green, red, blue
    np.testing.assert_allclose(tfidf.idf_weights, np.r_[idf.mean(), idf], rtol=1e-6)
    np.testing.assert_allclose(tfidf(["red red blue"]), [[0, 0, 2 * idf[1], idf[2]]],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="last shape dimension"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))


@register_keras_serializable(package="lamina_tests")
def shout(x):
    return np.char.upper(x)


def test_config_round_trip_and_assets(tmp_path):
    layer = layers.TextVectorization(max_tokens=10, standardize=shout, ngrams=(1, 2),
                                     output_sequence_length=5)
    layer.adapt(["a b a", "b c"])
    config = layer.get_config()
    assert config["standardize"]["registered_name"] == "lamina_tests>shout"
    assert config["vocabulary"] is None and config["vocabulary_size"] == 8
    assert {"max_tokens", "standardize", "split", "ngrams", "output_mode",
            "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged", "vocabulary",
            "idf_weights", "encoding", "vocabulary_size", "name", "trainable",
            "dtype"} == set(config)
    layer.save_assets(str(tmp_path))
    clone = layers.deserialize(layers.serialize(layer))
    clone.load_assets(str(tmp_path))
    assert clone.get_vocabulary() == layer.get_vocabulary()
    assert clone(["a b c d"]).tolist() == layer(["a b c d"]).tolist()
    inline = layers.TextVectorization(vocabulary=["x", "y"])
    assert layers.TextVectorization.from_config(inline.get_config()).get_vocabulary() == \
        ["", "[UNK]", "x", "y"]
