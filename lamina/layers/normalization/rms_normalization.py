"""RMSNormalization: scale inputs by the reciprocal of their root mean square."""

from __future__ import annotations

from lamina.layers.layer import Layer
from lamina.ops.nn_functions import rms_normalization


class RMSNormalization(Layer):
    """Computes ``x * rsqrt(mean(x**2, axis) + epsilon) * scale`` (Zhang and Sennrich, 2019).

    Args:
        axis: int or list/tuple of ints: the axes the mean square is taken over;
            ``scale`` has their sizes as its shape.
        epsilon: added to the mean square before the square root.

    Weights:
        scale: trainable, initialized to ones.
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, list, tuple)) or isinstance(axis, bool):
            raise TypeError("RMSNormalization expects `axis` to be an int or a list/tuple of "
                            f"ints. Received: axis={axis!r}")
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape):
        rank = len(input_shape)
        axes = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        for axis in axes:
            if not -rank <= axis < rank:
                raise ValueError(f"Layer '{self.name}' (RMSNormalization): axis {axis} is out "
                                 f"of bounds for input shape {tuple(input_shape)}.")
        self.axis = axes
        shape = tuple(input_shape[a] for a in axes)
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        return rms_normalization(inputs, scale=self.scale.value, axis=tuple(self.axis),
                                 epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config
