"""Cropping and zero-padding layers for 1D, 2D and 3D (sequence, image, volume) inputs."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_ORDINALS = ("1st", "2nd", "3rd")


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """An ``n``-tuple of ints from an int (repeated) or a length-``n`` sequence.

    Raises ValueError naming ``name`` when the value has the wrong length, holds
    non-integers, or holds negatives (or zeros when ``allow_zero`` is False).
    """
    msg = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, int):
        out = (value,) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(out) != n:
            raise ValueError(msg)
        for item in out:
            try:
                int(item)
            except (TypeError, ValueError):
                raise ValueError(f"{msg}including element {item} of type {type(item)}") from None
    bad = {v for v in out if (v < 0 if allow_zero else v <= 0)}
    if bad:
        need = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{msg}, including values {bad} that do not satisfy `value {need}`")
    return out


def standardize_data_format(data_format) -> str:
    """``"channels_last"`` (the default) or ``"channels_first"``; ValueError otherwise."""
    if data_format is None:
        return "channels_last"
    data_format = str(data_format).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of "
                         "{'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return data_format


def _pairs(value, rank: int, arg: str, layer: str) -> tuple:
    """Per spatial dim ``(before, after)`` pairs from an int, ints or pairs (Keras rules)."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"`{arg}` cannot be negative. Received: {arg}={value}.")
        return ((value, value),) * rank
    if not hasattr(value, "__len__"):
        raise ValueError(f"`{arg}` of {layer} should be either an int, a tuple of {rank} ints "
                         f"or a tuple of {rank} tuples of 2 ints. Received: {arg}={value}.")
    if len(value) != rank:
        raise ValueError(f"`{arg}` should have {rank} elements. Received: {arg}={value}.")
    return tuple(standardize_tuple(v, 2, f"{_ORDINALS[i]} entry of {arg}", allow_zero=True)
                 for i, v in enumerate(value))


def _spatial_axes(rank: int, data_format: str) -> list[int]:
    start = 2 if data_format == "channels_first" else 1
    return list(range(start, start + rank))


class _Cropping(Layer):
    """Shared logic: crops ``cropping[i]`` from the start/end of each spatial axis."""

    _rank = 1

    def _crop_pairs(self):
        return self.cropping

    def _check(self, shape) -> None:
        axes = _spatial_axes(self._rank, self.data_format)
        for axis, (start, end) in zip(axes, self._crop_pairs()):
            if axis < len(shape) and shape[axis] is not None and start + end >= shape[axis]:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): values in `cropping` must be "
                    f"smaller than the corresponding spatial dimension of the input. Received: "
                    f"input shape={tuple(shape)}, cropping={self.cropping}")

    def build(self, input_shape):
        self._check(tuple(input_shape))
        self.built = True

    def call(self, inputs):
        self._check(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (start, end) in zip(_spatial_axes(self._rank, self.data_format),
                                      self._crop_pairs()):
            index[axis] = slice(start, inputs.shape[axis] - end)
        return inputs[tuple(index)]


class Cropping1D(_Cropping):
    """Crops a (batch, axis_to_crop, features) input along its time axis.

    Args:
        cropping: int or pair of ints: how many entries to remove at the start and
            end of the cropping axis (an int crops the same amount at both ends).
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=3)

    def _crop_pairs(self):
        return (self.cropping,)

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


class Cropping2D(_Cropping):
    """Crops an image batch along height and width.

    Args:
        cropping: int (same crop everywhere), pair of ints (symmetric height and
            width crops) or pair of pairs ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` (default, (batch, h, w, c)) or
            ``"channels_first"`` ((batch, c, h, w)).
    """

    _rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = _pairs(cropping, 2, "cropping", "Cropping2D")
        self.input_spec = InputSpec(ndim=4)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class Cropping3D(_Cropping):
    """Crops a volume batch along its three spatial axes.

    Args:
        cropping: int, triple of ints (symmetric crops) or triple of pairs
            ``((before, after), ...)`` for each spatial axis.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = _pairs(cropping, 3, "cropping", "Cropping3D")
        self.input_spec = InputSpec(ndim=5)

    def get_config(self):
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config


class _ZeroPadding(Layer):
    """Shared logic: pads each spatial axis with ``padding[i]`` zeros before/after."""

    _rank = 1

    def _pad_pairs(self):
        return self.padding

    def call(self, inputs):
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(_spatial_axes(self._rank, self.data_format), self._pad_pairs()):
            widths[axis] = tuple(pair)
        return jnp.pad(inputs, widths)

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


class ZeroPadding1D(_ZeroPadding):
    """Pads the time axis of a 3D input with zeros.

    Args:
        padding: int (same on both ends) or pair ``(left, right)``.
        data_format: ``"channels_last"`` (default, (batch, steps, features)) or
            ``"channels_first"`` ((batch, features, steps)).
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)
        self.input_spec = InputSpec(ndim=3)

    def _pad_pairs(self):
        return (self.padding,)


class ZeroPadding2D(_ZeroPadding):
    """Pads the height and width of an image batch with zeros.

    Args:
        padding: int, pair of ints (symmetric) or ``((top, bottom), (left, right))``.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pairs(padding, 2, "padding", "ZeroPadding2D")
        self.input_spec = InputSpec(ndim=4)


class ZeroPadding3D(_ZeroPadding):
    """Pads the three spatial axes of a volume batch with zeros.

    Args:
        padding: int, triple of ints (symmetric) or triple of ``(before, after)`` pairs.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = _pairs(padding, 3, "padding", "ZeroPadding3D")
        self.input_spec = InputSpec(ndim=5)
