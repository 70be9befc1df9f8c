"""CategoryEncoding: integer categories to one-hot, multi-hot or count vectors."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jax_sparse

from lamina.graph import any_symbolic
from lamina.layers.layer import Layer
from lamina.state import current_scope

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def _one_hot(indices, depth: int, dtype, xp):
    # Ids outside [0, depth) (e.g. -1) match no position and encode to zeros.
    return (indices[..., None] == xp.arange(depth)).astype(dtype)


def encode_categorical(indices, output_mode: str, depth: int, dtype, count_weights=None):
    """Encodes integer category ``indices`` as Keras's preprocessing layers do.

    NumPy inputs are encoded with NumPy (on the host, for the lookup layers), other
    inputs with jax.numpy.

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
    xp = np if isinstance(indices, np.ndarray) else jnp
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices[None]
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return xp.max(_one_hot(indices.astype("int32"), depth, dtype, xp), axis=axis)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return _one_hot(indices, depth, dtype, xp)
    if output_mode == "count":
        if count_weights is not None:
            dtype = count_weights.dtype
        encoded = _one_hot(indices, depth, dtype, xp)
        if count_weights is not None:
            encoded = encoded * count_weights[..., None]
        return xp.sum(encoded, axis=axis)
    raise ValueError(f"Unknown output_mode {output_mode!r}: expected one of "
                     f"{('int',) + OUTPUT_MODES}.")


def sparse_output(layer, args, outputs):
    """``outputs`` as a ``jax.experimental.sparse.BCOO`` when ``layer.sparse`` is set and
    the layer was called on concrete arrays outside a model, as Keras's JAX backend
    returns them. Inside a model (symbolic or traced calls) outputs stay dense: lamina's
    layers compute on dense arrays, and the values are the same."""
    if not layer.sparse or any_symbolic(args) or current_scope() is not None:
        return outputs
    return jax_sparse.BCOO.fromdense(outputs)


class CategoryEncoding(Layer):
    """Encodes integer features as one-hot, multi-hot or count vectors of size ``num_tokens``.

    Args:
        num_tokens: the number of categories; inputs must lie in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (default; ``"binary"`` is an alias),
            ``"one_hot"`` or ``"count"``.
        sparse: if True, eager calls outside a model return a
            ``jax.experimental.sparse.BCOO`` (as Keras on JAX does); inside a model
            the output is the equal dense array.

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
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse

    def __call__(self, *args, **kwargs):
        return sparse_output(self, args, super().__call__(*args, **kwargs))

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
