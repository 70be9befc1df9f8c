"""Colour augmentation: RandomBrightness, RandomContrast, RandomHue,
RandomSaturation, RandomColorDegeneration, RandomGrayscale and RandomColorJitter.

Colour layers leave bounding boxes and segmentation masks unchanged. ``value_range``
is the range of the input values (e.g. ``(0, 255)`` or ``(0, 1)``); outputs are
clipped to it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.backend import epsilon
from lamina.layers.preprocessing.image.base import (
    ImageLayer,
    factor_range,
    rescale,
    uniform,
    value_range_pair,
)
from lamina.ops import image as image_ops


def _gray(images):
    return image_ops.rgb_to_grayscale(images, data_format="channels_last")


class _ColorLayer(ImageLayer):
    """A colour layer with a ``factor`` range, a ``value_range`` and a ``seed``."""

    _bounds = (-1, 1)
    # Keras keeps some layers' value_range as given and sorts others'.
    _sorts_value_range = True

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        name = type(self).__name__
        self.factor = factor_range(factor, self._bounds, "factor", name)
        sorted_range = value_range_pair(value_range, name)
        self.value_range = sorted_range if self._sorts_value_range else value_range
        self._low, self._high = sorted_range

    def _clip(self, images):
        return jnp.clip(images, self._low, self._high)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "value_range": self.value_range,
                       "seed": self.seed})
        return config


class RandomBrightness(_ColorLayer):
    """Adds a random brightness offset to each image in training: a fraction drawn in
    ``factor`` (``f`` means ``[-f, f]``, values in ``[-1, 1]``) of the value range.

    Args:
        factor: the range of the offset as a fraction of ``value_range``.
        value_range: the input range (default ``(0, 255)``).
        seed: an int for reproducible draws.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed=seed, **kwargs)

    def _transformation(self, images, key):
        delta = uniform(key, (images.shape[0], 1, 1, 1), *self.factor)
        return delta * (self._high - self._low)

    def _images(self, images, delta):
        return self._clip(images + delta.astype(images.dtype))


class RandomContrast(_ColorLayer):
    """Scales each image's deviation from its per-channel mean by a random factor in
    ``[1 - lower, 1 + upper]`` in training.

    Args:
        factor: ``f`` or ``(lower, upper)``, in ``[0, 1]``.
        value_range: the input range (default ``(0, 255)``).
        seed: an int for reproducible draws.
    """

    _bounds = (0, 1)
    _sorts_value_range = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed=seed, **kwargs)

    def _transformation(self, images, key):
        return uniform(key, (images.shape[0], 1, 1, 1), 1.0 - self.factor[0],
                       1.0 + self.factor[1], images.dtype)

    def _images(self, images, factor):
        mean = jnp.mean(images, axis=(1, 2), keepdims=True)
        return self._clip((images - mean) * factor + mean)


class RandomHue(_ColorLayer):
    """Rotates the hue of each image by a random amount in training: up to half a
    turn times a factor drawn in ``factor`` (in ``[0, 1]``), in a random direction.

    Args:
        factor: ``f`` or ``(lower, upper)``, in ``[0, 1]``.
        value_range: the input range (default ``(0, 255)``).
        data_format, seed: as the other image layers.
    """

    _bounds = (0, 1)
    _sorts_value_range = False

    def _transformation(self, images, key):
        key_sign, key_f = jax.random.split(key)
        batch = images.shape[0]
        sign = jnp.where(jax.random.uniform(key_sign, (batch,)) > 0.5, -1.0, 1.0)
        return sign * uniform(key_f, (batch,), *self.factor) * 0.5

    def _images(self, images, shift):
        unit = rescale(images, self.value_range, (0, 1))
        hsv = image_ops.rgb_to_hsv(unit, data_format="channels_last")
        hue = hsv[..., 0] + shift[:, None, None].astype(hsv.dtype)
        hue = jnp.where(hue > 1.0, hue - 1.0, hue)
        hue = jnp.where(hue < 0.0, hue + 1.0, hue)
        hsv = jnp.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1)
        rgb = jnp.clip(image_ops.hsv_to_rgb(hsv, data_format="channels_last"), 0.0, 1.0)
        return rescale(rgb, (0, 1), self.value_range).astype(images.dtype)


class RandomSaturation(_ColorLayer):
    """Scales the saturation of each image by ``f / (1 - f)`` for ``f`` drawn in
    ``factor`` in training: 0.5 keeps the image, 0 makes it gray, 1 saturates it.

    Args:
        factor: ``f`` (meaning ``[-f, f]``) or ``(lower, upper)``, in ``[-1, 1]``.
        value_range: the input range (default ``(0, 255)``).
        data_format, seed: as the other image layers.
    """

    def _transformation(self, images, key):
        factor = uniform(key, (images.shape[0],), *self.factor)
        return factor / (1.0 - factor + epsilon())

    def _images(self, images, factor):
        hsv = image_ops.rgb_to_hsv(images, data_format="channels_last")
        saturation = jnp.clip(hsv[..., 1] * factor[:, None, None].astype(hsv.dtype),
                              self._low, self._high)
        hsv = jnp.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1)
        return image_ops.hsv_to_rgb(hsv, data_format="channels_last").astype(images.dtype)


class RandomColorDegeneration(_ColorLayer):
    """Blends each image towards its grayscale version by a factor drawn in ``factor``
    (in ``[-1, 1]``; 1 is fully gray) in training.

    Args:
        factor: ``f`` (meaning ``[-f, f]``) or ``(lower, upper)``.
        value_range: the input range (default ``(0, 255)``).
        data_format, seed: as the other image layers.
    """

    def _transformation(self, images, key):
        return uniform(key, (images.shape[0], 1, 1, 1), *self.factor)

    def _images(self, images, factor):
        return self._clip(images + factor.astype(images.dtype) * (_gray(images) - images))


class RandomGrayscale(ImageLayer):
    """Turns each image gray (all channels equal to its luma) with probability
    ``factor`` in training.

    Args:
        factor: the probability, in ``[0, 1]`` (default 0.5).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: an int for reproducible draws (not saved in the config, as in Keras).
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale: `factor` should be between 0 and 1. "
                             f"Received: factor={factor}")
        self.factor = factor

    def _transformation(self, images, key):
        return jax.random.uniform(key, (images.shape[0], 1, 1, 1)) < self.factor

    def _images(self, images, apply):
        return jnp.where(apply, _gray(images), images)

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


class RandomColorJitter(ImageLayer):
    """Applies RandomBrightness, RandomContrast, RandomSaturation and RandomHue (those
    whose factor is given), in that order, in training.

    Args:
        value_range: the input range (default ``(0, 255)``).
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the
            factors of the four layers (None leaves that one out).
        seed: an int for reproducible draws.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        steps = ((RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor))
        self._steps = [cls(factor, value_range=value_range, seed=seed)
                       for cls, factor in steps if factor is not None]

    def _class_named_sublayers(self) -> list:
        return self._steps

    def _transformation(self, images, key):
        return list(jax.random.split(key, max(len(self._steps), 1)))

    def _images(self, images, keys):
        for layer, key in zip(self._steps, keys):
            images = layer._images(images, layer._transformation(images, key))
        return images.astype(self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range,
                       "brightness_factor": self.brightness_factor,
                       "contrast_factor": self.contrast_factor,
                       "saturation_factor": self.saturation_factor,
                       "hue_factor": self.hue_factor, "seed": self.seed})
        return config
