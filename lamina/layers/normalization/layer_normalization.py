"""LayerNormalization: normalizes each example over its feature axes."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
from jax import lax

from lamina import constraints, initializers, regularizers
from lamina.layers.layer import Layer
from lamina.layers.normalization.batch_normalization import normalize, stats_dtype
from lamina.saving.serialization import serialize_keras_object as _ser


def check_axes(layer: Layer, axes, input_shape) -> None:
    """Raises ValueError naming ``layer`` when an axis is out of bounds for the shape."""
    rank = len(input_shape)
    for axis in axes:
        if not -rank <= axis < rank:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): axis {axis} is "
                             f"out of bounds for input shape {tuple(input_shape)} (rank "
                             f"{rank}). Received: axis={layer.axis}")


class LayerNormalization(Layer):
    """Normalizes each example independently over ``axis``, then scales and shifts.

    ``outputs = (x - mean) / sqrt(variance + epsilon) * gamma + beta`` with the mean
    and variance taken over ``axis`` for each example.

    Args:
        axis: int or list/tuple of ints: the axes to normalize over (and the axes of
            ``gamma``/``beta``).
        epsilon: small float added to the variance.
        center: whether to add the learned offset ``beta``.
        scale: whether to multiply by the learned ``gamma``.
        rms_scaling: deprecated Keras option: scale by ``gamma / sqrt(variance + eps)``
            without centering (the variance, not the mean square, as Keras does);
            implies ``gamma`` and no ``beta``.
        beta_initializer, gamma_initializer: zeros and ones by default.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: optional.
    """

    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        if rms_scaling:
            warnings.warn("LayerNormalization(rms_scaling=True) is deprecated (as in Keras): "
                          "it divides by the variance rather than the root mean square. Use "
                          "RMS normalization for the correct formula.", stacklevel=2)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        # Statistics are computed in float32 even under a float16 policy.
        self.autocast = False

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        check_axes(self, axes, input_shape)
        # As in Keras, the axis becomes a sorted list once built (and so in the config).
        self.axis = sorted(axes)
        shape = tuple(input_shape[d] for d in self.axis)
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}' (LayerNormalization): the normalized axes "
                             f"{self.axis} must have known sizes, received input shape "
                             f"{input_shape}.")
        self.gamma = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True,
                                         autocast=False)
        self.beta = None
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True,
                                        autocast=False)
        self.built = True

    def call(self, inputs):
        original = inputs.dtype
        x = inputs.astype(stats_dtype(inputs.dtype))
        ndim = x.ndim
        axes = sorted(self.axis if isinstance(self.axis, list) else [self.axis])
        bshape = [1] * ndim
        for d in axes:
            bshape[d] = x.shape[d]

        def bcast(var):
            if var is None:
                return None
            v = var.value.astype(x.dtype)
            # gamma/beta hold the normalized axes in sorted order; put them in place.
            if v.ndim != ndim and axes != [ndim - 1]:
                v = jnp.reshape(v, bshape)
            return v

        gamma, beta = bcast(self.gamma), bcast(self.beta)
        if self.rms_scaling:
            variance = jnp.var(x, axis=tuple(axes), keepdims=True)
            out = x * lax.rsqrt(variance + self.epsilon)
            if gamma is not None:
                out = out * gamma
        else:
            mean = jnp.mean(x, axis=tuple(axes), keepdims=True)
            variance = jnp.var(x, axis=tuple(axes), keepdims=True)
            out = normalize(x, mean, variance, beta, gamma, self.epsilon)
        return out.astype(original).astype(self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": _ser(self.beta_initializer),
            "gamma_initializer": _ser(self.gamma_initializer),
            "beta_regularizer": _ser(self.beta_regularizer),
            "gamma_regularizer": _ser(self.gamma_regularizer),
            "beta_constraint": _ser(self.beta_constraint),
            "gamma_constraint": _ser(self.gamma_constraint),
        })
        return config
