"""TextVectorization: raw strings to token indices or encoded vectors, on the host.

The layer standardizes each string, splits it into tokens, optionally forms
n-grams, then looks the tokens up in a ``StringLookup`` whose mask token is the
empty string (index 0, also the padding of int outputs), exactly as Keras does,
so vocabularies and indices equal Keras's on the same text. It runs in NumPy on
Python/NumPy strings, eagerly: use it on raw data or in the input pipeline and
feed its integer output to the model (see ``examples/text_classification.py``).
"""

from __future__ import annotations

import re
import string

import numpy as np

from lamina.graph import any_symbolic
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.index_lookup import adapt_layer
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.saving.serialization import deserialize_keras_object, serialize_keras_object

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# TensorFlow's string ops (which Keras uses) lower-case ASCII letters only, split on
# ASCII whitespace, and strip exactly the ASCII punctuation characters.
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")


def _check_choice(value, allowed, arg: str) -> None:
    if value is None or callable(value) or value in allowed:
        return
    raise ValueError(f"TextVectorization: `{arg}` must be None, a callable or one of "
                     f"{allowed}. Received: {arg}={value!r}")


def _ngrams(tokens: list, widths) -> list:
    """All n-grams of each width in ``widths`` (in that order), joined by spaces."""
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(Layer):
    """Turns strings into sequences of token indices or into bag-of-tokens vectors.

    Args:
        max_tokens: the largest vocabulary size, including the mask ``""`` and the
            OOV token ``"[UNK]"`` in ``"int"`` mode.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None, or a callable taking a NumPy array of
            strings and returning one of the same shape.
        split: ``"whitespace"`` (default), ``"character"``, None (each string is
            one token), or a callable taking a 1-D NumPy array of strings and
            returning one sequence of tokens per string.
        ngrams: None, an int ``n`` (1..n-grams) or a tuple of n-gram widths.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"`` or
            ``"one_hot"``.
        output_sequence_length: in ``"int"`` mode, pad with 0 or truncate every
            sequence to this length (None: pad to the longest in the batch).
        pad_to_max_tokens: encoded outputs have ``max_tokens`` columns.
        vocabulary: a list of tokens or a vocabulary file path.
        idf_weights: with ``"tf_idf"`` and ``vocabulary``, one weight per token.
        sparse, ragged: must be False (Keras allows them with TensorFlow only).
        encoding: the text encoding of ``bytes`` inputs.

    Calls return NumPy arrays (int64 indices; int64 or float32 encodings). Saving:
    the vocabulary is in ``get_config()`` when given to the constructor, else
    written by ``save_assets`` (``vocabulary.txt``), as Keras does.
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if ragged:
            raise ValueError("`ragged=True` can only be used with the TensorFlow backend.")
        _check_choice(standardize, _STANDARDIZE, "standardize")
        _check_choice(split, _SPLIT, "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if not (ngrams is None or isinstance(ngrams, int) or (
                isinstance(ngrams, tuple) and all(isinstance(n, int) for n in ngrams))):
            raise ValueError("`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None
                                         or isinstance(output_sequence_length, int)):
            raise ValueError("`output_sequence_length` must be either None or an integer when "
                             "`output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not "
                             f"'int'. Received output_sequence_length={output_sequence_length}.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._ragged = ragged
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            has_input_vocabulary=has_input_vocabulary, encoding=encoding,
            vocabulary_size=vocabulary_size)
        self.built = True

    # -- vocabulary -----------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learns the vocabulary from strings: an array or list (one document per
        string), or an iterable of such batches."""
        adapt_layer(self, data, steps, self._strings)

    def update_state(self, data) -> None:
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` method.")
        documents = self._preprocess(data)
        if documents is None:  # split=None: the strings are the tokens
            lookup.update_state(self._standardized(data))
        else:
            lookup._count_documents([np.asarray(doc, dtype=str) for doc in documents])

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The tokens in index order (``""`` and ``"[UNK]"`` first in ``"int"`` mode)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and IDF weights in ``"tf_idf"`` mode)."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    @property
    def idf_weights(self):
        """The IDF weights (``"tf_idf"`` mode), special-token slots included."""
        return self._lookup_layer.idf_weights

    # -- preprocessing --------------------------------------------------------------
    def _strings(self, data) -> np.ndarray:
        return self._lookup_layer._tokens(data)

    def _standardized(self, data) -> np.ndarray:
        strings = self._strings(data)
        standardize = self._standardize
        if callable(standardize):
            return self._strings(standardize(strings))
        if standardize is None or strings.size == 0:
            return strings

        def apply(s: str) -> str:
            if standardize in ("lower", "lower_and_strip_punctuation"):
                s = s.translate(_LOWER)
            if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                s = s.translate(_PUNCTUATION)
            return s

        return np.vectorize(apply, otypes=[str])(strings)

    def _preprocess(self, data):
        """The standardized strings as token lists (one per string), or None when
        ``split`` is None (the strings themselves are the tokens)."""
        if self._split is None:
            return None
        strings = self._standardized(data)
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError("When using `TextVectorization` to tokenize strings, the input "
                                 "rank must be 1 or the last shape dimension must be 1. "
                                 f"Received: inputs.shape={strings.shape} with "
                                 f"rank={strings.ndim}")
            strings = strings[..., 0]
        flat = strings.reshape(-1)
        if self._split == "whitespace":
            documents = [[t for t in _WHITESPACE.split(s) if t] for s in flat.tolist()]
        elif self._split == "character":
            documents = [list(s) for s in flat.tolist()]
        else:
            documents = [[str(t) for t in np.asarray(doc, dtype=object).reshape(-1).tolist()]
                         for doc in self._split(flat)]
        if self._ngrams is not None:
            documents = [_ngrams(doc, self._ngrams) for doc in documents]
        return documents

    # -- calling --------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if any_symbolic((inputs, args, kwargs)):
            raise TypeError(
                f"Layer '{self.name}' (TextVectorization) runs on the host on raw strings and "
                "cannot be called on symbolic inputs (KerasTensors): apply it to the text in "
                "the input pipeline and start the model at its integer output.")
        return self.call(inputs)

    def call(self, inputs):
        documents = self._preprocess(inputs)
        if documents is None:
            tokens = self._standardized(inputs)
        else:
            scalar = np.ndim(inputs) == 0
            width = max([len(doc) for doc in documents] + [0])
            # Pad with the mask token "": index 0 in int mode, nothing in encodings.
            tokens = np.full((len(documents), width), "", dtype=object)
            for i, doc in enumerate(documents):
                tokens[i, :len(doc)] = doc
            tokens = tokens.astype(str)
            if scalar:
                tokens = tokens[0]
        outputs = self._lookup_layer(tokens)
        length = self._output_sequence_length
        if self._output_mode != "int" or length is None:
            return outputs
        outputs = outputs[..., :length]
        pad = [(0, 0)] * (outputs.ndim - 1) + [(0, length - outputs.shape[-1])]
        return np.pad(outputs, pad)

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            input_shape = tuple(input_shape) + ((1,) if len(input_shape) <= 1 else ())
        else:
            input_shape = tuple(input_shape) + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    # -- saving ---------------------------------------------------------------------
    def get_config(self) -> dict:
        lookup = self._lookup_layer
        config = super().get_config()
        config.update({
            "max_tokens": lookup.max_tokens,
            "standardize": self._standardize,
            "split": self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": lookup.sparse,
            "ragged": self._ragged,
            "vocabulary": lookup.get_config()["vocabulary"],
            "idf_weights": lookup.get_config()["idf_weights"],
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        })
        for key in ("standardize", "split"):
            if callable(config[key]):
                config[key] = serialize_keras_object(config[key])
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def get_build_config(self):
        return {}

    def build_from_config(self, config) -> None:
        self.built = True

    def save_own_variables(self, store) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path) -> None:
        self._lookup_layer.load_assets(dir_path)
