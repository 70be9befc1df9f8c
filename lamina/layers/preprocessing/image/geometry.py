"""Resizing, cropping and flipping: Resizing, CenterCrop, RandomCrop, RandomFlip."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import random as lrandom
from lamina.layers.preprocessing.image import boxes as box_utils
from lamina.layers.preprocessing.image.base import ImageLayer
from lamina.ops import image as image_ops

_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _restore_dtype(out, dtype):
    """Integer images come back rounded and saturated to their dtype, as in Keras."""
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
        return jnp.clip(jnp.round(out), info.min, info.max).astype(dtype)
    return out.astype(dtype)


def _crop_window(height: int, width: int, target_h: int, target_w: int):
    """The centred window of the target aspect ratio: (top, left, rows, cols)."""
    rows = max(min(height, int(width * target_h / target_w)), 1)
    cols = max(min(width, int(height * target_w / target_h)), 1)
    return (height - rows) // 2, (width - cols) // 2, rows, cols


class Resizing(ImageLayer):
    """Resizes images to ``(height, width)``.

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` (default), ``"nearest"``, ``"bicubic"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        crop_to_aspect_ratio: crop the largest centred window of the target aspect
            ratio first (no distortion).
        pad_to_aspect_ratio: pad evenly with ``fill_value`` to the target aspect
            ratio first.
        fill_mode, fill_value: how padding is filled (``"constant"`` only).
        antialias: filter when downsampling.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Integer images keep their dtype (rounded). Boxes are scaled (and shifted for
    cropping or padding) with the image; masks are resized by nearest neighbour.
    """

    _random = False
    _active_at_inference = True

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"Resizing: `interpolation` must be one of {_INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of `crop_to_aspect_ratio` and "
                             "`pad_to_aspect_ratio` can be True.")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def _cast_images(self, images):
        return images if jnp.issubdtype(images.dtype, jnp.integer) else images.astype(
            self.compute_dtype)

    def _resize(self, images, interpolation):
        out = image_ops.resize(images.astype(jnp.float32), (self.height, self.width),
                               interpolation=interpolation, antialias=self.antialias,
                               crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                               pad_to_aspect_ratio=self.pad_to_aspect_ratio,
                               fill_mode=self.fill_mode, fill_value=self.fill_value,
                               data_format="channels_last")
        return _restore_dtype(out, images.dtype)

    def _images(self, images, t):
        return self._resize(images, self.interpolation)

    def _masks(self, masks, t):
        return self._resize(masks, "nearest")

    def _output_size(self, height, width):
        return self.height, self.width

    def _boxes(self, boxes, labels, t, size):
        height, width = size
        empty = jnp.all(boxes == -1, axis=-1) | jnp.all(boxes == 0, axis=-1)
        if self.pad_to_aspect_ratio:
            ratio = min(self.height / height, self.width / width)
            scale_x = scale_y = ratio
            left, top = -((self.width - width * ratio) // 2), -((self.height - height * ratio) // 2)
        elif self.crop_to_aspect_ratio:
            wider = width / height > self.width / self.height
            new_w = self.height * width / height if wider else self.width
            new_h = self.height if wider else self.width * height / width
            scale_x, scale_y = new_w / width, new_h / height
            left, top = (new_w - self.width) // 2, (new_h - self.height) // 2
        else:
            scale_x, scale_y, left, top = self.width / width, self.height / height, 0, 0
        scaled = boxes * jnp.asarray([scale_x, scale_y, scale_x, scale_y], boxes.dtype)
        scaled = scaled - jnp.asarray([left, top, left, top], boxes.dtype)
        scaled, labels = box_utils.clip(scaled, labels, self.height, self.width)
        return jnp.where(empty[..., None], 0.0, scaled), labels

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "antialias": self.antialias})
        return config


def _crop_boxes(boxes, labels, top, left, rows, cols, out_h, out_w):
    """Boxes of a crop window (top, left, rows, cols) resized to (out_h, out_w)."""
    shifted = boxes - jnp.stack([left, top, left, top]).astype(boxes.dtype)
    shifted, labels = box_utils.clip(shifted, labels, rows, cols)
    scale = jnp.asarray([out_w / cols, out_h / rows, out_w / cols, out_h / rows], boxes.dtype)
    return shifted * scale, labels


class CenterCrop(ImageLayer):
    """Crops the centre ``(height, width)`` window of images; an image smaller than the
    target is cropped to the target aspect ratio and resized (bilinear), as in Keras.

    Args:
        height, width: the output size.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _random = False
    _active_at_inference = True

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def _window(self, height, width):
        if height >= self.height and width >= self.width:
            return (height - self.height) // 2, (width - self.width) // 2, self.height, self.width
        return _crop_window(height, width, self.height, self.width)

    def _images(self, images, t):
        top, left, rows, cols = self._window(images.shape[1], images.shape[2])
        out = images[:, top:top + rows, left:left + cols, :]
        if (rows, cols) != (self.height, self.width):
            out = image_ops.resize(out, (self.height, self.width),
                                   data_format="channels_last").astype(images.dtype)
        return out

    _masks = _images

    def _output_size(self, height, width):
        return self.height, self.width

    def _boxes(self, boxes, labels, t, size):
        top, left, rows, cols = self._window(*size)
        return _crop_boxes(boxes, labels, jnp.asarray(top), jnp.asarray(left), rows, cols,
                           self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width})
        return config


class RandomCrop(ImageLayer):
    """Crops a random ``(height, width)`` window (one window for the whole batch, as
    in Keras) in training; at inference images pass unchanged.

    An image not larger than the target in both dimensions is cropped at the centre
    to the target aspect ratio and resized instead.

    Args:
        height, width: the crop size.
        seed: an int for reproducible crops (a random one is chosen and saved in the
            config when None, as Keras).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        if seed is None:
            seed = int(lrandom.numpy_rng().integers(1, 10**9))
        super().__init__(data_format=data_format, seed=seed, name=name, **kwargs)
        self.height, self.width = int(height), int(width)

    def _transformation(self, images, key):
        height, width = images.shape[1], images.shape[2]
        if height > self.height and width > self.width:
            key_h, key_w = jax.random.split(key)
            top = jax.random.uniform(key_h, (), maxval=height - self.height + 1.0)
            left = jax.random.uniform(key_w, (), maxval=width - self.width + 1.0)
            return top.astype(jnp.int32), left.astype(jnp.int32)
        top, left, _, _ = _crop_window(height, width, self.height, self.width)
        return jnp.asarray(top, jnp.int32), jnp.asarray(left, jnp.int32)

    def _sizes(self, height, width):
        # The window Keras slices: (height, width) from the start, cut at the border.
        return min(self.height, height), min(self.width, width)

    def _images(self, images, t):
        top, left = t
        height, width = images.shape[1], images.shape[2]
        rows, cols = self._sizes(height, width)
        if rows == height and cols == width:
            out = images
        else:
            out = jax.lax.dynamic_slice(images, (0, top, left, 0),
                                        (images.shape[0], rows, cols, images.shape[3]))
        if (rows, cols) != (self.height, self.width):
            out = image_ops.resize(out, (self.height, self.width),
                                   data_format="channels_last").astype(images.dtype)
        return out

    _masks = _images

    def _output_size(self, height, width):
        return self.height, self.width

    def _boxes(self, boxes, labels, t, size):
        top, left = t
        rows, cols = self._sizes(*size)
        return _crop_boxes(boxes, labels, top, left, rows, cols, self.height, self.width)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width, "seed": self.seed})
        return config


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(ImageLayer):
    """Flips each image with probability 1/2 in training: left-right (``mode=
    "horizontal"``), upside down (``"vertical"``) or both at once
    (``"horizontal_and_vertical"``, one draw for both axes, as in Keras).

    Args:
        mode: one of ``"horizontal"``, ``"vertical"``, ``"horizontal_and_vertical"``.
        seed: an int for reproducible flips.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip: `mode` must be one of {_FLIP_MODES}. Received: "
                             f"mode={mode!r}")
        self.mode = mode

    def _transformation(self, images, key):
        return jax.random.uniform(key, (images.shape[0],)) <= 0.5

    def _images(self, images, flips):
        flip = flips[:, None, None, None]
        if self.mode != "vertical":
            images = jnp.where(flip, images[:, :, ::-1], images)
        if self.mode != "horizontal":
            images = jnp.where(flip, images[:, ::-1], images)
        return images

    _masks = _images

    def _boxes(self, boxes, labels, flips, size):
        height, width = size
        x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
        flip = flips[:, None]
        if self.mode != "vertical":
            x1, x2 = jnp.where(flip, width - x2, x1), jnp.where(flip, width - x1, x2)
        if self.mode != "horizontal":
            y1, y2 = jnp.where(flip, height - y2, y1), jnp.where(flip, height - y1, y2)
        return box_utils.clip(jnp.stack([x1, y1, x2, y2], axis=-1), labels, height, width)

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "mode": self.mode})
        return config


class MaxNumBoundingBoxes(ImageLayer):
    """Pads (with ``fill_value``) or truncates the boxes and labels of each image to
    ``max_number``; images pass unchanged.

    Args:
        max_number: the number of boxes per image.
        fill_value: the value of padded boxes and labels (default -1).
        bounding_box_format: the boxes' format (required, as in Keras).
    """

    _random = False
    _active_at_inference = True

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def _cast_images(self, images):
        return images

    def _images(self, images, t):
        return images

    _masks = _images

    def _call_boxes(self, bounding_boxes, t, shape, batched):
        if not self.bounding_box_format:
            raise ValueError("MaxNumBoundingBoxes received 'bounding_boxes' but no "
                             "`bounding_box_format`.")
        boxes = jnp.asarray(bounding_boxes["boxes"])
        labels = jnp.asarray(bounding_boxes["labels"])
        box_axis = boxes.ndim - 2
        keep = min(self.max_number, boxes.shape[box_axis])
        pad = self.max_number - keep
        boxes = jax.lax.slice_in_dim(boxes, 0, keep, axis=box_axis)
        labels = jax.lax.slice_in_dim(labels, 0, keep, axis=labels.ndim - 1)
        box_pads = [(0, 0)] * boxes.ndim
        box_pads[box_axis] = (0, pad)
        label_pads = [(0, 0)] * labels.ndim
        label_pads[-1] = (0, pad)
        result = dict(bounding_boxes)
        result["boxes"] = jnp.pad(boxes, box_pads, constant_values=self.fill_value)
        result["labels"] = jnp.pad(labels, label_pads, constant_values=self.fill_value)
        return result

    def get_config(self):
        config = super().get_config()
        config["max_number"] = self.max_number
        return config
