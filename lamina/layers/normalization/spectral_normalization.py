"""SpectralNormalization: divides a wrapped layer's kernel by its spectral norm."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from lamina import initializers
from lamina.graph import KerasTensor
from lamina.layers.input_spec import InputSpec
from lamina.layers.wrappers import Wrapper


def _unit(x):
    """``x`` scaled to unit L2 norm over all its entries (as Keras's ``normalize``)."""
    inv = jnp.minimum(lax.rsqrt(jnp.sum(jnp.square(x))), 1.0 / 1e-7)
    return x * inv


class SpectralNormalization(Wrapper):
    """Constrains the spectral norm of a wrapped layer's kernel (Miyato et al., 2018).

    In training, ``power_iterations`` steps of the power method estimate the largest
    singular value ``sigma`` of the kernel (reshaped to ``(-1, units)``), and the
    layer runs with ``kernel / sigma``; the estimate's vector ``vector_u`` is kept as a
    non-trainable weight. At inference the layer runs with its kernel as stored.

    As with Keras on JAX inside ``fit`` (``stateless_call`` returns only the new
    non-trainable values), the normalized kernel is used for the call but not written
    back into the trainable kernel.

    Args:
        layer: a layer with a ``kernel`` (Dense, Conv...) or ``embeddings`` attribute.
        power_iterations: number of power-method steps per training call (>= 1).
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.layer.built:
            self.layer._maybe_build((KerasTensor(input_shape),), {})
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        if hasattr(self.layer, "kernel"):
            kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            kernel = self.layer.embeddings
        else:
            raise ValueError(f"Layer '{self.name}': {type(self.layer).__name__} object has no "
                             "attribute 'kernel' nor 'embeddings'")
        # Tracking the kernel here puts it first in `weights`, before vector_u (as Keras).
        self.kernel = kernel
        self.kernel_shape = kernel.shape
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u", dtype=kernel.dtype)
        self.built = True

    def normalized_weights(self):
        """``(new vector_u, kernel / sigma)`` after ``power_iterations`` power-method steps."""
        kernel = self.kernel.value
        weights = jnp.reshape(kernel, (-1, self.kernel_shape[-1]))
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _unit(u @ weights.T)
            u = _unit(v @ weights)
        u, v = lax.stop_gradient(u), lax.stop_gradient(v)
        sigma = (v @ weights) @ u.T
        new_kernel = jnp.reshape(kernel / sigma, self.kernel_shape)
        return u.astype(self.vector_u.dtype), new_kernel.astype(self.kernel.dtype)

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            # An all-zero kernel has no spectral norm: leave it (and u) unchanged.
            zero = jnp.all(self.kernel.value == 0)
            self.vector_u.assign(jnp.where(zero, self.vector_u.value, new_u))
            self.kernel.assign(jnp.where(zero, self.kernel.value, new_kernel))
        output = self.layer(inputs)
        return output.astype(inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["power_iterations"] = self.power_iterations
        return config
