"""StringLookup: strings to vocabulary indices (or back), on the host in NumPy."""

from __future__ import annotations

import numpy as np

from lamina.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices through a vocabulary (given or adapted).

    Runs on the host in NumPy, eagerly (see :mod:`lamina.layers.preprocessing.index_lookup`):
    call it on lists or NumPy arrays of ``str``/``bytes`` (bytes are decoded with
    ``encoding``), or on index arrays with ``invert=True``. Returns NumPy arrays:
    int64 indices (``"int"``), int64 encodings (``"one_hot"``, ``"multi_hot"``,
    ``"count"``), float32 ``"tf_idf"`` weights, or ``str`` tokens when inverted
    (Keras, through TensorFlow, returns bytes there).

    Args:
        max_tokens, num_oov_indices, mask_token, vocabulary, idf_weights, invert,
        output_mode, pad_to_max_tokens, sparse, salt: as for
            :class:`~lamina.layers.preprocessing.index_lookup.IndexLookup`.
        oov_token: the token for out-of-vocabulary indices (default ``"[UNK]"``).
        encoding: the text encoding of ``bytes`` inputs (default UTF-8).

    Saving: a vocabulary passed to the constructor is in ``get_config()``; an adapted
    one is written by ``save_assets`` to ``vocabulary.txt``, as Keras does.
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _token(self, value) -> str:
        if isinstance(value, (bytes, np.bytes_)):
            return bytes(value).decode(self.encoding)
        if isinstance(value, (str, np.str_)):
            return str(value)
        raise TypeError(f"Layer '{self.name}' (StringLookup) expects string tokens, received "
                        f"{type(value).__name__} {value!r}.")

    def _tokens(self, values) -> np.ndarray:
        array = np.asarray(values)
        if array.dtype.kind == "U":
            return array
        if array.dtype.kind == "S":
            return np.char.decode(array, self.encoding)
        if array.dtype.kind == "O":
            return np.vectorize(self._token, otypes=[str])(array) if array.size else (
                array.astype(str))
        raise TypeError(f"Layer '{self.name}' (StringLookup) expects strings, received an "
                        f"array of dtype {array.dtype}.")

    def get_config(self) -> dict:
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config
