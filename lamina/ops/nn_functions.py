"""Other ``keras.ops.nn`` ops: encodings (one-hot, multi-hot), statistics and
normalizations, cross-entropies, CTC, PSNR, attention and complex polar form."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from lamina import backend, dtypes
from lamina.ops.op_utils import NN, axis_arg, dtype_of, result_type, tensor, to_float
from lamina.ops.operation import keras_op

# Keras records these ops with dtype=None resolved to floatx().
_FLOATX = {"dtype": dtypes.floatx}


# -- encodings --------------------------------------------------------------------------
@keras_op(NN, init=("num_classes", "axis", "dtype", "sparse"), resolve=_FLOATX)
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of ``num_classes`` for integer ``x`` along a new ``axis``
    (out-of-range and negative indices give zero vectors)."""
    if sparse:
        raise NotImplementedError("one_hot(sparse=True) is not supported by lamina.")
    x = tensor(x)
    return jax.nn.one_hot(x.astype("int32"), num_classes, axis=axis,
                          dtype=dtypes.standardize(dtype))


@keras_op(NN, init=("num_classes", "axis", "dtype", "sparse"), resolve=_FLOATX)
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot vectors: 1 at every class index in the last axis of ``inputs`` (a
    1-D ``inputs`` is one sample)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot received unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot requires num_classes.")
    if sparse:
        raise NotImplementedError("multi_hot(sparse=True) is not supported by lamina.")
    x = tensor(inputs).astype("int32")
    reduction_axis = 1 if x.ndim > 1 else 0
    encoded = jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtypes.standardize(dtype))
    return jnp.max(encoded, axis=reduction_axis)


# -- statistics and normalizations ------------------------------------------------------
@keras_op(NN, init=("axes", "keepdims", "synchronized"))
def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes`` (half-precision inputs computed in float32)."""
    x = to_float(x)
    dtype = x.dtype
    if dtype in (jnp.float16, jnp.bfloat16):
        x = x.astype("float32")
    axes = axis_arg(axes)
    mean = jnp.mean(x, axis=axes, keepdims=True)
    variance = jnp.mean(jnp.square(x), axis=axes, keepdims=True) - jnp.square(
        jax.lax.stop_gradient(mean))
    variance = jnp.maximum(variance, 0.0)
    if not keepdims:
        mean, variance = jnp.squeeze(mean, axes), jnp.squeeze(variance, axes)
    if dtype in (jnp.float16, jnp.bfloat16):
        # Clip to the half-precision range so the casts do not overflow.
        limit = jnp.finfo(dtype).max
        mean = jnp.clip(mean, -limit, limit)
        variance = jnp.clip(variance, -limit, limit)
    return mean.astype(dtype), variance.astype(dtype)


def _broadcast_along(v, x, axis):
    """The 1-D statistic ``v`` shaped to broadcast along ``axis`` of ``x``."""
    v = tensor(v)
    if v.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = v.shape[0]
        return v.reshape(shape)
    return v


@keras_op(NN, class_name="BatchNorm", init=("axis", "epsilon"))
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the statistics
    being vectors along ``axis``."""
    x = to_float(x)
    inv = jax.lax.rsqrt(_broadcast_along(variance, x, axis).astype(x.dtype) + epsilon)
    if scale is not None:
        inv = inv * _broadcast_along(scale, x, axis).astype(x.dtype)
    out = x * inv - _broadcast_along(mean, x, axis).astype(x.dtype) * inv
    if offset is not None:
        out = out + _broadcast_along(offset, x, axis).astype(x.dtype)
    return out


@keras_op(NN, class_name="LayerNorm", init=("axis", "epsilon", "rms_scaling"))
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, rms_scaling=False):
    """Normalizes ``x`` to zero mean and unit variance over ``axis``, then scales by
    ``gamma`` and shifts by ``beta``. With the deprecated ``rms_scaling`` it only
    divides by the standard deviation and scales by ``gamma``, as Keras does (use
    ``rms_normalization`` for RMS normalization)."""
    x = to_float(x)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    axes = axis_arg(axis)
    compute = "float32" if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
    y = x.astype(compute)
    if rms_scaling:
        out = y * jax.lax.rsqrt(jnp.var(y, axis=axes, keepdims=True) + epsilon)
        if gamma is not None:
            out = out * tensor(gamma).astype(compute)
    else:
        mean = jnp.mean(y, axis=axes, keepdims=True)
        variance = jnp.var(y, axis=axes, keepdims=True)
        out = (y - mean) * jax.lax.rsqrt(variance + epsilon)
        if gamma is not None:
            out = out * tensor(gamma).astype(compute)
        if beta is not None:
            out = out + tensor(beta).astype(compute)
    return out.astype(x.dtype)


@keras_op(NN, class_name="RMSNorm", init=("axis", "epsilon"))
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x / sqrt(mean(x**2) + epsilon) * scale`` over ``axis``."""
    x = to_float(x)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    compute = "float32" if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
    y = x.astype(compute)
    out = y * jax.lax.rsqrt(jnp.mean(jnp.square(y), axis=axis_arg(axis), keepdims=True)
                            + epsilon)
    if scale is not None:
        out = out * tensor(scale).astype(compute)
    return out.astype(x.dtype)


@keras_op(NN, init=("axis", "order", "epsilon"))
def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``)."""
    x = to_float(x)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    if order == 2:
        square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
        return x * jax.lax.rsqrt(jnp.maximum(square_sum, epsilon))
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)


# -- losses and metrics -----------------------------------------------------------------
def _check_same_shape(target, output):
    if target.shape != output.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape, "
                         f"received target.shape={tuple(target.shape)}, "
                         f"output.shape={tuple(output.shape)}.")


@keras_op(NN, init=("from_logits",))
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy between targets in [0, 1] and probabilities
    (or logits)."""
    output = to_float(output)
    target = tensor(target).astype(output.dtype)
    _check_same_shape(target, output)
    if from_logits:
        log_p = jax.nn.log_sigmoid(output)
        log_not_p = jax.nn.log_sigmoid(-output)
        return -(target * log_p + (1 - target) * log_not_p)
    eps = backend.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


@keras_op(NN, init=("from_logits", "axis"))
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and probabilities (or logits)
    along ``axis``."""
    output = to_float(output)
    target = tensor(target).astype(output.dtype)
    _check_same_shape(target, output)
    if from_logits:
        return -jnp.sum(target * jax.nn.log_softmax(output, axis=axis), axis=axis)
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    eps = backend.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -jnp.sum(target * jnp.log(output), axis=axis)


@keras_op(NN, init=("from_logits", "axis"))
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class targets and probabilities (or logits)."""
    output = to_float(output)
    target = tensor(target).astype("int32")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if axis == -1 and target.shape != output.shape[:-1]:
        raise ValueError(f"Arguments `target` and `output` must have compatible shapes, "
                         f"received target.shape={tuple(target.shape)}, "
                         f"output.shape={tuple(output.shape)}.")
    encoded = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=output.dtype)
    return categorical_crossentropy.__wrapped__(encoded, output, from_logits, axis)


@keras_op(NN, class_name="PSNR", init=("max_val",))
def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio (dB) between two images of the same shape."""
    x1, x2 = to_float(x1), to_float(x2)
    _check_same_shape(x1, x2)
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20.0 * jnp.log10(max_val) - 10.0 * jnp.log10(mse)


@keras_op(NN, class_name="CTCLoss", init=("mask_index",))
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """The CTC loss per sample: integer labels ``target`` ``(batch, max_label_len)``
    against logits ``output`` ``(batch, frames, classes)``, with their lengths;
    ``mask_index`` is the blank class."""
    output = to_float(output)
    target = tensor(target).astype("int32")
    frames, labels = output.shape[1], target.shape[1]
    frame_paddings = (jnp.arange(frames)[None, :]
                      >= tensor(output_length).astype("int32")[:, None]).astype(output.dtype)
    label_paddings = (jnp.arange(labels)[None, :]
                      >= tensor(target_length).astype("int32")[:, None]).astype(output.dtype)
    logits = jax.nn.log_softmax(output, axis=-1)
    return optax.ctc_loss(logits, frame_paddings, target, label_paddings,
                          blank_id=mask_index)


@keras_op(NN, class_name="CTCDecode", init=("strategy", "beam_width", "top_paths",
                                            "merge_repeated", "mask_index"))
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Greedy CTC decoding of per-frame class scores ``(batch, frames, classes)``:
    returns ``(decoded, scores)`` with ``decoded`` of shape ``(1, batch, frames)``
    (-1 padded) and ``scores`` the negated sum of each frame's largest score
    ``(batch, 1)``, as Keras computes them. Beam search is not supported."""
    if strategy != "greedy":
        raise NotImplementedError("ctc_decode(strategy='beam_search') is not supported by "
                                  "lamina; use strategy='greedy'.")
    inputs = to_float(inputs)
    lengths = tensor(sequence_lengths).astype("int32")
    frames = inputs.shape[1]
    best = jnp.argmax(inputs, axis=-1).astype("int32")
    scores = jnp.max(inputs, axis=-1)
    valid = jnp.arange(frames)[None, :] < lengths[:, None]
    keep = jnp.logical_and(valid, best != mask_index)
    if merge_repeated:
        repeated = jnp.concatenate([jnp.zeros_like(best[:, :1], bool),
                                    best[:, 1:] == best[:, :-1]], axis=1)
        keep = jnp.logical_and(keep, jnp.logical_not(repeated))
    order = jnp.argsort(jnp.logical_not(keep), axis=1, stable=True)
    decoded = jnp.take_along_axis(jnp.where(keep, best, -1), order, axis=1)
    total = -jnp.sum(jnp.where(valid, scores, 0.0), axis=1, keepdims=True)
    return decoded[None], total


# -- attention --------------------------------------------------------------------------
@keras_op(NN, init=("is_causal", "flash_attention", "attn_logits_soft_cap"))
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over ``(batch, seq, heads, head_dim)`` tensors
    (key/value may have fewer heads, shared by groups of query heads).

    ``mask`` (bool, broadcast to ``(batch, heads, q_seq, kv_seq)``) keeps the
    positions where it is true; ``bias`` is added to the logits; ``scale`` defaults
    to ``1 / sqrt(head_dim)``; ``attn_logits_soft_cap`` applies
    ``cap * tanh(logits / cap)``.
    """
    if flash_attention:
        raise NotImplementedError("dot_product_attention(flash_attention=True) is not "
                                  "supported by lamina.")
    query, key, value = tensor(query), tensor(key), tensor(value)
    dtype = result_type(dtype_of(query), dtype_of(key), dtype_of(value))
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    heads, kv_heads = query.shape[-2], key.shape[-2]
    if heads != kv_heads:
        key = jnp.repeat(key, heads // kv_heads, axis=-2)
        value = jnp.repeat(value, heads // kv_heads, axis=-2)
    scale = 1.0 / jnp.sqrt(query.shape[-1]) if scale is None else scale
    logits = jnp.einsum("...tnh,...snh->...nts", query, key,
                        preferred_element_type="float32") * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * jnp.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias).astype("float32")
    keep = None
    if mask is not None:
        keep = tensor(mask).astype(bool)
    if is_causal:
        t, s = logits.shape[-2], logits.shape[-1]
        causal = jnp.tril(jnp.ones((t, s), bool))
        keep = causal if keep is None else jnp.logical_and(keep, causal)
    if keep is not None:
        logits = jnp.where(keep, logits, jnp.finfo("float32").min * 0.7)
    weights = jax.nn.softmax(logits, axis=-1).astype(dtype)
    return jnp.einsum("...nts,...snh->...tnh", weights, value)


@keras_op(NN)
def polar(abs_, angle):
    """The complex numbers with magnitudes ``abs_`` and phases ``angle``."""
    magnitude, phase = to_float(abs_), to_float(angle)
    return jax.lax.complex(magnitude * jnp.cos(phase), magnitude * jnp.sin(phase))
