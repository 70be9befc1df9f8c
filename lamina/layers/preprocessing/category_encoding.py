"""CategoryEncoding: integer categories to one-hot, multi-hot or count vectors."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.layers.layer import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode_categorical(indices, output_mode: str, depth: int, dtype, count_weights=None):
    """Encodes integer category ``indices`` as Keras's preprocessing layers do.

    Args:
        indices: integer (or integral float) array of category ids in ``[0, depth)``;
            ids outside that range encode to all zeros.
        output_mode: ``"int"`` (cast only), ``"one_hot"`` (one vector per entry; a
            trailing axis of size 1 is replaced), ``"multi_hot"`` (1 where a
            category occurs in the sample, i.e. along axis 1 for rank >= 2, else
            over the whole vector) or ``"count"`` (occurrence counts, same axis).
        depth: the number of categories (size of the encoded axis).
        dtype: the output dtype (``count_weights``' dtype when those are given).
        count_weights: optional weights summed instead of counts (``"count"`` only).

    Returns:
        The encoded array.
    """
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "multi_hot":
        encoded = jax.nn.one_hot(indices.astype("int32"), depth, dtype=dtype)
        return jnp.max(encoded, axis=1 if indices.ndim > 1 else 0)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return jax.nn.one_hot(indices, depth, dtype=dtype)
    if output_mode == "count":
        if count_weights is not None:
            dtype = count_weights.dtype
        encoded = jax.nn.one_hot(indices, depth, dtype=dtype)
        if count_weights is not None:
            encoded = encoded * count_weights[..., None]
        return jnp.sum(encoded, axis=1 if indices.ndim > 1 else 0)
    raise ValueError(f"Unknown output_mode {output_mode!r}: expected one of "
                     f"{('int',) + OUTPUT_MODES}.")


class CategoryEncoding(Layer):
    """Encodes integer features as one-hot, multi-hot or count vectors of size ``num_tokens``.

    Args:
        num_tokens: the number of categories; inputs must lie in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (default; ``"binary"`` is an alias),
            ``"one_hot"`` or ``"count"``.
        sparse: must be False (lamina has no sparse tensors).

    Call arguments:
        inputs: integer category ids.
        count_weights: optional weights of each input, summed in ``"count"`` mode.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens "
                             "is not known beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise NotImplementedError("CategoryEncoding(sparse=True): lamina has no sparse "
                                      "tensors; use sparse=False.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("`count_weights` is not used when `output_mode` is not "
                                 f"`'count'`. Received `count_weights={count_weights}`.")
            count_weights = jnp.asarray(count_weights, self.compute_dtype)
        return encode_categorical(jnp.asarray(inputs), self.output_mode, self.num_tokens,
                                  self.dtype, count_weights)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
