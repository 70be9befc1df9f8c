"""Image ops (``keras.ops.image``): color conversions, resizing, padding/cropping,
patches, coordinate mapping and filters, on batched or single images in
``channels_last`` (default) or ``channels_first`` layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp

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
