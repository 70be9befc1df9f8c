"""Activation layers with options: ReLU, LeakyReLU, PReLU, ELU, Softmax."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import activations, constraints, dtypes, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.layer_utils import BuiltAtInit
from lamina.saving.serialization import serialize_keras_object as _ser


class ReLU(BuiltAtInit, Layer):
    """Rectified linear unit with optional cap, leak and threshold.

    Computes ``max_value`` if ``x >= max_value``, ``x`` if
    ``threshold <= x < max_value`` and ``negative_slope * (x - threshold)`` otherwise.

    Args:
        max_value: optional non-negative cap on the output.
        negative_slope: non-negative slope below the threshold (default 0).
        threshold: non-negative threshold below which values are damped.
    """

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. Received: "
                             f"max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold

    def call(self, inputs):
        if self.max_value == 6 and self.threshold == 0:
            # Keras uses the native relu6 here, whose gradient at exactly 6 is 0.
            out = jax.nn.relu6(inputs)
            if self.negative_slope:
                out = out - self.negative_slope * jax.nn.relu(-inputs)
            return out
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(BuiltAtInit, Layer):
    """Leaky ReLU: ``x`` for ``x >= 0`` and ``negative_slope * x`` otherwise.

    Args:
        negative_slope: non-negative slope for negative inputs (default 0.3).
            The deprecated keyword ``alpha`` is accepted in its place.
    """

    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x >= 0`` and ``alpha * x`` otherwise, ``alpha`` learned.

    Args:
        alpha_initializer: initializer of the weights (default zeros).
        alpha_regularizer, alpha_constraint: optional, for the weights.
        shared_axes: 1-based axes along which one alpha is shared, e.g. ``[1, 2]``
            for one alpha per channel of (batch, height, width, channels) inputs.
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"Layer '{self.name}' (PReLU): shared_axes entries must be in "
                                 f"[1, {len(input_shape) - 1}] for inputs of shape "
                                 f"{tuple(input_shape)}, received shared_axes="
                                 f"{self.shared_axes}.")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"Layer '{self.name}' (PReLU): the non-shared axes of the input "
                             f"must be known, received shape {tuple(input_shape)}; pass "
                             "shared_axes for the unknown ones.")
        self.alpha = self.add_weight(shape=param_shape, name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            axes = {i: input_shape[i] for i in range(1, len(input_shape))
                    if i not in self.shared_axes}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        alpha = self.alpha.value.astype(inputs.dtype)
        return jax.nn.relu(inputs) - alpha * jax.nn.relu(-inputs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": _ser(self.alpha_initializer),
            "alpha_regularizer": _ser(self.alpha_regularizer),
            "alpha_constraint": _ser(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config


class ELU(BuiltAtInit, Layer):
    """Exponential linear unit: ``x`` for ``x > 0`` and ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: scale of the negative part (default 1.0).
    """

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


def _large_negative(dtype) -> float:
    # Large enough to vanish after exp, small enough not to overflow float16.
    return -3e4 if dtypes.standardize(dtype) == "float16" else -1e9


class Softmax(BuiltAtInit, Layer):
    """Softmax over ``axis``; positions where ``mask`` is False get probability 0.

    Args:
        axis: int or tuple of ints, the axes normalized over (default -1).

    Call arguments:
        inputs: the logits.
        mask: optional boolean (or 0/1) array broadcastable to ``inputs``; masked
            positions are excluded from the normalization and output as 0.
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(
                    m != 1 and m != i for m, i in zip(mask.shape[::-1], inputs.shape[::-1])):
                raise ValueError(
                    f"Layer '{self.name}' (Softmax): the `mask` must be broadcastable to "
                    f"`inputs` (each mask dimension 1 or equal to the input's, and no more "
                    f"dimensions). Received: inputs.shape={tuple(inputs.shape)}, "
                    f"mask.shape={tuple(mask.shape)}")
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            inputs = jnp.where(mask, inputs, _large_negative(inputs.dtype))
        if isinstance(self.axis, (tuple, list)) and len(self.axis) > 1:
            axis = tuple(self.axis)
            outputs = jnp.exp(inputs - jax.nn.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, (tuple, list)) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = jnp.where(mask, outputs, jnp.zeros((), outputs.dtype))
        return outputs

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
