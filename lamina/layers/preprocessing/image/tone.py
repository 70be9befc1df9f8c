"""Tone and detail augmentation: RandomInvert, RandomPosterization, Solarization,
RandomSharpness and RandomGaussianBlur (boxes and masks pass unchanged)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.layers.preprocessing.image.base import (
    ImageLayer,
    factor_range,
    rescale,
    uniform,
    value_range_pair,
)
from lamina.layers.preprocessing.image.color import _ColorLayer
from lamina.ops import image as image_ops
from lamina.ops.image import _depthwise


def _chance(key, batch: int, factor):
    """Per-image booleans: true with a probability drawn uniformly in ``factor``."""
    key_p, key_t = jax.random.split(key)
    return jax.random.uniform(key_t, (batch,)) < uniform(key_p, (batch,), *factor)


class RandomInvert(_ColorLayer):
    """Inverts each image (``high - x`` for ``value_range = (low, high)``) with a
    probability drawn in ``factor`` in training.

    Args:
        factor: ``f`` means a probability in ``[0, f]``; ``(1.0, 1.0)`` inverts every
            image.
        value_range: the input range (default ``(0, 255)``).
        seed, data_format: as the other image layers.
    """

    _bounds = (0, 1)
    _sorts_value_range = False

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(factor, value_range, data_format=data_format, seed=seed, **kwargs)

    def _transformation(self, images, key):
        return _chance(key, images.shape[0], self.factor)

    def _images(self, images, apply):
        return jnp.where(apply[:, None, None, None], self.value_range[1] - images, images)


class RandomPosterization(_ColorLayer):
    """Keeps only the ``b`` highest bits of each 8-bit value, ``b`` drawn per image in
    ``[lower, upper)`` of ``factor`` (in ``[1, 8]``; a single ``f`` means ``[1, f)``,
    and ``1`` keeps one bit), in training.

    Args:
        factor: the number of bits kept.
        value_range: the input range (default ``(0, 255)``).
        data_format, seed: as the other image layers.
    """

    _bounds = (1, 8)

    def _transformation(self, images, key):
        batch = images.shape[0]
        if self.factor[0] != self.factor[1]:
            bits = jax.random.randint(key, (batch,), self.factor[0], self.factor[1])
        else:
            bits = jnp.full((batch,), self.factor[0], jnp.int32)
        return (8 - bits).astype(jnp.uint8)

    def _images(self, images, shift):
        values = rescale(images, self.value_range, (0, 255)).astype(jnp.uint8)
        shift = shift[:, None, None, None]
        values = jnp.left_shift(jnp.right_shift(values, shift), shift)
        return rescale(values.astype(images.dtype), (0, 255), self.value_range)


class Solarization(ImageLayer):
    """Inverts the values above a random threshold after adding a random offset (on
    the 0-255 scale), in training.

    As in Keras, an addition drawn in ``addition_factor = (a, b)`` lies in
    ``[a, 255 b]`` and a threshold drawn in ``threshold_factor = (c, d)`` in
    ``[c, 255 d]``; the defaults (0) invert every value.

    Args:
        addition_factor: ``f`` (meaning ``(0, f)``) or a pair, in ``[0, 1]``.
        threshold_factor: ``f`` (meaning ``(0, f)``) or a pair, in ``[0, 1]``.
        value_range: the input range (default ``(0, 255)``).
        seed: an int for reproducible draws.
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._factor(addition_factor, "addition_factor")
        self.threshold_factor = self._factor(threshold_factor, "threshold_factor")
        self.value_range = value_range_pair(value_range, "Solarization")

    @staticmethod
    def _factor(factor, name):
        lower, upper = factor_range(factor, (0, 1), name, "Solarization")
        if lower < 0 or upper > 1:
            raise ValueError(f"Solarization: `{name}` must lie in [0, 1]. Received: "
                             f"{name}={factor}")
        return lower, upper

    def _transformation(self, images, key):
        key_a, key_t = jax.random.split(key)
        shape = (images.shape[0], 1, 1, 1)
        return (uniform(key_a, shape, self.addition_factor[0], self.addition_factor[1] * 255),
                uniform(key_t, shape, self.threshold_factor[0],
                        self.threshold_factor[1] * 255))

    def _images(self, images, t):
        additions, thresholds = t
        values = jnp.clip(rescale(images, self.value_range, (0, 255)) + additions, 0, 255)
        values = jnp.where(values < thresholds, values, 255 - values)
        return rescale(values, (0, 255), self.value_range).astype(images.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range,
                       "addition_factor": self.addition_factor,
                       "threshold_factor": self.threshold_factor, "seed": self.seed})
        return config


class RandomSharpness(_ColorLayer):
    """Sharpens or blurs each image in training: blends it with a 3x3 smoothed copy by
    ``1 - 2 f`` for ``f`` drawn in ``factor`` (0.5 keeps the image, above sharpens,
    below blurs).

    Args:
        factor: ``f`` (meaning ``[0, f]``) or a pair, in ``[0, 1]``.
        value_range: the input range (default ``(0, 255)``).
        data_format, seed: as the other image layers.
    """

    _bounds = (0, 1)

    def _transformation(self, images, key):
        return uniform(key, (images.shape[0],), *self.factor)

    def _images(self, images, factor):
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = jnp.asarray([[a, a, a], [a, b, a], [a, a, a]], images.dtype)
        smoothed = _depthwise(images, kernel, "constant")
        weight = (1.0 - 2.0 * factor).astype(images.dtype)[:, None, None, None]
        return self._clip(images + weight * (smoothed - images))


class RandomGaussianBlur(ImageLayer):
    """Blurs images by a Gaussian in training, each image with a probability drawn in
    ``factor``; one pair of standard deviations (width, height) drawn in ``sigma`` per
    call, as in Keras.

    Args:
        factor: ``f`` means a probability in ``[0, f]``.
        kernel_size: an odd int or a pair of odd ints.
        sigma: ``s`` (meaning ``[0, s]``) or a pair, in ``[0, 1]``.
        value_range: the input range (default ``(0, 255)``); outputs are clipped to it.
        data_format, seed: as the other image layers.
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(factor, (0, 1), "factor", "RandomGaussianBlur")
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (
            kernel_size, kernel_size)
        if len(sizes) != 2 or any(int(s) % 2 == 0 for s in sizes):
            raise ValueError(f"RandomGaussianBlur: `kernel_size` must be an odd number or two "
                             f"odd numbers. Received: kernel_size={kernel_size}")
        self.kernel_size = tuple(int(s) for s in sizes)
        self.sigma = factor_range(sigma, (0, 1), "sigma", "RandomGaussianBlur")
        self.value_range = value_range
        self._low, self._high = value_range_pair(value_range, "RandomGaussianBlur")

    def _transformation(self, images, key):
        key_apply, key_sigma = jax.random.split(key)
        return {"apply": _chance(key_apply, images.shape[0], self.factor),
                "sigma": uniform(key_sigma, (2,), *self.sigma) + 1e-6}

    def _images(self, images, t):
        blurred = image_ops.gaussian_blur(images, kernel_size=self.kernel_size,
                                          sigma=t["sigma"], data_format="channels_last")
        out = jnp.where(t["apply"][:, None, None, None], blurred.astype(images.dtype), images)
        return jnp.clip(out, self._low, self._high)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "kernel_size": self.kernel_size,
                       "sigma": self.sigma, "value_range": self.value_range,
                       "seed": self.seed})
        return config
