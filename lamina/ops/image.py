"""Image ops (``keras.ops.image``): color conversions, resizing, padding/cropping,
patches, coordinate mapping and filters, on batched or single images in
``channels_last`` (default) or ``channels_first`` layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina import backend
from lamina.ops.op_utils import IMAGE, tensor, to_float
from lamina.ops.operation import keras_op


def _data_format(data_format) -> str:
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}.")
    return data_format


def _channel_axis(data_format) -> int:
    return -1 if _data_format(data_format) == "channels_last" else -3


def _check_rank(images, name: str):
    if images.ndim not in (3, 4):
        raise ValueError(f"{name} expects a 3-D (one image) or 4-D (batch) tensor, received "
                         f"shape {tuple(images.shape)}.")


# -- color ----------------------------------------------------------------------------
@keras_op(IMAGE, class_name="RGBToGrayscale", init=("data_format",))
def rgb_to_grayscale(images, data_format=None):
    """Luma of RGB images (ITU-R 601 weights), keeping a channel axis of size 1."""
    images = tensor(images)
    _check_rank(images, "rgb_to_grayscale")
    axis = _channel_axis(data_format)
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], dtype)
    moved = jnp.moveaxis(images.astype(dtype), axis, -1)
    gray = jnp.tensordot(moved, weights, axes=[[-1], [0]])[..., None]
    return jnp.moveaxis(gray, -1, axis).astype(images.dtype)


@keras_op(IMAGE, class_name="RGBToHSV", init=("data_format",))
def rgb_to_hsv(images, data_format=None):
    """HSV (each in [0, 1]) of float RGB images in [0, 1]."""
    images = to_float(images)
    _check_rank(images, "rgb_to_hsv")
    axis = _channel_axis(data_format)
    r, g, b = (jnp.take(images, i, axis=axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(r, g), b)
    spread = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    safe = jnp.where(spread > 0, spread, 1.0)
    hue = jnp.where(value == r, (g - b) / safe,
                    jnp.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = jnp.where(spread > 0, (hue / 6.0) % 1.0, 0.0)
    return jnp.stack([hue, saturation, value], axis=axis)


@keras_op(IMAGE, class_name="HSVToRGB", init=("data_format",))
def hsv_to_rgb(images, data_format=None):
    """RGB of float HSV images (each channel in [0, 1])."""
    images = to_float(images)
    _check_rank(images, "hsv_to_rgb")
    axis = _channel_axis(data_format)
    h, s, v = (jnp.take(images, i, axis=axis) for i in range(3))

    def channel(n):
        k = (n + h * 6.0) % 6.0
        return v - v * s * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)

    return jnp.stack([channel(5.0), channel(3.0), channel(1.0)], axis=axis)


# -- resizing and coordinates -----------------------------------------------------------
_METHODS = {"nearest": "nearest", "bilinear": "linear", "bicubic": "cubic",
            "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


@keras_op(IMAGE, init=("size", "interpolation", "antialias", "crop_to_aspect_ratio",
                       "pad_to_aspect_ratio", "fill_mode", "fill_value", "data_format"))
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to ``size = (height, width)``."""
    if interpolation not in _METHODS:
        raise ValueError(f"Unknown interpolation {interpolation!r}: expected one of "
                         f"{sorted(_METHODS)}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be "
                         "True.")
    images = tensor(images)
    _check_rank(images, "resize")
    channels_last = _data_format(data_format) == "channels_last"
    x = images if channels_last else jnp.moveaxis(images, -3, -1)
    height, width = x.shape[-3], x.shape[-2]
    target_h, target_w = size
    if crop_to_aspect_ratio:
        crop_h = min(height, int(width * target_h / target_w))
        crop_w = min(width, int(height * target_w / target_h))
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        x = x[..., top:top + crop_h, left:left + crop_w, :]
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(width * target_h / target_w))
        pad_w = max(width, int(height * target_w / target_h))
        top, left = (pad_h - height) // 2, (pad_w - width) // 2
        pads = [(0, 0)] * (x.ndim - 3) + [(top, pad_h - height - top),
                                          (left, pad_w - width - left), (0, 0)]
        x = jnp.pad(x, pads, constant_values=fill_value)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    out_shape = x.shape[:-3] + (target_h, target_w, x.shape[-1])
    out = jax.image.resize(x.astype(dtype), out_shape, method=_METHODS[interpolation],
                           antialias=antialias)
    if not jnp.issubdtype(images.dtype, jnp.floating):
        out = jnp.round(out).astype(images.dtype)
    return out if channels_last else jnp.moveaxis(out, -1, -3)


@keras_op(IMAGE, init=("order", "fill_mode", "fill_value"))
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Values of ``inputs`` at ``coordinates`` (one coordinate array per axis) by
    spline interpolation of ``order`` 0 or 1."""
    inputs = tensor(inputs)
    coords = [tensor(c) for c in coordinates]
    modes = {"constant": "constant", "nearest": "nearest", "wrap": "wrap",
             "mirror": "mirror", "reflect": "reflect"}
    if fill_mode not in modes:
        raise ValueError(f"Unknown fill_mode {fill_mode!r}: expected one of {sorted(modes)}.")
    return jax.scipy.ndimage.map_coordinates(inputs, coords, order=order,
                                             mode=modes[fill_mode], cval=fill_value)


@keras_op(IMAGE, init=("spatial_dims", "method", "antialias"))
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """``jax.image.scale_and_translate``: images resampled to ``output_shape`` with
    per-axis ``scale`` and ``translation`` over ``spatial_dims``."""
    images = to_float(images)
    return jax.image.scale_and_translate(
        images, tuple(output_shape), tuple(spatial_dims), to_float(scale),
        to_float(translation), method, antialias=antialias)


# -- padding and cropping ---------------------------------------------------------------
def _box(height, width, top, left, bottom, right, target_h, target_w, what: str):
    """The (top, bottom, left, right) amounts from the given sides/targets."""
    if top is None and bottom is None and target_h is not None:
        raise ValueError(f"{what}: give top or bottom with target_height.")
    values = []
    for first, second, target, size, names in (
            (top, bottom, target_h, height, "top/bottom"),
            (left, right, target_w, width, "left/right")):
        if first is None and second is None:
            values.append((0, 0))
            continue
        if first is not None and second is not None:
            if target is not None:
                raise ValueError(f"{what}: give two of {names} and the target size, not three.")
            values.append((first, second))
            continue
        if target is None:
            raise ValueError(f"{what}: give both of {names}, or one with the target size.")
        diff = abs(target - size)
        values.append((first, diff - first) if first is not None else (diff - second, second))
    return values


@keras_op(IMAGE, init=("top_padding", "left_padding", "bottom_padding", "right_padding",
                       "target_height", "target_width", "data_format"))
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Images padded with zeros on each side (amounts, or one side and a target size)."""
    images = tensor(images)
    _check_rank(images, "pad_images")
    channels_last = _data_format(data_format) == "channels_last"
    h_axis = -3 if channels_last else -2
    (top, bottom), (left, right) = _box(images.shape[h_axis], images.shape[h_axis + 1],
                                        top_padding, left_padding, bottom_padding,
                                        right_padding, target_height, target_width,
                                        "pad_images")
    pads = [(0, 0)] * images.ndim
    pads[h_axis], pads[h_axis + 1] = (top, bottom), (left, right)
    return jnp.pad(images, pads)


@keras_op(IMAGE, init=("top_cropping", "left_cropping", "bottom_cropping", "right_cropping",
                       "target_height", "target_width", "data_format"))
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Images cropped on each side (amounts, or one side and a target size)."""
    images = tensor(images)
    _check_rank(images, "crop_images")
    channels_last = _data_format(data_format) == "channels_last"
    h_axis = images.ndim - 3 if channels_last else images.ndim - 2
    height, width = images.shape[h_axis], images.shape[h_axis + 1]
    (top, bottom), (left, right) = _box(height, width, top_cropping, left_cropping,
                                        bottom_cropping, right_cropping, target_height,
                                        target_width, "crop_images")
    index = [slice(None)] * images.ndim
    index[h_axis] = slice(top, height - bottom)
    index[h_axis + 1] = slice(left, width - right)
    return images[tuple(index)]


# -- patches ----------------------------------------------------------------------------
def _patches(images, size, strides, dilation_rate, padding, data_format, rank: int):
    """Patches of ``size`` flattened into the channel axis in (spatial..., channel)
    order, by a convolution with an identity kernel."""
    channels_last = _data_format(data_format) == "channels_last"
    unbatched = images.ndim == rank + 1
    x = images[None] if unbatched else images
    if not channels_last:
        x = jnp.moveaxis(x, 1, -1)
    size = (size,) * rank if isinstance(size, int) else tuple(size)
    strides = size if strides is None else (
        (strides,) * rank if isinstance(strides, int) else tuple(strides))
    dilation = (dilation_rate,) * rank if isinstance(dilation_rate, int) else tuple(
        dilation_rate)
    channels = x.shape[-1]
    depth = int(np.prod(size)) * channels
    kernel = jnp.eye(depth, dtype=x.dtype).reshape(size + (channels, depth))
    spatial = "DHW"[-rank:]
    numbers = jax.lax.conv_dimension_numbers(x.shape, kernel.shape,
                                             ("N" + spatial + "C", spatial + "IO",
                                              "N" + spatial + "C"))
    out = jax.lax.conv_general_dilated(x, kernel, strides, padding.upper(),
                                       rhs_dilation=dilation, dimension_numbers=numbers,
                                       precision=jax.lax.Precision.HIGHEST)
    if not channels_last:
        out = jnp.moveaxis(out, -1, 1)
    return out[0] if unbatched else out


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of ``size`` (an int or 2 ints, or 3 for volumes) as vectors along the
    channel axis: ``(batch, rows, cols, size_h * size_w * channels)`` for images.
    ``strides`` default to ``size`` (non-overlapping patches)."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    return _extract_patches(images, size, size if strides is None else strides,
                            dilation_rate, padding, _data_format(data_format))


@keras_op(IMAGE, class_name="ExtractPatches",
          init=("size", "strides", "dilation_rate", "padding", "data_format"))
def _extract_patches(images, size, strides, dilation_rate, padding, data_format):
    return _patches(tensor(images), size, strides, dilation_rate, padding, data_format,
                    len(size))


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """Patches of ``size`` (depth, height, width) from volumes, as vectors along the
    channel axis (recorded as ``extract_patches`` with a 3-D size, as in Keras)."""
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    return extract_patches(volumes, size, strides, dilation_rate, padding, data_format)


# -- filters ----------------------------------------------------------------------------
def _gaussian_1d(size: int, sigma, dtype):
    offsets = jnp.arange(size, dtype=dtype) - (size - 1) / 2.0
    weights = jnp.exp(-0.5 * jnp.square(offsets / sigma))
    return weights / jnp.sum(weights)


def _depthwise(x, kernel, padding: str):
    """Each channel of channels-last ``x`` (batch, h, w, c) filtered by the 2-D
    ``kernel``; ``padding`` is ``"valid"`` or a ``jnp.pad`` mode for "same" output."""
    kh, kw = kernel.shape
    if padding != "valid":
        pads = ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0))
        x = jnp.pad(x, pads, mode=padding)
    channels = x.shape[-1]
    weights = jnp.tile(kernel[:, :, None, None], (1, 1, 1, channels)).astype(x.dtype)
    return jax.lax.conv_general_dilated(x, weights, (1, 1), "VALID",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                        feature_group_count=channels,
                                        precision=jax.lax.Precision.HIGHEST)


def _as_batched_channels_last(images, data_format, name: str):
    _check_rank(images, name)
    channels_last = _data_format(data_format) == "channels_last"
    unbatched = images.ndim == 3
    x = images[None] if unbatched else images
    if not channels_last:
        x = jnp.moveaxis(x, 1, -1)

    def restore(out):
        if not channels_last:
            out = jnp.moveaxis(out, 3, 1)
        return out[0] if unbatched else out

    return x, restore


@keras_op(IMAGE, init=("kernel_size", "sigma", "data_format"))
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Images blurred by a Gaussian kernel (zero-padded, same size).

    As Keras computes it, the first entries of ``kernel_size`` and ``sigma`` apply along
    the width and the second along the height. Unlike Keras 3.15.1 on JAX, which treats
    images as channels-first when ``data_format`` is None, None means
    ``image_data_format()``.
    """
    images = to_float(images)
    x, restore = _as_batched_channels_last(images, data_format, "gaussian_blur")
    kw, kh = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sw, sh = (sigma, sigma) if isinstance(sigma, (int, float)) else sigma
    kernel = jnp.outer(_gaussian_1d(kh, sh, x.dtype), _gaussian_1d(kw, sw, x.dtype))
    return restore(_depthwise(x, kernel, "constant"))


@keras_op(IMAGE, init=("data_format",))
def sobel_edges(images, data_format=None):
    """Vertical and horizontal Sobel gradients of each channel, stacked on a new last
    axis: ``(..., channels, 2)`` holding ``[dy, dx]``."""
    images = to_float(images)
    x, _ = _as_batched_channels_last(images, data_format, "sobel_edges")
    dy = jnp.asarray([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]], x.dtype)
    edges = jnp.stack([_depthwise(x, dy, "constant"), _depthwise(x, dy.T, "constant")],
                      axis=-1)
    if _data_format(data_format) == "channels_first":
        edges = jnp.moveaxis(edges, 3, 1)
    return edges[0] if images.ndim == 3 else edges


@keras_op(IMAGE, class_name="SSIM", init=("max_val", "filter_size", "filter_sigma", "k1", "k2",
                                          "data_format"))
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """The structural similarity of two images (or of each pair in two batches), with a
    ``filter_size`` Gaussian window (valid positions only); averaged over positions and
    channels."""
    image1, image2 = to_float(image1), to_float(image2)
    if image1.shape != image2.shape:
        raise ValueError(f"ssim expects images of the same shape, received "
                         f"{tuple(image1.shape)} and {tuple(image2.shape)}.")
    x, _ = _as_batched_channels_last(image1, data_format, "ssim")
    y, _ = _as_batched_channels_last(image2, data_format, "ssim")
    window = _gaussian_1d(filter_size, filter_sigma, x.dtype)
    kernel = jnp.outer(window, window)

    def filt(v):
        return _depthwise(v, kernel, "valid")

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x * mu_x
    var_y = filt(y * y) - mu_y * mu_y
    cov = filt(x * y) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    out = jnp.mean(value, axis=(1, 2, 3))
    return out[0] if image1.ndim == 3 else out


# -- geometric transforms ---------------------------------------------------------------
_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _sample(images, y_in, x_in, order: int, mode: str, fill_value):
    """Each image of a channels-last batch sampled at its own float coordinates
    ``(batch, h, w)`` by spline interpolation of ``order``."""

    def one_image(image, ys, xs):
        def one_channel(channel):
            return jax.scipy.ndimage.map_coordinates(channel, [ys, xs], order=order,
                                                     mode=mode, cval=fill_value)

        return jax.vmap(one_channel, in_axes=-1, out_axes=-1)(image)

    return jax.vmap(one_image)(images, y_in, x_in)


def _check_transform_options(interpolation, fill_mode):
    if interpolation not in _ORDERS:
        raise ValueError(f"Unknown interpolation {interpolation!r}: expected 'nearest' or "
                         "'bilinear'.")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"Unknown fill_mode {fill_mode!r}: expected one of {_FILL_MODES}.")


@keras_op(IMAGE, init=("interpolation", "fill_mode", "fill_value", "data_format"))
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Images resampled by projective transforms ``[a0, a1, a2, b0, b1, b2, c0, c1]``
    (one, or one per image) mapping each output point ``(x, y)`` to the input point
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``; ``c0``/``c1`` are ignored, as on Keras's
    JAX backend."""
    _check_transform_options(interpolation, fill_mode)
    images = to_float(images)
    x, restore = _as_batched_channels_last(images, data_format, "affine_transform")
    transform = to_float(transform)
    if transform.ndim == 1:
        transform = transform[None]
    transform = jnp.broadcast_to(transform, (x.shape[0], transform.shape[-1]))
    rows, cols = jnp.meshgrid(jnp.arange(x.shape[1], dtype=x.dtype),
                              jnp.arange(x.shape[2], dtype=x.dtype), indexing="ij")
    t = [transform[:, i, None, None] for i in range(6)]
    x_in = t[0] * cols + t[1] * rows + t[2]
    y_in = t[3] * cols + t[4] * rows + t[5]
    return restore(_sample(x, y_in, x_in, _ORDERS[interpolation], fill_mode, fill_value))


def _homographies(start_points, end_points):
    """The 8 parameters of the projective maps taking each set of four ``end_points``
    (output) to its ``start_points`` (input): solves the linear system of the four
    point pairs."""
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zero, one = jnp.zeros_like(ex), jnp.ones_like(ex)
    # For each pair: x_in (h6 x + h7 y + 1) = h0 x + h1 y + h2, and likewise for y_in.
    x_equations = jnp.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1)
    y_equations = jnp.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1)
    system = jnp.concatenate([x_equations, y_equations], axis=-2)
    targets = jnp.concatenate([sx, sy], axis=-1)[..., None]
    return jnp.linalg.solve(system, targets)[..., 0]


@keras_op(IMAGE, init=("interpolation", "fill_value", "data_format"))
def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Images warped so the four ``start_points`` ``(x, y)`` move to ``end_points``
    (shapes ``(4, 2)`` or ``(batch, 4, 2)``)."""
    _check_transform_options(interpolation, "constant")
    images = to_float(images)
    start, end = to_float(start_points), to_float(end_points)
    for name, points in (("start_points", start), ("end_points", end)):
        if points.shape[-2:] != (4, 2) or points.ndim not in (2, 3):
            raise ValueError(f"{name} must have shape (4, 2) or (batch, 4, 2), received "
                             f"{tuple(points.shape)}.")
    x, restore = _as_batched_channels_last(images, data_format, "perspective_transform")
    h = _homographies(start.reshape(-1, 4, 2).astype("float32"),
                      end.reshape(-1, 4, 2).astype("float32"))
    h = jnp.broadcast_to(h, (x.shape[0], 8))
    rows, cols = jnp.meshgrid(jnp.arange(x.shape[1], dtype="float32"),
                              jnp.arange(x.shape[2], dtype="float32"), indexing="ij")
    p = [h[:, i, None, None] for i in range(8)]
    denominator = p[6] * cols + p[7] * rows + 1.0
    x_in = (p[0] * cols + p[1] * rows + p[2]) / denominator
    y_in = (p[3] * cols + p[4] * rows + p[5]) / denominator
    return restore(_sample(x, y_in, x_in, _ORDERS[interpolation], "constant",
                           fill_value).astype(x.dtype))


def _elastic_key(seed):
    from lamina import random as lrandom  # noqa: PLC0415 - only this op draws numbers

    if isinstance(seed, lrandom.SeedGenerator):
        return seed.next()
    if seed is None:
        return lrandom.draw_key("lamina.ops.image.elastic_transform")
    if isinstance(seed, int):
        return jax.random.PRNGKey(seed)
    return seed


@keras_op(IMAGE, init=("alpha", "sigma", "interpolation", "fill_mode", "fill_value", "seed",
                       "data_format"), jit=False)
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Images displaced by random smooth fields: per-pixel normal noise (scaled by
    ``sigma``), blurred by a Gaussian of standard deviation ``sigma``, times ``alpha``.

    ``seed`` is an int, a ``lamina.random.SeedGenerator`` or a key; the random numbers
    are lamina's, not Keras's (the two libraries' random streams differ), and the
    horizontal and vertical fields are drawn independently.
    """
    _check_transform_options(interpolation, fill_mode)
    images = to_float(images)
    x, restore = _as_batched_channels_last(images, data_format, "elastic_transform")
    batch, height, width = x.shape[:3]
    key_x, key_y = jax.random.split(_elastic_key(seed))
    size = int(6 * sigma) | 1
    kernel = jnp.outer(_gaussian_1d(size, sigma, x.dtype), _gaussian_1d(size, sigma, x.dtype))

    def field(key):
        noise = jax.random.normal(key, (batch, height, width, 1), x.dtype) * sigma
        return _depthwise(noise, kernel, "constant")[..., 0] * alpha

    rows, cols = jnp.meshgrid(jnp.arange(height, dtype=x.dtype),
                              jnp.arange(width, dtype=x.dtype), indexing="ij")
    out = _sample(x, rows + field(key_y), cols + field(key_x), _ORDERS[interpolation],
                  fill_mode, fill_value)
    return restore(out)
