"""BatchNormalization: normalizes with batch statistics in training, moving ones at inference."""

from __future__ import annotations

import sys

import jax.numpy as jnp
from jax import lax

from lamina import constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.saving.serialization import serialize_keras_object as _ser

_DEFAULT_FUZZ = 1e-7


def fuzz_epsilon() -> float:
    """Keras's global fuzz factor (``backend.epsilon()``, ``1e-7`` by default)."""
    backend = sys.modules.get("lamina.backend")
    getter = getattr(backend, "epsilon", None)
    return float(getter()) if callable(getter) else _DEFAULT_FUZZ


def stats_dtype(dtype):
    """The dtype statistics are computed in: at least float32 (half inputs are upcast)."""
    return jnp.promote_types(dtype, jnp.float32)


def normalize(x, mean, variance, offset, scale, epsilon: float):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, in Keras's operation order.

    All statistics must already broadcast against ``x``; ``offset``/``scale`` may be None.
    """
    inv = lax.rsqrt(variance + epsilon)
    if scale is not None:
        inv = inv * scale
    res = -mean * inv
    if offset is not None:
        res = res + offset
    return x * inv + res


class BatchNormalization(Layer):
    """Normalizes inputs over the batch (and all axes but ``axis``).

    In training (``training=True`` on a trainable layer) the layer normalizes with
    the mean and variance of the current batch and updates its moving statistics:
    ``moving = moving * momentum + batch_stat * (1 - momentum)``. At inference, or
    whenever ``layer.trainable`` is False (as in Keras 3, a frozen BatchNormalization
    runs in inference mode), it uses the moving statistics.

    Args:
        axis: the features axis (int); statistics are per entry of this axis.
        momentum: momentum of the moving average.
        epsilon: small float added to the variance.
        center: whether to add the learned offset ``beta``.
        scale: whether to multiply by the learned ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
            moving_variance_initializer: initializers (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint:
            optional.
        renorm: whether to use Batch Renormalization (extra moving statistics).
        renorm_clipping: dict with optional ``rmax``, ``rmin``, ``dmax`` clipping the
            renorm corrections.
        renorm_momentum: momentum of the renorm moving statistics.
        synchronized: cross-replica statistics; only supported by Keras's TensorFlow
            backend, so True raises ValueError here as it does in Keras on JAX.

    Call arguments:
        inputs: a tensor of any rank.
        training: whether to use (and update) batch statistics.
        mask: optional boolean tensor of the inputs' shape without the last axis;
            masked-out entries do not count in the batch statistics.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) or isinstance(axis, bool):
            raise TypeError(f"BatchNormalization 'axis' must be an int, received {axis!r}.")
        self.axis = int(axis)
        if synchronized:
            raise ValueError("Argument synchronized=True is only supported with the "
                             "TensorFlow backend.")
        self.synchronized = synchronized
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = renorm
        if renorm:
            renorm_clipping = renorm_clipping or {}
            unknown = set(renorm_clipping) - {"rmax", "rmin", "dmax"}
            if unknown:
                raise ValueError(f"Received invalid keys for `renorm_clipping` argument: "
                                 f"{renorm_clipping}. Supported values: "
                                 "['rmax', 'rmin', 'dmax'].")
            rmax, rmin = renorm_clipping.get("rmax"), renorm_clipping.get("rmin")
            dmax = renorm_clipping.get("dmax")
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"rmax should be greater than rmin in the `renorm_clipping` "
                                 f"argument. Received: rmax={rmax}, rmin={rmin}.")
            if dmax is not None and dmax < 0:
                raise ValueError(f"dmax should be non-negative in the `renorm_clipping` "
                                 f"argument. Received: dmax={dmax}.")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduction_axes = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"Layer '{self.name}' (BatchNormalization): axis {self.axis} is "
                             f"out of bounds for input shape {input_shape}.")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Layer '{self.name}' (BatchNormalization): axis {self.axis} of "
                             f"the input must have a known size, received shape "
                             f"{input_shape}.")
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, name="gamma",
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True,
                                         autocast=False)
        if self.center:
            self.beta = self.add_weight(shape=shape, name="beta",
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True,
                                        autocast=False)
        self.moving_mean = self.add_weight(shape=shape, name="moving_mean",
                                           initializer=self.moving_mean_initializer,
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=shape, name="moving_variance",
                                               initializer=self.moving_variance_initializer,
                                               trainable=False, autocast=False)
        if self.renorm:
            variance_init = self.moving_variance_initializer

            def stddev_init(shape, dtype=None):
                return jnp.sqrt(jnp.asarray(variance_init(shape, dtype=dtype)))

            self.moving_stddev = self.add_weight(shape=shape, name="moving_stddev",
                                                 initializer=stddev_init, trainable=False,
                                                 autocast=False)
            self.renorm_mean = self.add_weight(shape=shape, name="renorm_mean",
                                               initializer=self.moving_mean_initializer,
                                               trainable=False, autocast=False)
            self.renorm_stddev = self.add_weight(shape=shape, name="renorm_stddev",
                                                 initializer=stddev_init, trainable=False,
                                                 autocast=False)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        axis = self.axis % rank
        self._reduction_axes = [i for i in range(rank) if i != axis]
        self.built = True

    # -- statistics ---------------------------------------------------------------
    def _moments(self, inputs, mask):
        axes = tuple(self._reduction_axes)
        if mask is None:
            return jnp.mean(inputs, axis=axes), jnp.var(inputs, axis=axes)
        # Weighted moments over the unmasked entries; the mask covers all axes but the
        # last and is broadcast over it.
        keep = jnp.broadcast_to(jnp.expand_dims(mask, -1), inputs.shape).astype(bool)
        weights = keep.astype(inputs.dtype)
        count = jnp.sum(weights, axis=axes, keepdims=True) + fuzz_epsilon()
        mean = jnp.sum(jnp.where(keep, inputs, 0), axis=axes, keepdims=True) / count
        diff = jnp.where(keep, inputs - mean, 0)
        variance = jnp.sum(jnp.square(diff), axis=axes, keepdims=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def _renorm_step(self, mean, variance, gamma, beta, dtype):
        """Batch renorm: the corrected (gamma, beta) and the updated statistics."""
        stddev = jnp.sqrt(variance + self.epsilon)
        renorm_mean = self.renorm_mean.value.astype(mean.dtype)
        renorm_stddev = jnp.maximum(self.renorm_stddev.value.astype(mean.dtype),
                                    jnp.sqrt(jnp.asarray(self.epsilon, mean.dtype)))
        r = stddev / renorm_stddev
        d = (mean - renorm_mean) / renorm_stddev
        clip = self.renorm_clipping or {}
        if clip.get("rmin") is not None:
            r = jnp.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = jnp.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = jnp.clip(d, -clip["dmax"], clip["dmax"])
        r, d = lax.stop_gradient(r), lax.stop_gradient(d)
        if gamma is not None:
            new_gamma, new_beta = r * gamma, d * gamma
        else:
            new_gamma, new_beta = r.astype(dtype), d.astype(dtype)
        if beta is not None:
            new_beta = new_beta + beta

        rm = self.renorm_momentum
        self.renorm_mean.assign(renorm_mean * rm + mean * (1.0 - rm))
        self.renorm_stddev.assign(self.renorm_stddev.value.astype(mean.dtype) * rm
                                  + stddev * (1.0 - rm))
        m = self.momentum
        self.moving_mean.assign(self.moving_mean.value.astype(mean.dtype) * m
                                + mean * (1.0 - m))
        moving_stddev = (self.moving_stddev.value.astype(mean.dtype) * m
                         + stddev * (1.0 - m))
        self.moving_stddev.assign(moving_stddev)
        # The variance follows from the stddev; rounding may push it below zero.
        self.moving_variance.assign(jnp.maximum(moving_stddev * moving_stddev - self.epsilon,
                                                0.0))
        return new_gamma, new_beta

    def call(self, inputs, training=None, mask=None):
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(f"Layer '{self.name}': the mask provided should be one dimension "
                             f"less than the inputs. Received: mask.shape={mask.shape}, "
                             f"inputs.shape={inputs.shape}")
        dtype = stats_dtype(inputs.dtype)
        inputs = inputs.astype(dtype)
        moving_mean = self.moving_mean.value.astype(dtype)
        moving_variance = self.moving_variance.value.astype(dtype)
        gamma = self.gamma.value.astype(dtype) if self.scale else None
        beta = self.beta.value.astype(dtype) if self.center else None

        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            if self.renorm:
                gamma, beta = self._renorm_step(mean, variance, gamma, beta, dtype)
            else:
                m = self.momentum
                self.moving_mean.assign(moving_mean * m + mean * (1.0 - m))
                self.moving_variance.assign(moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = moving_mean, moving_variance

        shape = [1] * inputs.ndim
        shape[self.axis] = inputs.shape[self.axis]

        def bcast(v):
            return None if v is None else jnp.reshape(v, shape)

        outputs = normalize(inputs, bcast(mean), bcast(variance), bcast(beta), bcast(gamma),
                            self.epsilon)
        return outputs.astype(self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _ser(self.beta_initializer),
            "gamma_initializer": _ser(self.gamma_initializer),
            "moving_mean_initializer": _ser(self.moving_mean_initializer),
            "moving_variance_initializer": _ser(self.moving_variance_initializer),
            "beta_regularizer": _ser(self.beta_regularizer),
            "gamma_regularizer": _ser(self.gamma_regularizer),
            "beta_constraint": _ser(self.beta_constraint),
            "gamma_constraint": _ser(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config
