"""InputLayer and ``Input()``: the entry points of a functional model."""

from __future__ import annotations

from lamina import dtypes
from lamina.graph import KerasTensor, Node
from lamina.layers.layer import Layer
from lamina.utils.naming import uniquify


class InputLayer(Layer):
    """The layer behind ``Input()``: it has no weights and produces one KerasTensor.

    Args:
        shape: the shape of one sample (without the batch dimension).
        batch_size: optional fixed batch size.
        dtype: the input's dtype (default float32).
        batch_shape: the full shape including the batch dimension (instead of shape).
        name: the input's name (default ``input_layer``, ``input_layer_1``, ...).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, ragged=None, **kwargs):
        # Older Keras spellings of the same arguments.
        legacy_shape = kwargs.pop("input_shape", None)
        shape = legacy_shape if shape is None else shape
        batch_shape = kwargs.pop("batch_input_shape", None) if batch_shape is None else batch_shape
        super().__init__(name=name or uniquify("input_layer"), **kwargs)
        if sparse:
            raise NotImplementedError("Sparse inputs (Input(sparse=True)) are not supported by "
                                      "lamina.")
        if ragged:
            raise NotImplementedError("Ragged inputs (Input(ragged=True)) are not supported by "
                                      "lamina.")
        if shape is not None and batch_shape is not None:
            raise ValueError("Pass either `shape` or `batch_shape` to Input, not both.")
        if input_tensor is not None:
            if not isinstance(input_tensor, KerasTensor):
                raise TypeError(f"input_tensor must be a KerasTensor, received "
                                f"{type(input_tensor).__name__}.")
            batch_shape = input_tensor.shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs a `shape` (e.g. Input(shape=(784,))), received "
                                 "none.")
            if isinstance(shape, int):
                shape = (shape,)
            if not isinstance(shape, (list, tuple)):
                raise TypeError(f"Input shape must be a tuple of ints or None, received "
                                f"{shape!r}.")
            batch_shape = (batch_size,) + tuple(shape)
        for d in batch_shape:
            if d is not None and (not isinstance(d, int) or d < 0):
                raise ValueError(f"Input '{self.name}': dimensions must be non-negative ints "
                                 f"or None, received shape {tuple(batch_shape)}.")
        self._batch_shape = tuple(batch_shape)
        self._input_dtype = dtypes.standardize(dtype or dtypes.floatx())
        self.optional = optional
        self.built = True
        tensor = KerasTensor(self._batch_shape, self._input_dtype, name=self.name)
        Node(self, (), {}, tensor)
        self.output_tensor = tensor

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def dtype(self) -> str:
        return self._input_dtype

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_shape), "dtype": self._input_dtype,
                "sparse": False, "ragged": False, "name": self.name, "optional": self.optional}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False, ragged=None) -> KerasTensor:
    """Creates a symbolic input tensor: the start of a functional model.

    Args:
        shape: the shape of one sample, e.g. ``(784,)``; ``None`` marks unknown sizes.
        batch_size: optional fixed batch size.
        dtype: the dtype of the data the model will receive (default float32).
        batch_shape: the full shape with the batch dimension, instead of ``shape``.
        name: the input's name; dict inputs to ``fit``/``predict`` are matched by it.

    Returns:
        A KerasTensor of shape ``(batch_size,) + shape``.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                       batch_shape=batch_shape, name=name, input_tensor=tensor,
                       optional=optional, ragged=ragged)
    return layer.output_tensor
