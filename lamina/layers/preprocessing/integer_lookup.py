"""IntegerLookup: integer values to vocabulary indices (or back), on the host in NumPy."""

from __future__ import annotations

import numpy as np

from lamina.layers.preprocessing.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integer values (e.g. ids) to contiguous indices through a vocabulary.

    Runs on the host in NumPy, eagerly (see :mod:`lamina.layers.preprocessing.index_lookup`),
    on lists or NumPy/JAX integer arrays. Returns NumPy arrays: int64 indices,
    int64 encodings, float32 ``"tf_idf"`` weights, or int64 values when inverted.

    Args:
        max_tokens, num_oov_indices, vocabulary, idf_weights, invert, output_mode,
        pad_to_max_tokens, sparse, salt: as for
            :class:`~lamina.layers.preprocessing.index_lookup.IndexLookup`.
        mask_token: the value mapped to index 0 (None: no mask).
        oov_token: the value returned for out-of-vocabulary indices (default -1).
        vocabulary_dtype: must be ``"int64"``.
        oov_method: ``"floormod"`` (OOV index ``value % num_oov_indices``) or
            ``"farmhash"`` (a hash of the value's decimal string).
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError("Only `vocabulary_dtype='int64'` is supported at this time. "
                             f"Received: vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         vocabulary_dtype=vocabulary_dtype, idf_weights=idf_weights,
                         invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt,
                         name=name, **kwargs)

    def _token(self, value) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, str)):
            raise TypeError(f"Layer '{self.name}' (IntegerLookup) expects integer tokens, "
                            f"received {type(value).__name__} {value!r}.")
        return int(value)

    def _tokens(self, values) -> np.ndarray:
        array = np.asarray(values)
        if array.dtype.kind not in "iu" and not (array.dtype.kind == "O" and array.size == 0):
            if array.dtype.kind == "O":
                return np.vectorize(self._token, otypes=[np.int64])(array)
            raise TypeError(f"Layer '{self.name}' (IntegerLookup) expects integers, received "
                            f"an array of dtype {array.dtype}.")
        return array.astype(np.int64)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
