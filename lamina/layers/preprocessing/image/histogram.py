"""Histogram-based contrast: Equalization, AutoContrast and
ContrastLimitedAdaptiveHistogramEqualization (boxes and masks pass unchanged)."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.preprocessing.image.base import ImageLayer, rescale, value_range_pair


class Equalization(ImageLayer):
    """Histogram equalization of each channel, in training (as in Keras, inference
    leaves images unchanged, and the histogram of a channel is taken over the whole
    batch).

    Args:
        value_range: the input range (default ``(0, 255)``).
        bins: the number of histogram bins (default 256).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _random = False

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.bins = int(bins)
        self.value_range = value_range_pair(value_range, "Equalization")

    def _equalize(self, channel):
        bins = self.bins
        index = jnp.clip((channel * (bins - 1) / 255.0).astype(jnp.int32), 0, bins - 1)
        hist = jnp.zeros((bins,), jnp.int32).at[index.reshape(-1)].add(1)
        cdf = jnp.cumsum(hist)
        cdf_min = cdf[jnp.argmax(cdf > 0)]
        denominator = cdf[-1] - cdf_min
        denominator = jnp.where(denominator == 0, 1, denominator)
        table = jnp.clip(jnp.round((cdf - cdf_min) * 255 / denominator), 0, 255)
        index = jnp.clip(channel / 255.0 * (bins - 1), 0, bins - 1).astype(jnp.int32)
        return jnp.where(jnp.count_nonzero(hist) <= 1, channel, table[index])

    def _images(self, images, t):
        values = rescale(images, self.value_range, (0, 255))
        out = jnp.stack([self._equalize(values[..., c]) for c in range(values.shape[-1])],
                        axis=-1)
        return rescale(out, (0, 255), self.value_range).astype(images.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"bins": self.bins, "value_range": self.value_range})
        return config


class AutoContrast(ImageLayer):
    """Stretches each channel of each image to the full value range (its minimum to
    the low end, its maximum to the high end); constant channels are unchanged.
    Applies at inference too, as in Keras.

    Args:
        value_range: the input range (default ``(0, 255)``).
    """

    _random = False
    _active_at_inference = True

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = value_range_pair(value_range, "AutoContrast")

    def _images(self, images, t):
        values = rescale(images, self.value_range, (0, 255))
        low = jnp.min(values, axis=(1, 2), keepdims=True)
        high = jnp.max(values, axis=(1, 2), keepdims=True)
        scale = 255.0 / (high - low)
        out = jnp.clip(values * scale - low * scale, 0.0, 255.0)
        out = rescale(out, (0, 255), self.value_range)
        return jnp.where(jnp.isnan(out), images, out).astype(images.dtype)

    def get_config(self):
        config = super().get_config()
        config["value_range"] = self.value_range
        return config


class ContrastLimitedAdaptiveHistogramEqualization(ImageLayer):
    """CLAHE: equalizes each tile of a ``tile_grid_size`` grid by its clipped histogram
    and blends the tiles' mappings bilinearly; applies at inference too, as in Keras.

    Args:
        value_range: the input range (default ``(0, 255)``).
        clip_limit: the histogram clip, as a multiple of the mean bin count; 0 or less
            disables clipping.
        tile_grid_size: ``(rows, cols)`` of tiles.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _random = False
    _active_at_inference = True

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self._range = value_range_pair(value_range, type(self).__name__)
        self.clip_limit = clip_limit
        self.tile_grid_size = tile_grid_size

    def _tile_maps(self, tiles, tile_pixels: int):
        """The equalization table (batch, rows, cols, channels, 256) of each tile."""
        levels = jnp.clip(tiles.astype(jnp.int32), 0, 255)
        hist = (levels[..., None] == jnp.arange(256)).sum(axis=-2).astype(jnp.float32)
        if self.clip_limit > 0:
            limit = self.clip_limit * tile_pixels / 256.0
            clipped = jnp.clip(hist, 0, limit)
            hist = clipped + jnp.sum(hist - clipped, axis=-1, keepdims=True) / 256.0
        cdf = jnp.cumsum(hist, axis=-1)
        cdf_min = jnp.min(cdf, axis=-1, keepdims=True)
        denominator = tile_pixels - cdf_min
        denominator = jnp.where(denominator == 0, 1.0, denominator)
        return jnp.clip((cdf - cdf_min) * 255.0 / denominator, 0, 255)

    def _images(self, images, t):
        values = rescale(images.astype(jnp.float32), self._range, (0, 255))
        batch, height, width, channels = values.shape
        rows, cols = self.tile_grid_size
        tile_h, tile_w = -(-height // rows), -(-width // cols)
        padded = jnp.pad(values, ((0, 0), (0, tile_h * rows - height),
                                  (0, tile_w * cols - width), (0, 0)), mode="symmetric")
        tiles = padded.reshape(batch, rows, tile_h, cols, tile_w, channels)
        tiles = tiles.transpose(0, 1, 3, 5, 2, 4).reshape(batch, rows, cols, channels, -1)
        maps = self._tile_maps(tiles, tile_h * tile_w)
        # Edge tiles repeated, so border pixels blend with themselves.
        maps = jnp.pad(maps, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")

        def grid(size, tile, count):
            position = (jnp.arange(size, dtype=jnp.float32) - tile / 2.0) / tile + 1.0
            low = jnp.floor(position)
            weight = position - low
            low_i = jnp.clip(low, 0, count + 1).astype(jnp.int32)
            high_i = jnp.clip(low + 1.0, 0, count + 1).astype(jnp.int32)
            return low_i, high_i, weight

        y0, y1, wy = grid(tile_h * rows, tile_h, rows)
        x0, x1, wx = grid(tile_w * cols, tile_w, cols)
        level = jnp.clip(padded, 0, 255).astype(jnp.int32)
        b = jnp.arange(batch)[:, None, None, None]
        c = jnp.arange(channels)[None, None, None, :]

        def lookup(ys, xs):
            return maps[b, ys[None, :, None, None], xs[None, None, :, None], c, level]

        wx_, wy_ = wx[None, None, :, None], wy[None, :, None, None]
        top = lookup(y0, x0) * (1.0 - wx_) + lookup(y0, x1) * wx_
        bottom = lookup(y1, x0) * (1.0 - wx_) + lookup(y1, x1) * wx_
        out = (top * (1.0 - wy_) + bottom * wy_)[:, :height, :width, :]
        return rescale(out, (0, 255), self._range).astype(images.dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"value_range": self.value_range, "clip_limit": self.clip_limit,
                       "tile_grid_size": self.tile_grid_size})
        return config
