"""Argument checks and window arithmetic shared by convolution and pooling layers.

Every check raises ValueError naming the argument, the expected form and the
value received, at construction time.
"""

from __future__ import annotations

import numbers

_DATA_FORMATS = ("channels_last", "channels_first")


def default_data_format() -> str:
    """The global image data format (``lamina.backend.image_data_format()`` when it exists)."""
    try:
        from lamina import backend  # noqa: PLC0415 - optional, may not be written yet

        fn = getattr(backend, "image_data_format", None)
        if fn is not None:
            return str(fn())
    except ImportError:
        pass
    return "channels_last"


def standardize_data_format(data_format) -> str:
    """Returns ``"channels_last"`` or ``"channels_first"`` (None gives the global default)."""
    if data_format is None:
        return default_data_format()
    value = str(data_format).lower() if isinstance(data_format, str) else data_format
    if value not in _DATA_FORMATS:
        raise ValueError(f"The `data_format` argument must be one of {set(_DATA_FORMATS)}. "
                         f"Received: data_format={data_format!r}")
    return value


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """Turns an int or a sequence of ``n`` ints into a tuple of ``n`` Python ints.

    Args:
        value: an int (repeated ``n`` times) or a list/tuple of ``n`` ints.
        n: the number of spatial dimensions.
        name: the argument's name, for error messages.
        allow_zero: accept 0 (e.g. ``output_padding``); otherwise values must be > 0.

    Returns:
        A tuple of ``n`` ints.
    """
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
        values = tuple(int(v) for v in value)
        if len(values) != n:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value!r} ({len(values)} values).")
    else:
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {n} integers. "
                         f"Received {name}={value!r}")
    bad = [v for v in values if v < 0 or (v == 0 and not allow_zero)]
    if bad:
        cond = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers {cond}. "
                         f"Received {name}={value!r}, including values {set(bad)} that are "
                         f"not {cond}.")
    return values


def standardize_padding(padding, allow_causal: bool = False) -> str:
    """Returns the lower-case padding mode: ``"valid"``, ``"same"`` (or ``"causal"``)."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ValueError(f"The `padding` argument must be one of {allowed}. "
                         f"Received: padding={padding!r}")
    return value


def check_positive_int(value, name: str) -> int:
    """Returns ``value`` if it is an int > 0, else raises ValueError naming ``name``."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly positive "
                         f"integer. Received {name}={value!r}.")
    return int(value)


def check_strides_and_dilation(strides: tuple, dilation_rate: tuple) -> None:
    """Keras's convolutions refuse strides > 1 together with dilation > 1."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         f"Received: strides={strides} and dilation_rate={dilation_rate}")


def effective_kernel_size(kernel: int, dilation: int) -> int:
    """The span of a dilated kernel: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def conv_output_length(length, kernel: int, padding: str, stride: int,
                       dilation: int = 1):
    """The length of one spatial axis after a convolution or pooling window.

    ``"same"`` gives ``ceil(length / stride)``; ``"valid"`` (and ``"causal"`` after its
    left padding, which keeps the length) counts the full windows. None stays None.
    """
    if length is None:
        return None
    span = effective_kernel_size(kernel, dilation)
    if padding == "same":
        return -(-length // stride)
    if padding == "causal":
        length = length + span - 1
    return (length - span) // stride + 1


def conv_transpose_output_length(length, kernel: int, padding: str, stride: int,
                                 output_padding=None, dilation: int = 1):
    """The length of one spatial axis after a transposed convolution.

    Without ``output_padding``: ``"same"`` gives ``length * stride``, ``"valid"`` gives
    ``length * stride + max(span - stride, 0)``. With it, the length is
    ``(length - 1) * stride + span - 2 * pad + output_padding`` where ``pad`` is 0 for
    ``"valid"`` and ``span // 2`` for ``"same"``.
    """
    if length is None:
        return None
    span = effective_kernel_size(kernel, dilation)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(span - stride, 0)
        return length * stride
    pad = span // 2 if padding == "same" else 0
    return (length - 1) * stride + span - 2 * pad + output_padding


def conv_transpose_padding(length: int, kernel: int, padding: str, stride: int,
                           output_padding=None, dilation: int = 1) -> tuple[int, int]:
    """The (low, high) padding of the stride-dilated input for a transposed convolution.

    A transposed convolution is the gradient of a forward convolution from the output
    length ``n`` back to ``length``. That forward convolution pads ``p = max((length - 1)
    * stride + span - n, 0)`` cells, ``p // 2`` of them at the start; the transpose
    therefore pads ``span - 1 - p // 2`` at the start of the dilated input, and at the end
    whatever makes the result ``n`` long.
    """
    span = effective_kernel_size(kernel, dilation)
    n = conv_transpose_output_length(length, kernel, padding, stride, output_padding, dilation)
    forward_pad = max((length - 1) * stride + span - n, 0)
    low = span - 1 - forward_pad // 2
    high = n - ((length - 1) * stride + 1) - low + span - 1
    return low, high


def spatial_dimension_numbers(rank: int, data_format: str) -> tuple[str, str, str]:
    """``jax.lax`` dimension numbers (input, kernel, output) for a rank-``rank`` conv.

    Kernels are always stored spatial-first, channels-last (``HWIO``), as in Keras.
    """
    spatial = "DHW"[-rank:] if rank <= 3 else None
    if spatial is None:
        raise ValueError(f"Convolutions of rank {rank} are not supported (expected 1, 2 or 3).")
    io = "NC" + spatial if data_format == "channels_first" else "N" + spatial + "C"
    return io, spatial + "IO", io
