"""Augmentations that mix or cut images: MixUp, CutMix and RandomErasing."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina.layers.preprocessing.image.base import (
    ImageLayer,
    factor_range,
    uniform,
    value_range_pair,
)


def _rectangles(key, batch: int, height: int, width: int, ratio_x, ratio_y):
    """Per-image rectangles of ``ratio`` times the image size at random positions, as
    a boolean mask (batch, height, width, 1) and their areas (pixels, fractional)."""
    key_x, key_y = jax.random.split(key)

    def bounds(k, length, ratio):
        size = ratio * length
        start = jax.random.uniform(k, (batch,)) * (length - size)
        return start[:, None, None, None], (start + size)[:, None, None, None]

    x0, x1 = bounds(key_x, width, ratio_x)
    y0, y1 = bounds(key_y, height, ratio_y)
    ys = jnp.arange(height, dtype=jnp.float32)[None, :, None, None]
    xs = jnp.arange(width, dtype=jnp.float32)[None, None, :, None]
    inside = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    return inside, ((x1 - x0) * (y1 - y0)).reshape(batch)


def _blend(a, b, weight):
    weight = weight.reshape((-1,) + (1,) * (a.ndim - 1)).astype(a.dtype)
    return weight * a + (1.0 - weight) * b


class MixUp(ImageLayer):
    """MixUp in training: each image (and its one-hot ``"labels"``) is blended with
    another image of the batch by a weight drawn from Beta(alpha, alpha).

    Boxes of the two images are concatenated along the box axis; masks are blended.

    Args:
        alpha: the Beta distribution's parameter (default 0.2).
        data_format, seed: as the other image layers.
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.alpha = alpha

    def _transformation(self, images, key):
        key_perm, key_w = jax.random.split(key)
        batch = images.shape[0]
        return {"order": jax.random.permutation(key_perm, batch),
                "weight": jax.random.beta(key_w, self.alpha, self.alpha, (batch,))}

    def _images(self, images, t):
        return _blend(images, images[t["order"]], t["weight"])

    def _labels(self, labels, t):
        return _blend(labels.astype(jnp.float32), labels[t["order"]].astype(jnp.float32),
                      t["weight"])

    def _masks(self, masks, t):
        masks = masks.astype(jnp.float32)
        return _blend(masks, masks[t["order"]], t["weight"])

    def _boxes(self, boxes, labels, t, size):
        order = t["order"]
        return (jnp.concatenate([boxes, boxes[order]], axis=1),
                jnp.concatenate([labels, labels[order]], axis=1))

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "seed": self.seed})
        return config


class CutMix(ImageLayer):
    """CutMix in training: a random rectangle of each image is replaced by the same
    rectangle of another image of the batch, and ``"labels"`` are blended by the
    remaining area. Bounding boxes are not supported (as in Keras).

    Args:
        factor: the range of the Beta parameter of the cut area (``f`` means
            ``[0, f]``), in ``[0, 1]``.
        seed, data_format: as the other image layers.
    """

    _supports_boxes = False

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(factor, (0, 1), "factor", "CutMix")

    def _transformation(self, images, key):
        batch, height, width = images.shape[:3]
        key_a, key_w, key_box, key_perm = jax.random.split(key, 4)
        alpha = uniform(key_a, (), *self.factor) + 1e-6
        ratio = jnp.sqrt(1.0 - jax.random.beta(key_w, alpha, alpha, (batch,)))
        inside, area = _rectangles(key_box, batch, height, width, ratio, ratio)
        return {"order": jax.random.permutation(key_perm, batch), "inside": inside,
                "weight": 1.0 - area / (height * width)}

    def _images(self, images, t):
        return jnp.where(t["inside"], images[t["order"]], images)

    _masks = _images

    def _labels(self, labels, t):
        return _blend(labels.astype(jnp.float32), labels[t["order"]].astype(jnp.float32),
                      t["weight"])

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "seed": self.seed})
        return config


class RandomErasing(ImageLayer):
    """Erases a random rectangle of each image, with a probability drawn in ``factor``,
    in training: its area fraction per side is the square root of a value drawn in
    ``scale``, and it is filled with ``fill_value`` (Gaussian noise times the range's
    top when None), clipped to ``value_range``.

    Args:
        factor: ``f`` means an erasing probability in ``[0, f]``.
        scale: the range of the erased area fraction (default ``(0.02, 0.33)``).
        fill_value: None, a number, or three numbers (one per channel).
        value_range: the input range (default ``(0, 255)``).
        seed, data_format: as the other image layers.
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(factor, (0, 1), "factor", "RandomErasing")
        self.scale = factor_range(scale, (0, 1), "scale", "RandomErasing")
        if fill_value is not None and not (
                isinstance(fill_value, (int, float)) or (
                    isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError(f"RandomErasing: `fill_value` should be None, a number or a list "
                             f"of three numbers. Received: fill_value={fill_value}")
        self.fill_value = fill_value
        self.value_range = value_range
        self._low, self._high = value_range_pair(value_range, "RandomErasing")

    def _transformation(self, images, key):
        batch, height, width = images.shape[:3]
        key_s, key_box, key_p, key_t, key_fill = jax.random.split(key, 5)
        sides = jnp.sqrt(uniform(key_s, (batch, 2), *self.scale))
        inside, _ = _rectangles(key_box, batch, height, width, sides[:, 0], sides[:, 1])
        apply = jax.random.uniform(key_t, (batch,)) < uniform(key_p, (batch,), *self.factor)
        if self.fill_value is None:
            fill = jax.random.normal(key_fill, images.shape, images.dtype) * self._high
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, images.dtype), images.shape)
        return {"erase": inside & apply[:, None, None, None],
                "fill": jnp.clip(fill, self._low, self._high)}

    def _images(self, images, t):
        return jnp.where(t["erase"], t["fill"].astype(images.dtype), images)

    def get_config(self):
        config = super().get_config()
        config.update({"factor": self.factor, "scale": self.scale,
                       "fill_value": self.fill_value, "value_range": self.value_range,
                       "seed": self.seed})
        return config
