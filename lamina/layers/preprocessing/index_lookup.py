"""IndexLookup: the vocabulary table shared by StringLookup, IntegerLookup and
TextVectorization.

Strings live on the host, so these layers run in NumPy on raw data (Python lists,
NumPy arrays), eagerly, before the compiled step: call them on the raw inputs or in
the input pipeline (a ``PyDataset``'s ``__getitem__``, a generator) and feed the
integer or encoded arrays they return to the model. Calling them on symbolic
inputs raises TypeError. Their indices, vocabularies and outputs are Keras's on
the same data, without TensorFlow.

Index layout, as in Keras: ``[mask] + [oov] * num_oov_indices + tokens``, where the
mask slot exists only when ``mask_token`` is set and ``output_mode="int"``. An
adapted vocabulary orders tokens by decreasing count, ties by decreasing token.
"""

from __future__ import annotations

import collections
import os

import numpy as np

from lamina import dtypes
from lamina.graph import any_symbolic
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categorical
from lamina.layers.preprocessing.hashing import Hashing
from lamina.saving.serialization import deserializing_in_safe_mode

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
VOCABULARY_FILE = "vocabulary.txt"


def _listify(x):
    return x.tolist() if isinstance(x, np.ndarray) else x


def is_batch_iterable(data) -> bool:
    """Whether ``adapt`` data is an iterable of batches (not one array or list)."""
    return hasattr(data, "__iter__") and not isinstance(data, (list, tuple, np.ndarray, str,
                                                               bytes)) and not hasattr(
        data, "__array__")


def adapt_layer(layer, data, steps, as_array) -> None:
    """``layer.adapt``'s common loop: reset, feed ``data`` (an iterable of batches, at
    most ``steps`` of them, or one array made by ``as_array``, a 1-D one as a column of
    documents) to ``update_state``, then ``finalize_state``."""
    layer.reset_state()
    if is_batch_iterable(data):
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                break
            layer.update_state(batch)
    else:
        array = as_array(data)
        layer.update_state(array[:, None] if array.ndim == 1 else array)
    layer.finalize_state()


class IndexLookup(Layer):
    """Maps tokens to indices (or back, with ``invert``) through a vocabulary.

    Subclasses fix the token type: they implement ``_tokens(values)`` (values as a
    NumPy array of tokens) and ``_token(value)`` (one token).

    Args:
        max_tokens: the largest vocabulary size, special tokens included (None: no limit).
        num_oov_indices: indices reserved for out-of-vocabulary tokens; with more
            than one, a token's OOV index is chosen by hashing it.
        mask_token: the token mapped to index 0 (None: no mask).
        oov_token: the token ``invert`` returns for OOV indices.
        vocabulary: a list/array of tokens, or a path to a text file with one per
            line; it may start with the special tokens in index order.
        idf_weights: with ``output_mode="tf_idf"``, one weight per vocabulary token.
        invert: map indices back to tokens (``output_mode="int"`` only).
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or
            ``"tf_idf"``.
        pad_to_max_tokens: encoded outputs have ``max_tokens`` columns.
        sparse: must be False (Keras allows it with TensorFlow only).
        oov_method: ``"floormod"`` or ``"farmhash"`` (how integers pick an OOV index).
        salt: with hashing, a SipHash key (int or pair of ints) instead of FarmHash.
    """

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", name=None,
                 salt=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError("If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("`num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError("`oov_method` must be 'floormod' or 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        if salt is not None:
            if vocabulary_dtype != "string" and oov_method != "farmhash":
                raise ValueError("`salt` can only be used when `oov_method='farmhash'`. "
                                 f"Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError("The `salt` argument can only be a tuple of 2 integers, or "
                                 f"a single integer. Received: salt={salt}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{OUTPUT_MODES}. Received: output_mode={output_mode}")
        if invert and output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword argument(s): {kwargs}")
        super().__init__(name=name)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen_size
        self.input_vocabulary = None if isinstance(vocabulary, str) else vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._vocab: list = []
        self._table: dict = {}
        self.idf_weights = None
        self._oov_hasher = (Hashing(num_oov_indices, salt=salt) if num_oov_indices > 1
                            else None)
        self.reset_state()
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # -- token types (subclasses) ---------------------------------------------------
    def _tokens(self, values) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _tokens().")

    def _token(self, value):
        raise NotImplementedError(f"{type(self).__name__} must implement _token().")

    # -- index layout ---------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: special tokens plus vocabulary tokens."""
        return len(self._vocab) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The tokens in index order (special tokens first unless excluded)."""
        vocab = [self.oov_token] * self._token_start_index() + list(self._vocab)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and "
                               "`pad_to_max_tokens=False`, you must set the layer's vocabulary "
                               "before calling it. Either pass a `vocabulary` argument to the "
                               "layer, or call `adapt` with some sample data.")
        return self._frozen_vocab_size

    def _record_vocabulary_size(self) -> None:
        size = self.vocabulary_size()
        if (self.output_mode != "int" and not self.pad_to_max_tokens
                and self._frozen_vocab_size is not None and size != self._frozen_vocab_size):
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and "
                               "`pad_to_max_tokens=False`, the vocabulary size cannot be "
                               f"changed after the layer is called. Old vocab size is "
                               f"{self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # -- setting the vocabulary -----------------------------------------------------
    def _read_vocabulary_file(self, path: str) -> list:
        if not os.path.exists(path):
            raise ValueError(f"Vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        return [self._token(line) for line in lines]

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and, in ``"tf_idf"`` mode, the IDF weights).

        Args:
            vocabulary: a list/array of unique tokens, optionally starting with the
                special tokens in index order, or the path of a text file.
            idf_weights: one weight per entry of ``vocabulary`` (``"tf_idf"`` only).
        """
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            if deserializing_in_safe_mode():  # before any file access: CVE-2025-12058
                raise ValueError(
                    f"Layer '{self.name}': its config names a vocabulary file "
                    f"({vocabulary!r}) outside the model file; reading it could expose "
                    "any file, so it is refused in safe mode. If you trust the model's "
                    "source, load it with `safe_mode=False` or call "
                    "`lamina.config.enable_unsafe_deserialization()`.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            vocabulary = self._read_vocabulary_file(vocabulary)
        tokens = [self._token(v) for v in np.asarray(vocabulary, dtype=object).reshape(-1)]
        if not tokens:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        start = self._token_start_index()
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        found_special = tokens[:start] == special
        body = tokens[start:] if found_special else tokens
        repeated = [t for t, n in collections.Counter(body).items() if n > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        for reserved, what in ((self.mask_token, "mask"),
                               (self.oov_token if self.invert else None, "OOV")):
            if reserved is not None and reserved in body:
                raise ValueError(f"Found reserved {what} token {reserved!r} at unexpected "
                                 "location in `vocabulary`. Either remove all mask and OOV "
                                 "tokens, or include them only at the start of the "
                                 f"vocabulary in precisely this order: {special}.")
        if self.max_tokens is not None and start + len(body) > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {start + len(body)}; "
                             f"`max_tokens` is {self.max_tokens}.")
        self._set_tokens(body)
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype="float64")
            if weights.ndim != 1:
                raise ValueError("TF-IDF data must be a 1-index array. Received: "
                                 f"idf_weights of shape {weights.shape}")
            if len(weights) != len(tokens):
                raise ValueError("`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(weights)}; len(vocabulary) is "
                                 f"{len(tokens)}")
            front = 0 if found_special else start
            self._set_idf(weights, front, np.mean(weights))
        self._record_vocabulary_size()

    def _set_tokens(self, tokens: list) -> None:
        self._vocab = list(tokens)
        first = self._token_start_index()
        self._table = {t: first + i for i, t in enumerate(self._vocab)}

    def _set_idf(self, weights: np.ndarray, front: int, front_value) -> None:
        back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
        self.idf_weights = np.pad(weights, (front, back), constant_values=(front_value, 0)
                                  ).astype(dtypes.floatx())

    # -- adapting -------------------------------------------------------------------
    def adapt(self, data, steps=None) -> None:
        """Learns the vocabulary (and IDF weights) from ``data``.

        Args:
            data: an array or (nested) list of tokens, each row one document, or an
                iterable of such batches.
            steps: with an iterable, the number of batches to use (default all).
        """
        adapt_layer(self, data, steps, self._tokens)

    def update_state(self, data) -> None:
        """Counts the tokens of a batch (rows are documents; a 1-D batch is one)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` method.")
        self._count_documents(self._documents(data))

    def _documents(self, data) -> list:
        """A batch as a list of 1-D token arrays, one per document (row)."""
        if isinstance(data, (list, tuple)) and data and all(
                isinstance(row, (list, tuple, np.ndarray)) for row in data):
            return [self._tokens(row).reshape(-1) for row in data]
        array = self._tokens(data)
        if array.ndim <= 1:
            return [array.reshape(-1)]
        return list(array.reshape(array.shape[0], -1))

    def _count_documents(self, documents: list) -> None:
        for doc in documents:
            tokens = doc.tolist()
            self._token_counts.update(tokens)
            if self.output_mode == "tf_idf":
                self._document_counts.update(set(tokens))
        if self.output_mode == "tf_idf":
            self._num_documents += len(documents)

    def finalize_state(self) -> None:
        """Sets the vocabulary from the counted tokens (most frequent first)."""
        counts = self._token_counts
        if self._has_input_vocabulary or not counts:
            self._record_vocabulary_size()
            return
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        # Decreasing count, ties broken by decreasing token (Keras's lexsort order).
        ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        self._set_tokens(ordered)
        if self.output_mode == "tf_idf":
            doc_counts = np.array([self._document_counts[t] for t in ordered], "float64")
            idf = np.log(1 + self._num_documents / (1 + doc_counts)).astype(dtypes.floatx())
            self._set_idf(idf, self._token_start_index(), np.mean(idf))
        self.reset_state()
        self._record_vocabulary_size()

    def reset_state(self) -> None:
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    # -- calling --------------------------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        if any_symbolic((inputs, args, kwargs)):
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) runs on the host on raw "
                "values and cannot be called on symbolic inputs (KerasTensors): apply it "
                "to the data in the input pipeline and start the model at its output.")
        return self.call(inputs)

    def call(self, inputs):
        if self.invert:
            return self._invert(np.asarray(inputs))
        keys = self._tokens(inputs)
        indices = self._lookup(keys)
        if self.output_mode == "int":
            return indices
        depth = self._depth()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        encoded = encode_categorical(indices, mode, depth, "int64")
        if self.output_mode == "tf_idf":
            return encoded.astype(dtypes.floatx()) * self.idf_weights
        return encoded

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """Indices of ``keys`` (a NumPy array of tokens), with OOV and mask handling."""
        flat = keys.reshape(-1)
        unique, inverse = np.unique(flat, return_inverse=True)
        found = np.array([self._table.get(k, -1) for k in unique.tolist()], np.int64)
        indices = found[inverse].reshape(keys.shape)
        oov = indices == -1
        if self.mask_token is not None:
            is_mask = keys == self.mask_token
            oov &= ~is_mask
            # Outside int mode the mask has no index: it encodes to zeros.
            indices = np.where(is_mask, 0 if self.output_mode == "int" else -1, indices)
        if not oov.any():
            return indices
        if self.num_oov_indices == 0:
            raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV values {np.unique(keys[oov]).tolist()}, consider "
                             "setting `num_oov_indices=1`.")
        indices[oov] = self._oov_start_index() + self._oov_indices(keys[oov])
        return indices

    def _oov_indices(self, values: np.ndarray) -> np.ndarray:
        """The OOV slot (0..num_oov_indices-1) of each out-of-vocabulary value."""
        if self._oov_hasher is None:
            return np.zeros(values.shape, np.int64)
        if values.dtype.kind in "iu" and self.oov_method == "floormod":
            return np.mod(values, self.num_oov_indices)
        return np.asarray(self._oov_hasher(values)).astype(np.int64)

    def _invert(self, indices: np.ndarray) -> np.ndarray:
        """Tokens of ``indices``; indices outside the vocabulary give ``oov_token``."""
        vocab = self.get_vocabulary()
        table = np.asarray(vocab + [self.oov_token], dtype=object)
        valid = (indices >= 0) & (indices < len(vocab))
        return self._tokens(table[np.where(valid, indices, len(vocab))])

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot" and not (len(input_shape) > 1
                                                  and input_shape[-1] == 1):
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    # -- saving ---------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype,
            "idf_weights": _listify(self.input_idf_weights),
            "vocabulary": _listify(self.input_vocabulary),
            "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method,
            "salt": self.salt,
        })
        return config

    def get_build_config(self):
        return {}

    def build_from_config(self, config) -> None:
        self.built = True

    def save_own_variables(self, store) -> None:
        """Stores the IDF weights (``"tf_idf"`` mode), as Keras does."""
        if self.output_mode == "tf_idf":
            store["idf_weights"] = np.asarray(self.idf_weights)

    def load_own_variables(self, store) -> None:
        if self.output_mode == "tf_idf":
            self.idf_weights = np.asarray(store["idf_weights"], dtypes.floatx())

    def save_assets(self, dir_path) -> None:
        """Writes an adapted vocabulary to ``dir_path/vocabulary.txt`` (one token a line),
        as Keras does; a vocabulary given to the constructor is in the config instead."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            f.write("\n".join(str(t) for t in self.get_vocabulary()))

    def load_assets(self, dir_path) -> None:
        if self.input_vocabulary is not None:
            return
        tokens = self._read_vocabulary_file(os.path.join(dir_path, VOCABULARY_FILE))
        idf = self.idf_weights if self.output_mode == "tf_idf" else None
        self.set_vocabulary(tokens, idf_weights=idf)
