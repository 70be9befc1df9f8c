"""HashedCrossing: crosses of categorical features hashed into bins, on the host.

Keras computes the cross with TensorFlow's ``sparse.cross_hashed``: starting from a
fixed key, each feature's 64-bit hash (FarmHash Fingerprint64 of a string, the
value itself for an integer) is folded in with ``FingerprintCat64``, and the bin
is the result modulo ``num_bins``. lamina computes the same numbers in NumPy
(string fingerprints in jax.numpy, as the Hashing layer does), without TensorFlow.
"""

from __future__ import annotations

import jax
import numpy as np

from lamina.graph import any_symbolic
from lamina.layers.layer import Layer
from lamina.layers.preprocessing import _hash64
from lamina.layers.preprocessing.category_encoding import encode_categorical

# TensorFlow's default key for hashed crosses, and FingerprintCat64's multiplier.
_CROSS_KEY = 0xDECAFCAFFE
_MUL = np.uint64(0xC6A4A7935BD1E995)
_SHIFT = np.uint64(47)


def _shift_mix(x: np.ndarray) -> np.ndarray:
    return x ^ (x >> _SHIFT)


def _fingerprint_cat64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combines two arrays of 64-bit fingerprints (uint64 arithmetic wraps mod 2**64)."""
    with np.errstate(over="ignore"):
        result = a ^ _MUL
        result ^= _shift_mix(b * _MUL) * _MUL
        result *= _MUL
        result = _shift_mix(result) * _MUL
        return _shift_mix(result)


_fingerprint = jax.jit(_hash64.fingerprint64)


def _feature_hashes(values: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each value: Fingerprint64 of strings, the integer itself."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64).view(np.uint64)
    data, lengths = _hash64.encode_strings(values)
    if int(np.max(lengths, initial=0)) > _hash64.MAX_FARMHASH_LEN:
        raise NotImplementedError(f"HashedCrossing of strings longer than "
                                  f"{_hash64.MAX_FARMHASH_LEN} bytes is not implemented in "
                                  "lamina.")
    hi, lo = (np.asarray(h).astype(np.uint64) for h in _fingerprint(data, lengths))
    return (hi << np.uint64(32)) | lo


class HashedCrossing(Layer):
    """Hashes the cross of two or more categorical features into ``num_bins`` bins.

    Runs on the host in NumPy, eagerly, on a list/tuple of same-shaped integer or
    string arrays of shape ``()``, ``(batch,)`` or ``(batch, 1)``; returns a NumPy
    array of bins with that shape (``"int"``) or their one-hot vectors.

    Args:
        num_bins: the number of hash bins.
        output_mode: ``"int"`` (default) or ``"one_hot"``.
        sparse: must be False (Keras allows it with TensorFlow only).
        dtype: the output dtype (default int64 for ``"int"``, floatx otherwise).
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if output_mode not in ("int", "one_hot"):
            raise ValueError("Invalid value for argument `output_mode`. Expected one of "
                             f"('int', 'one_hot'). Received: output_mode={output_mode}")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if any_symbolic((inputs, args, kwargs)):
            raise TypeError(f"Layer '{self.name}' (HashedCrossing) runs on the host on raw "
                            "values and cannot be called on symbolic inputs (KerasTensors): "
                            "apply it in the input pipeline.")
        return self.call(inputs)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("`HashedCrossing` should be called on a list or tuple of inputs. "
                             f"Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError("`HashedCrossing` should be called on at least two inputs. "
                             f"Received: inputs={inputs}")
        features = [np.asarray(x) for x in inputs]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError("All `HashedCrossing` inputs should have shape `()`, "
                             f"`(batch_size)` or `(batch_size, 1)`. Received shape {shape}.")
        if any(x.shape != shape for x in features[1:]):
            raise ValueError("All `HashedCrossing` inputs should have equal shape. Received "
                             f"shapes {[x.shape for x in features]}.")
        if any(x.dtype.kind not in "iuUSO" for x in features):
            raise ValueError("All `HashedCrossing` inputs should have an integer or string "
                             f"dtype. Received dtypes {[str(x.dtype) for x in features]}.")
        crossed = np.full(shape, _CROSS_KEY, np.uint64)
        for feature in features:
            crossed = _fingerprint_cat64(crossed, _feature_hashes(feature))
        bins = (crossed % np.uint64(self.num_bins)).astype(np.int64)
        dtype = jax.dtypes.canonicalize_dtype(self.dtype) if self.output_mode == "int" else (
            self.dtype)
        return encode_categorical(bins, self.output_mode, self.num_bins, dtype)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        if self.output_mode == "int":
            return shape
        if shape and shape[-1] == 1:
            shape = shape[:-1]
        return shape + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name,
                "dtype": self.dtype}
