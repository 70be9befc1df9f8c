"""Regularization layers: spatial dropout, Gaussian noise/dropout, alpha dropout, activity penalty.

The random layers only act when called with ``training=True``; at inference they
return their input unchanged. Their keys come from
``lamina.random.draw_key(self, self.seed)``.
"""

from __future__ import annotations

import math

import jax

from lamina import random as lrandom
from lamina import regularizers
from lamina.layers.core import Dropout
from lamina.layers.cropping_padding import standardize_data_format
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit

# The SELU constants: alpha dropout sets dropped units to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_rate(value, arg: str) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"Invalid value received for argument `{arg}`. Expected a float value "
                         f"between 0 and 1. Received: {arg}={value}")


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel)."""

    _ndim = 3

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.input_spec = InputSpec(ndim=self._ndim)

    def _noise_shape(self, shape):
        channels_first = getattr(self, "data_format", "channels_last") == "channels_first"
        ones = (1,) * (len(shape) - 2)
        if channels_first:
            return (shape[0], shape[1]) + ones
        return (shape[0],) + ones + (shape[-1],)

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            return lrandom.dropout(inputs, self.rate, self._noise_shape(inputs.shape),
                                   seed=lrandom.draw_key(self, self.seed))
        return inputs

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(_SpatialDropout):
    """Drops entire 1D feature maps (channels) of a (batch, steps, channels) input.

    Args:
        rate: fraction of channels to drop, in [0, 1]; kept ones are scaled by
            ``1 / (1 - rate)``.
        seed: optional int for reproducible draws.
    """

    _ndim = 3


class _FormattedSpatialDropout(_SpatialDropout):
    """Spatial dropout whose channel axis is set by ``data_format``."""

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(data_format)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class SpatialDropout2D(_FormattedSpatialDropout):
    """Drops entire 2D feature maps (channels) of a 4D image batch.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: optional int for reproducible draws.
    """

    _ndim = 4


class SpatialDropout3D(_FormattedSpatialDropout):
    """Drops entire 3D feature maps (channels) of a 5D volume batch.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        seed: optional int for reproducible draws.
    """

    _ndim = 5


class GaussianNoise(BuiltAtInit, Layer):
    """Adds zero-centred Gaussian noise with standard deviation ``stddev`` in training.

    Args:
        stddev: the noise's standard deviation, in [0, 1].
        seed: optional int for reproducible draws.
    """

    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(stddev, "stddev")
        self.stddev = stddev
        self.seed = seed

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            key = lrandom.draw_key(self, self.seed)
            noise = jax.random.normal(key, inputs.shape, dtype=self.compute_dtype)
            return inputs + self.stddev * noise
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class GaussianDropout(BuiltAtInit, Layer):
    """Multiplies inputs by Gaussian noise of mean 1 in training.

    Args:
        rate: drop probability as in Dropout; the noise's standard deviation is
            ``sqrt(rate / (1 - rate))``.
        seed: optional int for reproducible draws.
    """

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate, "rate")
        self.rate = rate
        self.seed = seed

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            key = lrandom.draw_key(self, self.seed)
            noise = 1.0 + stddev * jax.random.normal(key, inputs.shape, dtype=self.compute_dtype)
            return inputs * noise
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class AlphaDropout(BuiltAtInit, Layer):
    """Dropout that keeps the mean and variance of SELU-normalized inputs.

    Dropped units are set to SELU's negative saturation value and the result is
    affinely rescaled so mean and variance are preserved.

    Args:
        rate: fraction of units to drop, in [0, 1].
        noise_shape: shape of the keep/drop mask (None entries follow the input).
        seed: optional int for reproducible draws.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate, "rate")
        self.rate = rate
        self.seed = seed
        self.noise_shape = noise_shape

    def call(self, inputs, training=False):
        if not (training and self.rate > 0):
            return inputs
        shape = inputs.shape if self.noise_shape is None else tuple(
            inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        key = lrandom.draw_key(self, self.seed)
        kept = (jax.random.uniform(key, shape) >= self.rate).astype(inputs.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * kept + alpha_p * (1 - kept)
        return a * x + b

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape})
        return config


class ActivityRegularization(BuiltAtInit, Layer):
    """Returns its input and adds ``l1 * sum(|x|) + l2 * sum(x**2)`` (per sample) as a loss.

    Args:
        l1: L1 factor (>= 0).
        l2: L2 factor (>= 0).
    """

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization"]
