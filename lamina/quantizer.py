"""``Quantizer``: the base class of quantizers (``keras.Quantizer``)."""

from __future__ import annotations


class Quantizer:
    """Maps a tensor to its quantized form; subclasses implement ``__call__`` and
    ``get_config``.

    Args:
        output_dtype: the dtype of the quantized values (default ``"int8"``).
    """

    def __init__(self, output_dtype: str = "int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        """The quantized ``x``; the base class returns ``x`` unchanged."""
        return x

    @classmethod
    def from_config(cls, config: dict):
        """A quantizer built from the output of :meth:`get_config`."""
        return cls(**config)

    def get_config(self) -> dict:
        """The constructor arguments as a dict; subclasses must implement it."""
        raise NotImplementedError(f"{self} does not implement get_config()")
