"""Convolution and pooling ops (``keras.ops.nn``): N-d convolutions (regular,
transposed, depthwise, separable), max/average and adaptive pooling, depth/space
rearrangements and im2col (``unfold``/``fold``)."""

from __future__ import annotations

import builtins

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend
from lamina.ops.op_utils import NN, promote, tensor, to_float
from lamina.ops.operation import keras_op

_SPATIAL = "DHW"
# Keras records these ops with data_format=None resolved to the current default.
_DATA_FORMAT = {"data_format": backend.image_data_format}


def _data_format(data_format) -> str:
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}.")
    return data_format


def _tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, received {value}.")
    return value


def _padding(padding: str) -> str:
    padding = padding.upper()
    if padding not in ("VALID", "SAME"):
        raise ValueError(f"padding must be 'valid' or 'same', received {padding.lower()!r}.")
    return padding


def _dimension_numbers(rank: int, data_format: str):
    spatial = _SPATIAL[-rank:]
    lhs = "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial
    return jax.lax.conv_dimension_numbers((1,) * (rank + 2), (1,) * (rank + 2),
                                          (lhs, spatial + "IO", lhs))


def _channels(x, data_format: str) -> int:
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


# -- convolutions -----------------------------------------------------------------------
@keras_op(NN, init=("strides", "padding", "data_format", "dilation_rate"),
          resolve=_DATA_FORMAT)
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-d convolution. ``kernel`` has shape ``spatial + (in_channels / groups,
    out_channels)``; grouped when the input has a multiple of the kernel's input
    channels."""
    (inputs, kernel), _ = promote(inputs, kernel)
    data_format = _data_format(data_format)
    rank = inputs.ndim - 2
    groups = _channels(inputs, data_format) // kernel.shape[-2]
    return jax.lax.conv_general_dilated(
        inputs, kernel, _tuple(strides, rank, "strides"), _padding(padding),
        rhs_dilation=_tuple(dilation_rate, rank, "dilation_rate"),
        dimension_numbers=_dimension_numbers(rank, data_format), feature_group_count=groups)


@keras_op(NN, init=("strides", "padding", "data_format", "dilation_rate"),
          resolve=_DATA_FORMAT)
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise N-d convolution: each input channel convolved with its own
    ``kernel[..., c, :]`` filters (``kernel`` shape ``spatial + (in, multiplier)``)."""
    (inputs, kernel), _ = promote(inputs, kernel)
    data_format = _data_format(data_format)
    rank = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    kernel = jnp.reshape(kernel, kernel.shape[:-2] + (1, kernel.shape[-2] * kernel.shape[-1]))
    return jax.lax.conv_general_dilated(
        inputs, kernel, _tuple(strides, rank, "strides"), _padding(padding),
        rhs_dilation=_tuple(dilation_rate, rank, "dilation_rate"),
        dimension_numbers=_dimension_numbers(rank, data_format),
        feature_group_count=channels)


@keras_op(NN, init=("strides", "padding", "data_format", "dilation_rate"),
          resolve=_DATA_FORMAT)
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a pointwise (1x1) convolution."""
    depthwise = depthwise_conv.__wrapped__(inputs, depthwise_kernel, strides, padding,
                                           data_format, dilation_rate)
    return conv.__wrapped__(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _transpose_padding(kernel: int, stride: int, dilation: int, padding: str,
                       output_padding, length: int) -> tuple:
    """The explicit (low, high) padding of the transposed convolution along one axis,
    chosen so the output length is Keras's: for ``"valid"`` ``(n - 1) * s + k`` (at
    least ``n * s``), for ``"same"`` ``n * s`` (``output_padding`` adds to either)."""
    k = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "VALID":
            out = length * stride + builtins.max(k - stride, 0)
        else:
            out = length * stride
    else:
        pad = k // 2 if padding == "SAME" else 0
        out = (length - 1) * stride + k - 2 * pad + output_padding
    total = out - (length - 1) * stride - 2 + k
    low = k - 1 if padding == "VALID" else builtins.min((total + 1) // 2, k - 1)
    return low, total - low


@keras_op(NN, init=("strides", "padding", "output_padding", "data_format", "dilation_rate"),
          resolve=_DATA_FORMAT)
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed N-d convolution (the gradient of ``conv``); ``kernel`` has shape
    ``spatial + (out_channels, in_channels)``."""
    (inputs, kernel), _ = promote(inputs, kernel)
    data_format = _data_format(data_format)
    rank = inputs.ndim - 2
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    out_pad = (None,) * rank if output_padding is None else _tuple(
        output_padding, rank, "output_padding")
    spatial = inputs.shape[1:-1] if data_format == "channels_last" else inputs.shape[2:]
    pad = [_transpose_padding(kernel.shape[i], strides[i], dilation[i], _padding(padding),
                              out_pad[i], spatial[i]) for i in range(rank)]
    return jax.lax.conv_transpose(
        inputs, kernel, strides, pad, rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(rank, data_format), transpose_kernel=True)


# -- pooling ----------------------------------------------------------------------------
def _window(inputs, pool_size, strides, data_format):
    rank = inputs.ndim - 2
    pool = _tuple(pool_size, rank, "pool_size")
    strides = pool if strides is None else _tuple(strides, rank, "strides")
    if data_format == "channels_last":
        return (1,) + pool + (1,), (1,) + strides + (1,)
    return (1, 1) + pool, (1, 1) + strides


@keras_op(NN, init=("pool_size", "strides", "padding", "data_format"), resolve=_DATA_FORMAT)
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over windows of ``pool_size`` (strides default the pool size)."""
    inputs = tensor(inputs)
    dims, steps = _window(inputs, pool_size, strides, _data_format(data_format))
    init = -jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(
        inputs.dtype).min
    return jax.lax.reduce_window(inputs, jnp.asarray(init, inputs.dtype), jax.lax.max, dims,
                                 steps, _padding(padding))


@keras_op(NN, init=("pool_size", "strides", "padding", "data_format"), resolve=_DATA_FORMAT)
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with ``"same"`` padding each window averages only its
    elements inside the input."""
    inputs = to_float(inputs)
    dims, steps = _window(inputs, pool_size, strides, _data_format(data_format))
    padding = _padding(padding)
    total = jax.lax.reduce_window(inputs, jnp.asarray(0, inputs.dtype), jax.lax.add, dims,
                                  steps, padding)
    if padding == "VALID":
        return total / np.prod(dims)
    counts = jax.lax.reduce_window(jnp.ones(inputs.shape, inputs.dtype),
                                   jnp.asarray(0, inputs.dtype), jax.lax.add, dims, steps,
                                   padding)
    return total / counts


def _adaptive(inputs, output_size, data_format, reduce):
    data_format = _data_format(data_format)
    rank = inputs.ndim - 2
    sizes = _tuple(output_size, rank, "output_size")
    first = 1 if data_format == "channels_last" else 2
    out = inputs
    for i, size in enumerate(sizes):
        axis = first + i
        length = out.shape[axis]
        pieces = []
        for j in range(size):
            start = (j * length) // size
            stop = -((-(j + 1) * length) // size)
            pieces.append(reduce(jax.lax.slice_in_dim(out, start, stop, axis=axis), axis))
        out = jnp.stack(pieces, axis=axis)
    return out


@keras_op(NN, init=("output_size", "data_format"), resolve=_DATA_FORMAT)
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (window ``i`` covers
    ``[floor(i L / n), ceil((i + 1) L / n))``)."""
    return _adaptive(to_float(inputs), output_size, data_format,
                     lambda x, axis: jnp.mean(x, axis=axis))


@keras_op(NN, init=("output_size", "data_format"), resolve=_DATA_FORMAT)
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size``."""
    return _adaptive(tensor(inputs), output_size, data_format,
                     lambda x, axis: jnp.max(x, axis=axis))


# -- rearrangements ---------------------------------------------------------------------
@keras_op(NN, init=("block_size", "data_format"), resolve=_DATA_FORMAT)
def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves blocks of channels into ``block_size x block_size`` spatial blocks."""
    x = tensor(x)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // (b * b))
        return x.transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c // (b * b))
    # channels_first orders each channel's block contiguously (channel-major).
    n, c, h, w = x.shape
    x = x.reshape(n, c // (b * b), b, b, h, w)
    return x.transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (b * b), h * b, w * b)


@keras_op(NN, init=("block_size", "data_format"), resolve=_DATA_FORMAT)
def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves ``block_size x block_size`` spatial blocks into channels."""
    x = tensor(x)
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c)
        return x.transpose(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b)
    return x.transpose(0, 1, 3, 5, 2, 4).reshape(n, c * b * b, h // b, w // b)


def _pair(value) -> tuple:
    return (value, value) if isinstance(value, int) else tuple(value)


def _unfold(x, kernel_size, dilation, padding, stride):
    n, c = x.shape[:2]
    kh, kw = _pair(kernel_size)
    ph, pw = _pair(padding)
    x = jnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    patches = jax.lax.conv_general_dilated_patches(
        x, (kh, kw), _pair(stride), "VALID", rhs_dilation=_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return patches.reshape(n, c * kh * kw, -1)


@keras_op(NN, init=("kernel_size", "dilation", "padding", "stride"))
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding ``kernel_size`` blocks of a channels-first image ``(N, C, H, W)``
    as columns: shape ``(N, C * kH * kW, L)`` (im2col)."""
    return _unfold(tensor(x), kernel_size, dilation, padding, stride)


@keras_op(NN, init=("output_size", "kernel_size", "dilation", "padding", "stride"))
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums columns of blocks ``(N, C * kH * kW, L)`` back into an image
    ``(N, C, oH, oW)`` (col2im, the transpose of ``unfold``)."""
    x = tensor(x)
    kh, kw = _pair(kernel_size)
    oh, ow = _pair(output_size)
    image = jnp.zeros((x.shape[0], x.shape[1] // (kh * kw), oh, ow), x.dtype)
    _, transpose = jax.vjp(lambda img: _unfold(img, kernel_size, dilation, padding, stride),
                           image)
    return transpose(x)[0]
