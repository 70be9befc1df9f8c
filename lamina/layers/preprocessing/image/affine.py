"""Geometric augmentation by resampling: RandomRotation, RandomTranslation,
RandomZoom, RandomShear (affine maps), RandomPerspective (projective maps) and
RandomElasticTransform (smooth random displacement fields).

Each image gets its own map from output pixels to input pixels; boxes are moved by
the inverse map (the bounding box of their mapped corners, clipped to the image)
and segmentation masks by the same map with nearest-neighbour sampling, so images,
boxes and masks stay aligned.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from lamina.layers.preprocessing.image import boxes as box_utils
from lamina.layers.preprocessing.image.base import (
    ImageLayer,
    factor_range,
    symmetric_range,
    uniform,
)
from lamina.ops import image as image_ops
from lamina.ops.image import _depthwise, _gaussian_1d, _homographies, _sample

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _check_options(layer: str, interpolation, fill_mode=None, fill_modes=_FILL_MODES):
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(f"{layer}: unknown `interpolation` {interpolation!r}. "
                                  f"Expected one of {_INTERPOLATIONS}.")
    if fill_mode is not None and fill_mode not in fill_modes:
        raise NotImplementedError(f"{layer}: unknown `fill_mode` {fill_mode!r}. Expected one "
                                  f"of {fill_modes}.")


def _square(params):
    """(batch, 8) projective parameters as (batch, 3, 3) matrices."""
    ones = jnp.ones(params.shape[:-1] + (1,), params.dtype)
    return jnp.concatenate([params, ones], axis=-1).reshape(params.shape[:-1] + (3, 3))


def _keep_dtype(out, like):
    if jnp.issubdtype(like.dtype, jnp.integer):
        return jnp.round(out).astype(like.dtype)
    return out.astype(like.dtype)


class _AffineLayer(ImageLayer):
    """An augmentation by one affine map per image (``_params``: (batch, 8) Keras
    transform parameters mapping output points to input points)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        _check_options(type(self).__name__, interpolation, fill_mode)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _params(self, batch: int, height: int, width: int, key):
        raise NotImplementedError(f"{type(self).__name__} does not implement _params.")

    def _transformation(self, images, key):
        return self._params(images.shape[0], images.shape[1], images.shape[2], key)

    def _warp(self, images, params, interpolation):
        return image_ops.affine_transform(images, params, interpolation=interpolation,
                                          fill_mode=self.fill_mode,
                                          fill_value=self.fill_value,
                                          data_format="channels_last")

    def _images(self, images, params):
        return self._warp(images, params, self.interpolation).astype(images.dtype)

    def _masks(self, masks, params):
        return _keep_dtype(self._warp(masks, params, "nearest"), masks)

    def _boxes(self, boxes, labels, params, size):
        forward = jnp.linalg.inv(_square(params.astype(jnp.float32)))
        return box_utils.clip(box_utils.map_corners(boxes, forward), labels, *size)

    def get_config(self):
        config = super().get_config()
        config.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                       "seed": self.seed, "fill_value": self.fill_value})
        return config


def _affine_params(angle, shear_x, shear_y, scale, translate_x, translate_y, height, width):
    """Keras's transform parameters for a rotation (degrees), shears (degrees), scale and
    translation (pixels) about the image centre."""
    angle = angle * math.pi / 180.0
    sx, sy = jnp.tan(shear_x * math.pi / 180.0), jnp.tan(shear_y * math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    a0, a1 = scale * (cos + sx * sin), scale * (-sin + sx * cos)
    b0, b1 = scale * (sy * cos + sin), scale * (-sy * sin + cos)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = jnp.zeros_like(a0)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=-1)


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle about its centre in training.

    Args:
        factor: a fraction of a full turn: ``f`` draws angles in ``[-f, f] * 360``
            degrees, a pair ``(a, b)`` in ``[a, b] * 360``.
        fill_mode: ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        seed: an int for reproducible draws.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_range(factor, (-1, 1), "factor", "RandomRotation")

    def _params(self, batch, height, width, key):
        angle = uniform(key, (batch,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        zeros = jnp.zeros_like(angle)
        return _affine_params(angle, zeros, zeros, 1.0, zeros, zeros, height, width)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its size in training.

    Args:
        height_factor, width_factor: ``f`` draws shifts in ``[-f, f]`` times the
            height (width), a pair ``(a, b)`` in ``[a, b]``; values in ``[-1, 1]``.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = symmetric_range(height_factor, "height_factor",
                                            "RandomTranslation")
        self.width_range = symmetric_range(width_factor, "width_factor", "RandomTranslation")

    def _params(self, batch, height, width, key):
        key_h, key_w = jax.random.split(key)
        dy = uniform(key_h, (batch,), *self.height_range) * height
        dx = uniform(key_w, (batch,), *self.width_range) * width
        ones, zeros = jnp.ones_like(dx), jnp.zeros_like(dx)
        return jnp.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomZoom(_AffineLayer):
    """Zooms each image by a random factor about its centre in training.

    Args:
        height_factor: ``f`` draws vertical zooms in ``[-f, f]``, a pair ``(a, b)`` in
            ``[a, b]``; positive values zoom out (the image shrinks by ``1 + f``),
            negative ones zoom in. Values in ``(-1, 1]``.
        width_factor: the same horizontally; None (default) keeps the aspect ratio.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomRotation.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = symmetric_range(height_factor, "height_factor", "RandomZoom",
                                            low_inclusive=False)
        self.width_range = None if width_factor is None else symmetric_range(
            width_factor, "width_factor", "RandomZoom", low_inclusive=False)

    def _params(self, batch, height, width, key):
        key_h, key_w = jax.random.split(key)
        zoom_y = 1.0 + uniform(key_h, (batch,), *self.height_range)
        zoom_x = zoom_y if self.width_range is None else 1.0 + uniform(
            key_w, (batch,), *self.width_range)
        zeros = jnp.zeros_like(zoom_x)
        return jnp.stack([zoom_x, zeros, (width - 1) / 2.0 * (1.0 - zoom_x), zeros, zoom_y,
                          (height - 1) / 2.0 * (1.0 - zoom_y), zeros, zeros], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config


class RandomShear(_AffineLayer):
    """Shears each image by random amounts in training (one random sign for both axes
    of an image, as in Keras).

    Args:
        x_factor, y_factor: ``f`` draws shear coefficients in ``[-f, f]``, a pair
            ``(a, b)`` in ``[a, b]``; values in ``[0, 1]``.
        interpolation, fill_mode, fill_value, data_format, seed: as RandomRotation.
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        # A number must lie in [0, 1]; a pair (as the config stores the range) in [-1, 1].
        self.x_factor = symmetric_range(x_factor, "x_factor", "RandomShear",
                                        low=-1.0 if isinstance(x_factor, (tuple, list)) else 0.0)
        self.y_factor = symmetric_range(y_factor, "y_factor", "RandomShear",
                                        low=-1.0 if isinstance(y_factor, (tuple, list)) else 0.0)

    def _params(self, batch, height, width, key):
        key_sign, key_y, key_x = jax.random.split(key, 3)
        sign = jnp.where(jax.random.uniform(key_sign, (batch,)) > 0.5, -1.0, 1.0)
        shear_y = uniform(key_y, (batch,), *self.y_factor) * sign
        shear_x = uniform(key_x, (batch,), *self.x_factor) * sign
        ones, zeros = jnp.ones_like(sign), jnp.zeros_like(sign)
        return jnp.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"x_factor": self.x_factor, "y_factor": self.y_factor})
        return config


def _apply_where(apply, new, old):
    return jnp.where(apply.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)


class RandomPerspective(ImageLayer):
    """Warps images by random perspective transforms in training: each corner moves by
    up to ``scale / 2`` of the image size.

    Args:
        factor: the probability range of applying the warp (``f`` means each image is
            warped with a probability drawn uniformly in ``[0, f]``).
        scale: the corner displacement, in ``[0, 1]``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_value: the value outside the warped image.
        seed: an int for reproducible draws.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(factor, (0, 1), "factor", "RandomPerspective")
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective: `scale` should be a number in [0, 1]. "
                             f"Received: scale={scale}")
        _check_options("RandomPerspective", interpolation)
        self.scale = scale
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _transformation(self, images, key):
        batch, height, width = images.shape[:3]
        key_p, key_t, key_f = jax.random.split(key, 3)
        apply = jax.random.uniform(key_t, (batch,)) < uniform(key_p, (batch,), *self.factor)
        shift = uniform(key_f, (batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        start = jnp.asarray([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1],
                             [width - 1, height - 1]], jnp.float32)
        start = jnp.broadcast_to(start, (batch, 4, 2))
        return {"apply": apply, "start": start, "end": start + start * shift}

    def _warp(self, images, t, interpolation):
        out = image_ops.perspective_transform(images, t["start"], t["end"],
                                              interpolation=interpolation,
                                              fill_value=self.fill_value,
                                              data_format="channels_last")
        return _apply_where(t["apply"], _keep_dtype(out, images), images)

    def _images(self, images, t):
        return self._warp(images, t, self.interpolation)

    def _masks(self, masks, t):
        return self._warp(masks, t, "nearest")

    def _boxes(self, boxes, labels, t, size):
        # The map taking each image's start points to its end points (input to output).
        forward = _square(_homographies(t["end"], t["start"]))
        moved = box_utils.map_corners(boxes, forward)
        return box_utils.clip(_apply_where(t["apply"], moved, boxes), labels, *size)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale,
                       "interpolation": self.interpolation, "fill_value": self.fill_value,
                       "seed": self.seed})
        return config


class RandomElasticTransform(ImageLayer):
    """Distorts images by smooth random displacement fields in training.

    Each field is Gaussian noise blurred by a Gaussian of standard deviation
    ``sigma = 0.05 * min(height, width) * s`` and scaled by
    ``alpha = 0.1 * max(height, width) * s``, with one distortion ``s`` drawn in
    ``scale`` per call, as in Keras. lamina computes the blur with the kernel size of
    the largest possible ``sigma`` (so the layer compiles with a random ``s``).
    Bounding boxes pass unchanged, as in Keras; masks follow the same fields.

    Args:
        factor: the probability range of distorting an image.
        scale: the distortion range, in ``[0, 1]``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode: ``"reflect"`` (default), ``"constant"``, ``"nearest"``, ``"wrap"``
            or ``"mirror"``.
        fill_value: the value outside the image with ``fill_mode="constant"``.
        value_range: the images' value range; outputs are clipped to it.
        seed: an int for reproducible draws.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(factor, (0, 1), "factor", "RandomElasticTransform")
        self.scale = factor_range(scale, (0, 1), "scale", "RandomElasticTransform")
        _check_options("RandomElasticTransform", interpolation, fill_mode, self._FILL_MODES)
        self.interpolation = interpolation
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.value_range = value_range

    def _transformation(self, images, key):
        if self.scale[1] == 0 or self.factor[1] == 0:
            return None
        batch, height, width = images.shape[:3]
        key_p, key_t, key_s, key_x, key_y = jax.random.split(key, 5)
        apply = jax.random.uniform(key_t, (batch,)) < uniform(key_p, (batch,), *self.factor)
        distortion = uniform(key_s, (), *self.scale)
        alpha = max(height, width) * 0.1 * distortion
        sigma = min(height, width) * 0.05 * distortion + 1e-6
        size = int(6 * min(height, width) * 0.05 * self.scale[1]) | 1
        kernel_1d = _gaussian_1d(size, sigma, jnp.float32)
        kernel = jnp.outer(kernel_1d, kernel_1d)

        def field(k):
            noise = jax.random.normal(k, (batch, height, width, 1)) * sigma
            return _depthwise(noise, kernel, "constant")[..., 0] * alpha

        rows, cols = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32),
                                  jnp.arange(width, dtype=jnp.float32), indexing="ij")
        return {"apply": apply, "rows": rows + field(key_y), "cols": cols + field(key_x)}

    def _warp(self, images, t, interpolation):
        if t is None:
            return images
        order = 0 if interpolation == "nearest" else 1
        out = _sample(images.astype(jnp.float32), t["rows"], t["cols"], order, self.fill_mode,
                      self.fill_value)
        return _apply_where(t["apply"], _keep_dtype(out, images), images)

    def _images(self, images, t):
        out = self._warp(images, t, self.interpolation)
        return jnp.clip(out, self.value_range[0], self.value_range[1]).astype(images.dtype)

    def _masks(self, masks, t):
        return self._warp(masks, t, "nearest")

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale,
                       "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                       "fill_value": self.fill_value, "value_range": self.value_range,
                       "seed": self.seed})
        return config
