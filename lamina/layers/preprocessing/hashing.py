"""Hashing: values to ``num_bins`` bins by a stable hash of their string form.

As in Keras, each value is turned into its decimal string (integers; floats are
truncated to integers first) and hashed with FarmHash Fingerprint64, or with
SipHash-2-4 keyed by ``salt`` when one is given; the bin is the hash modulo the
number of bins. The hashes are computed in jax.numpy, so the layer also works
inside jitted models (Keras needs TensorFlow for it). String inputs are accepted
when the layer is called eagerly on NumPy/Python strings.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.layers.layer import Layer
from lamina.layers.preprocessing import _hash64
from lamina.layers.preprocessing.category_encoding import encode_categorical, sparse_output

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


# Each hash is one compiled function of (values, bins[, key]); bins and key are
# runtime arguments, so layers with different settings share the compilation.
@jax.jit
def _farm_bytes(data, lengths, bins):
    return _hash64.mod(_hash64.fingerprint64(data, lengths), bins).astype(jnp.int32)


@jax.jit
def _sip_bytes(data, lengths, key, bins):
    return _hash64.mod(_hash64.siphash24(data, lengths, key), bins).astype(jnp.int32)


_decimal_bytes = jax.jit(_hash64.decimal_bytes)


def _farm_ints(values, bins):
    # Two compiled steps (decimal strings, then the string hash) so integer and
    # string inputs share the hash's compilation; inside a trace both inline.
    return _farm_bytes(*_decimal_bytes(values), bins)


def _sip_ints(values, key, bins):
    data, lengths = _decimal_bytes(values)
    return _sip_bytes(data, lengths, key, bins)


def _bucket(n: int, smallest: int) -> int:
    return max(smallest, 1 << (max(n, 1) - 1).bit_length())


def _run_bucketed(fn, values, *args, data=None):
    """Calls ``fn`` on inputs padded to power-of-two sizes, then unpads the result.

    Eager calls on differently sized inputs (and the abstract evaluations that
    infer shapes) then reuse a few compilations. Concrete inputs are padded on the
    host; traced ones with jax.numpy.
    """
    inputs = (values,) if data is None else (data, values)
    traced = any(isinstance(x, jax.core.Tracer) for x in inputs)
    xp = jnp if traced else np
    shape = tuple(np.shape(values))
    size = int(np.prod(shape))
    flat = []
    for x in inputs:
        x = xp.asarray(x)
        trailing = x.shape[len(shape):]
        x = x.reshape((size,) + trailing)
        pad = [(0, _bucket(size, 64) - size)] + [(0, 0)] * len(trailing)
        if trailing:  # the byte axis of strings: pad its width too
            pad[-1] = (0, _bucket(trailing[-1], 16) - trailing[-1])
        flat.append(xp.pad(x, pad))
    out = fn(*flat, *args)
    if traced:
        return out[:size].reshape(shape)
    return jnp.asarray(np.asarray(out)[:size].reshape(shape))


def _is_string_input(inputs) -> bool:
    if isinstance(inputs, (str, bytes)):
        return True
    if isinstance(inputs, np.ndarray):
        return inputs.dtype.kind in ("U", "S", "O")
    if isinstance(inputs, (list, tuple)):
        flat = np.asarray(inputs, dtype=object).reshape(-1)
        return flat.size > 0 and isinstance(flat[0], (str, bytes))
    return False


class Hashing(Layer):
    """Hashes integer (or string) features into ``num_bins`` bins.

    Args:
        num_bins: the number of bins, including the mask bin when ``mask_value``
            is set (then real values use bins 1..num_bins-1).
        mask_value: a value mapped to bin 0 (None: no mask bin).
        salt: None (FarmHash64), an int ``s`` (SipHash keyed with ``[s, s]``) or a
            pair of ints (SipHash key).
        output_mode: ``"int"`` (bin indices), ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse: if True (not with ``"int"``), eager calls outside a model return a
            ``jax.experimental.sparse.BCOO``; inside a model the output is dense.
        dtype: output dtype; default ``"int64"`` for ``"int"`` mode (int32 values
            unless JAX's x64 mode is on) and floatx otherwise.
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else dtypes.floatx()
        super().__init__(**kwargs)
        # Values are hashed as given; float inputs must not be rounded to the output dtype.
        self.autocast = False
        if num_bins is None or num_bins <= 0:
            raise ValueError("The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError('When `output_mode="int"`, `dtype` should be an integer type, '
                             f"'int32' or 'in64'. Received: dtype={kwargs['dtype']}")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of "
                             f"{_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError('`sparse` may only be true if `output_mode` is `"one_hot"`, '
                             f'`"multi_hot"`, or `"count"`. Received: sparse={sparse} and '
                             f"output_mode={output_mode}")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.salt = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                self.salt = list(salt)
            elif isinstance(salt, int):
                self.salt = [salt, salt]
            else:
                raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size "
                                 f"2 integers, or a single integer. Received: salt={salt}.")
        self._key = None if self.salt is None else _hash64.split_key(*self.salt)
        if num_bins >= 2 ** 31:
            raise NotImplementedError(f"Hashing(num_bins={num_bins}): lamina supports fewer "
                                      "than 2**31 bins.")

    # -- hashing -------------------------------------------------------------------
    def _bins_from_bytes(self, data, lengths, hash_bins: int):
        if self.strong_hash:
            return _run_bucketed(_sip_bytes, lengths, self._key, np.uint32(hash_bins), data=data)
        if int(np.max(lengths, initial=0)) > _hash64.MAX_FARMHASH_LEN:
            raise NotImplementedError(
                f"Hashing without a salt (FarmHash64) of strings longer than "
                f"{_hash64.MAX_FARMHASH_LEN} bytes is not implemented in lamina; pass a "
                "`salt` (SipHash) or shorter strings.")
        return _run_bucketed(_farm_bytes, lengths, np.uint32(hash_bins), data=data)

    def _hash_bins(self):
        masked = self.mask_value is not None and self.num_bins > 1
        return (self.num_bins - 1 if masked else self.num_bins), masked

    def _int_bins(self, values):
        hash_bins, masked = self._hash_bins()
        if values.dtype == jnp.bool_:
            raise TypeError(f"Layer '{self.name}' (Hashing) expects integer, float or string "
                            "inputs, received bool.")
        mask = None
        if masked:
            if isinstance(self.mask_value, (str, bytes)):
                raise TypeError(f"Layer '{self.name}' (Hashing): mask_value "
                                f"{self.mask_value!r} is a string but the inputs are numbers.")
            mask = values == self.mask_value
        if jnp.issubdtype(values.dtype, jnp.floating):
            values = values.astype(jax.dtypes.canonicalize_dtype(jnp.int64))
        if self.strong_hash:
            bins = _run_bucketed(_sip_ints, values, self._key, np.uint32(hash_bins))
        else:
            bins = _run_bucketed(_farm_ints, values, np.uint32(hash_bins))
        return self._apply_mask(bins, mask)

    @staticmethod
    def _apply_mask(bins, mask):
        if mask is None:
            return bins
        return jnp.where(mask, 0, bins + 1)

    def _encode(self, bins):
        dtype = self.dtype
        if self.output_mode == "int":
            dtype = jax.dtypes.canonicalize_dtype(dtype)
        return encode_categorical(bins, self.output_mode, self.num_bins, dtype)

    @staticmethod
    def _squeeze_for_one_hot(values, output_mode):
        if output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            return values[..., 0]
        return values

    def call(self, inputs):
        inputs = self._squeeze_for_one_hot(jnp.asarray(inputs), self.output_mode)
        return self._encode(self._int_bins(inputs))

    def __call__(self, *args, **kwargs):
        inputs = args[0] if args else kwargs.get("inputs")
        if inputs is not None and _is_string_input(inputs):
            return sparse_output(self, args, self._call_on_strings(inputs))
        return sparse_output(self, args, super().__call__(*args, **kwargs))

    def _call_on_strings(self, inputs):
        """Eager path for Python/NumPy strings, hashed as their UTF-8 bytes."""
        values = self._squeeze_for_one_hot(np.asarray(inputs, dtype=object), self.output_mode)
        hash_bins, masked = self._hash_bins()
        mask = None
        if masked:
            mask_value = self.mask_value
            mask = jnp.asarray(np.vectorize(lambda v: v == mask_value, otypes=[bool])(values)
                               if values.size else np.zeros(values.shape, bool))
        data, lengths = _hash64.encode_strings(values)
        bins = self._bins_from_bytes(data, lengths, hash_bins)
        return self._encode(self._apply_mask(bins, mask))

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt,
                       "mask_value": self.mask_value, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config
