"""Pieces shared by the attention layers: masks, masked softmax, fused attention."""

from __future__ import annotations

import string

import jax
import jax.numpy as jnp

from lamina import dtypes


def large_negative(dtype) -> float:
    """The value masked-out logits are replaced with before a softmax (as Keras's Softmax)."""
    return -3e4 if dtypes.standardize(dtype) == "float16" else -1e9


def causal_mask(q_len: int, v_len: int):
    """A ``(1, q_len, v_len)`` boolean mask, True where key position <= query position."""
    rows = jnp.arange(q_len)[:, None]
    cols = jnp.arange(v_len)[None, :]
    return (rows >= cols)[None]


def sliding_window_mask(q_len: int, v_len: int, window: int):
    """A ``(1, q_len, v_len)`` symmetric band: True where ``|query - key| < window``."""
    rows = jnp.arange(q_len)[:, None]
    cols = jnp.arange(v_len)[None, :]
    return (jnp.abs(rows - cols) < window)[None]


def combine_attention_masks(q_len: int, v_len: int, query_mask=None, value_mask=None,
                            key_mask=None, attention_mask=None, use_causal_mask=False,
                            sliding_window=None):
    """ANDs every given mask into one boolean attention mask (None when there is none).

    ``query_mask`` ``(B, T)`` becomes ``(B, T, 1)``; ``value_mask`` and ``key_mask``
    ``(B, S)`` become ``(B, 1, S)``; the causal and sliding-window masks are
    ``(1, T, S)``; ``attention_mask`` is ``(B, T, S)`` (or broadcastable).
    """
    auto = None

    def both(a, b):
        return b if a is None else a & b

    if query_mask is not None:
        auto = both(auto, jnp.expand_dims(jnp.asarray(query_mask).astype(bool), -1))
    if value_mask is not None:
        auto = both(auto, jnp.expand_dims(jnp.asarray(value_mask).astype(bool), -2))
    if key_mask is not None:
        auto = both(auto, jnp.expand_dims(jnp.asarray(key_mask).astype(bool), -2))
    if use_causal_mask:
        auto = both(auto, causal_mask(q_len, v_len))
    if sliding_window is not None:
        auto = both(auto, sliding_window_mask(q_len, v_len, sliding_window))
    if attention_mask is not None:
        attention_mask = jnp.asarray(attention_mask).astype(bool)
    if auto is not None:
        attention_mask = auto if attention_mask is None else attention_mask & auto
    return attention_mask


def masked_softmax(scores, mask, axes):
    """Softmax over ``axes`` where ``mask`` (broadcastable, True = keep) allows.

    Masked positions get a large negative logit and then a probability of exactly 0,
    so a fully masked row comes out all zeros (as Keras's Softmax layer does).
    """
    if mask is not None:
        if mask.dtype != jnp.bool_:
            mask = mask > 0.5
        scores = jnp.where(mask, scores, large_negative(scores.dtype))
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)
    if len(axes) > 1:
        probs = jnp.exp(scores - jax.scipy.special.logsumexp(scores, axis=axes, keepdims=True))
    else:
        probs = jax.nn.softmax(scores, axis=axes[0])
    if mask is not None:
        probs = jnp.where(mask, probs, 0.0).astype(probs.dtype)
    return probs


def expand_mask(mask, target_rank: int, axis: int):
    """Inserts size-1 axes at ``axis`` until ``mask`` has ``target_rank`` dims."""
    while mask.ndim < target_rank:
        mask = jnp.expand_dims(mask, axis)
    return mask


def fused_attention(query, key, value, mask, scale: float, is_causal: bool,
                    flash_attention=None):
    """Dot-product attention on ``(B, T, N, H)`` projections with one fused call.

    Uses ``jax.nn.dot_product_attention`` (the XLA implementation, as Keras does on
    JAX; cuDNN when ``flash_attention`` is True). Masked logits are replaced by a
    large negative number and not zeroed afterwards, so a fully masked query row
    averages all values - the same numbers Keras gives on this path.
    """
    if mask is not None:
        mask = expand_mask(mask, 4, -3).astype(bool)
    dtype = jnp.result_type(query.dtype, key.dtype, value.dtype)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    if flash_attention:
        try:
            return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=scale,
                                                is_causal=is_causal, implementation="cudnn")
        except Exception:  # noqa: BLE001 - no cuDNN kernel for these inputs: use XLA
            pass
    return jax.nn.dot_product_attention(query, key, value, mask=mask, scale=scale,
                                        is_causal=is_causal, implementation="xla")


def letters(i: int) -> str:
    return string.ascii_lowercase[i]


def projection_equation(free_dims: int, bound_dims: int, output_dims: int):
    """The einsum equation, bias axes and output rank of an attention projection.

    The input has ``free_dims`` kept axes followed by ``bound_dims`` contracted ones;
    the kernel maps the contracted axes to ``output_dims`` new ones (which get a bias).
    """
    free = "".join(letters(i) for i in range(free_dims))
    bound = "".join(letters(free_dims + i) for i in range(bound_dims))
    out = "".join(letters(free_dims + bound_dims + i) for i in range(output_dims))
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank: int, attn_axes: tuple):
    """Einsum equations of multi-axis attention on projected tensors of ``rank`` dims.

    Projected tensors are ``(batch, <other dims>, <attention dims>, heads, channels)``;
    every non-attention axis but the last acts as a batch axis. Returns the
    key-query product equation (giving scores ``(<batch axes>, <query attention
    axes>, <key attention axes>)``), the scores-value combination equation and the
    scores' rank.
    """
    target = "".join(letters(i) for i in range(rank))
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters(offset)
            offset += 1
    product = ("".join(target[i] for i in batch_dims) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


# Call options that must stay Python values: they choose the code path, so a traced
# array would fail under jit.
FLAG_ARGUMENTS = ("return_attention_scores", "use_causal_mask")


def convert_keeping_flags(convert, args: tuple, kwargs: dict, **options):
    """Runs the base Layer's input conversion (with its ``options``), leaving the
    boolean call options alone."""
    flags = {k: kwargs[k] for k in FLAG_ARGUMENTS if k in kwargs}
    args, kwargs = convert(args, {k: v for k, v in kwargs.items() if k not in flags},
                           **options)
    return args, {**kwargs, **flags}
