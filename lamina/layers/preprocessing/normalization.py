"""Normalization: shift and scale features by a mean and variance (given or adapted)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina.layers.layer import Layer

# Keras's backend epsilon: the floor on the standard deviation.
_EPSILON = 1e-7


def _first_array(batch):
    """The features of a batch that may be an ``(x, y)`` or ``(x, y, w)`` tuple."""
    if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
        return batch[0]
    return batch


class Normalization(Layer):
    """Computes ``(inputs - mean) / sqrt(variance)`` per position of the kept ``axis``.

    The statistics are either passed in (``mean``/``variance``) or computed from
    data with :meth:`adapt` (then stored in the non-trainable weights ``mean``,
    ``variance`` and ``count``, which Keras also has).

    Args:
        axis: int, tuple of ints or None: the axes that keep separate statistics
            (default -1, the features axis); None means one mean and variance
            for everything.
        mean, variance: optional statistics (scalars or arrays broadcastable to the
            kept axes); both or neither.
        invert: if True, apply the inverse transform ``inputs * std + mean``.
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape {np.shape(mean)} "
                                 f"and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number "
                                 f"of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")
        self._fixed_stats = None

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Layer '{self.name}' (Normalization): all `axis` values must be "
                             f"in the range [-ndim, ndim). Received inputs with ndim={ndim}, "
                             f"while axis={self.axis}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"Layer '{self.name}' (Normalization): all `axis` values to be "
                                 f"kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={tuple(input_shape)}, with unknown axis at "
                                 f"index {d}")
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[d] for d in keep)
        self._build_input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance",
                                                  shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32",
                                         initializer="zeros", trainable=False)
        else:
            self._fixed_stats = tuple(self._expand(np.asarray(v, np.float64), ndim)
                                      for v in (self.input_mean, self.input_variance))
        self.built = True

    def _expand(self, value: np.ndarray, ndim: int) -> np.ndarray:
        """Places a statistic's trailing axes on the kept axes and broadcasts it."""
        if value.ndim:
            shape = [1] * ndim
            for i in range(1, value.ndim + 1):
                shape[self._keep_axis[-i]] = value.shape[-i]
            value = value.reshape(shape)
        return np.broadcast_to(value, self._broadcast_shape)

    def _stats(self):
        dtype = self.compute_dtype
        if self._fixed_stats is not None:
            return tuple(jnp.asarray(v, dtype) for v in self._fixed_stats)
        mean = self.adapt_mean.value.reshape(self._broadcast_shape).astype(dtype)
        variance = self.adapt_variance.value.reshape(self._broadcast_shape).astype(dtype)
        return mean, variance

    @property
    def mean(self):
        """The mean broadcast to the inputs' rank (None before the layer is built)."""
        return self._stats()[0] if self.built else None

    @property
    def variance(self):
        """The variance broadcast to the inputs' rank (None before the layer is built)."""
        return self._stats()[1] if self.built else None

    def call(self, inputs):
        inputs = jnp.asarray(inputs, self.compute_dtype)
        mean, variance = self._stats()
        std = jnp.maximum(jnp.sqrt(variance), _EPSILON)
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def adapt(self, data) -> None:
        """Computes the mean and variance of ``data`` along the non-kept axes.

        Args:
            data: a NumPy or JAX array holding all samples, or an iterable of
                batches (arrays, or ``(x, ...)`` tuples whose first entry is used);
                batched statistics are combined exactly.
        """
        if isinstance(data, (np.ndarray, jax.Array)):
            batches, shape = None, tuple(data.shape)
        elif hasattr(data, "__iter__"):
            batches = [_first_array(b) for b in data]
            if not batches:
                raise ValueError("adapt() received an empty iterable (no batches). Expected at "
                                 "least one batch.")
            if not hasattr(batches[0], "shape"):
                batches = [np.asarray(b) for b in batches]
            shape = tuple(batches[0].shape)
        else:
            raise TypeError(f"Unsupported data type: {type(data)}. `adapt` supports NumPy "
                            "arrays, JAX arrays and iterables of batches.")
        if not self.built:
            self._build_shapes = {"input_shape": shape}
            self.build(shape)
        else:
            for d in self._keep_axis:
                if shape[d] != self._build_input_shape[d]:
                    raise ValueError(f"The layer was built with input_shape="
                                     f"{self._build_input_shape}, but adapt() is being called "
                                     f"with data with an incompatible shape, data.shape={shape}")
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' (Normalization) was given `mean` and "
                             "`variance`; it cannot also be adapted.")
        if batches is None:
            lib = np if isinstance(data, np.ndarray) else jnp
            mean = lib.mean(data, axis=self._reduce_axis)
            var = lib.var(data, axis=self._reduce_axis)
        else:
            mean, var = self._streaming_moments(batches)
        self.adapt_mean.assign(jnp.asarray(mean, self.adapt_mean.dtype))
        self.adapt_variance.assign(jnp.asarray(var, self.adapt_variance.dtype))

    def _streaming_moments(self, batches):
        """Mean and variance combined batch by batch (parallel-variance update)."""
        mean = jnp.zeros(self._mean_and_var_shape)
        var = jnp.zeros(self._mean_and_var_shape)
        total = 0
        for batch in batches:
            batch = jnp.asarray(batch, self.compute_dtype)
            for d in self._keep_axis:
                if batch.shape[d] != self._build_input_shape[d]:
                    raise ValueError(f"adapt() yielded a batch with incompatible shape. Expected "
                                     f"{self._build_input_shape}, got {tuple(batch.shape)}.")
            count = math.prod(batch.shape[d] for d in self._reduce_axis)
            b_mean = jnp.mean(batch, axis=self._reduce_axis)
            b_var = jnp.var(batch, axis=self._reduce_axis)
            total += count
            w_new = float(count) / total
            w_old = 1.0 - w_new
            new_mean = mean * w_old + b_mean * w_new
            var = (var + (mean - new_mean) ** 2) * w_old + (b_var + (b_mean - new_mean) ** 2) * w_new
            mean = new_mean
        return mean, var

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        })
        return config
