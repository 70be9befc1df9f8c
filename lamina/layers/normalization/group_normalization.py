"""GroupNormalization: normalizes each example over groups of channels."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from lamina import constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.normalization.batch_normalization import stats_dtype
from lamina.saving.serialization import serialize_keras_object as _ser


class GroupNormalization(Layer):
    """Splits the channels into ``groups`` and normalizes each group of each example.

    With ``groups=1`` this is layer normalization over all non-batch axes; with
    ``groups=-1`` (one group per channel) it is instance normalization.

    Args:
        groups: number of groups (must divide the number of channels), or -1.
        axis: the channels axis.
        epsilon: small float added to the variance.
        center: whether to add the learned offset ``beta``.
        scale: whether to multiply by the learned ``gamma``.
        beta_initializer, gamma_initializer: zeros and ones by default.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: optional.
    """

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if not isinstance(groups, int) or isinstance(groups, bool) or (
                groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups}")
        super().__init__(**kwargs)
        self.autocast = False
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        if not -rank <= self.axis < rank or rank < 2:
            raise ValueError(f"Layer '{self.name}' (GroupNormalization): axis {self.axis} is "
                             f"out of bounds for input shape {input_shape}.")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Layer '{self.name}': axis {self.axis} of input tensor should "
                             "have a defined dimension but the layer received an input with "
                             f"shape {input_shape}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Layer '{self.name}': number of groups ({self.groups}) cannot be "
                             f"more than the number of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Layer '{self.name}': number of groups ({self.groups}) must be a "
                             f"multiple of the number of channels ({dim}).")
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self.gamma = None
        if self.scale:
            self.gamma = self.add_weight(shape=(dim,), name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, autocast=False)
        self.beta = None
        if self.center:
            self.beta = self.add_weight(shape=(dim,), name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, autocast=False)
        self.built = True

    def call(self, inputs):
        shape = inputs.shape
        axis = self.axis % inputs.ndim
        channels = shape[axis]
        # (..., C, ...) -> (..., groups, C // groups, ...)
        grouped_shape = shape[:axis] + (self.groups, channels // self.groups) + shape[axis + 1:]
        x = inputs.reshape(grouped_shape).astype(stats_dtype(inputs.dtype))
        # Reduce over everything but the batch and the group axis.
        axes = tuple(i for i in range(1, x.ndim) if i != axis)
        mean = jnp.mean(x, axis=axes, keepdims=True)
        variance = jnp.var(x, axis=axes, keepdims=True)
        bshape = [1] * x.ndim
        bshape[axis], bshape[axis + 1] = self.groups, channels // self.groups
        inv = lax.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * jnp.reshape(self.gamma.value, bshape).astype(x.dtype)
        res = -mean * inv
        if self.beta is not None:
            res = res + jnp.reshape(self.beta.value, bshape).astype(x.dtype)
        out = (x * inv + res).astype(inputs.dtype)
        return out.reshape(shape).astype(self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser(self.beta_initializer),
            "gamma_initializer": _ser(self.gamma_initializer),
            "beta_regularizer": _ser(self.beta_regularizer),
            "gamma_regularizer": _ser(self.gamma_regularizer),
            "beta_constraint": _ser(self.beta_constraint),
            "gamma_constraint": _ser(self.gamma_constraint),
        })
        return config
