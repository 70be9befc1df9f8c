"""``pad_sequences``: a list of variable-length sequences as one padded NumPy array."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre",
                  truncating: str = "pre", value=0.0) -> np.ndarray:
    """Pads (or truncates) every sequence to the same length.

    Args:
        sequences: a list of sequences (lists or arrays; items may themselves be
            arrays, all of the shape of the first non-empty sequence's items).
        maxlen: the output length (default: the longest sequence's length).
        dtype: the output dtype (``object`` or a string dtype for string values).
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
        truncating: ``"pre"`` or ``"post"``: drop values from the start or the end
            of sequences longer than ``maxlen``.
        value: the padding value.

    Returns:
        An array of shape ``(len(sequences), maxlen) + item_shape``.

    Raises:
        ValueError: ``sequences`` or one of its items is not a sequence, items differ
            in shape, ``value`` is a string for a non-string dtype, or ``padding``/
            ``truncating`` is not ``"pre"``/``"post"``.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, item_shape = [], None
    for seq in sequences:
        try:
            length = len(seq)
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: "
                             f"{seq!r}") from e
        lengths.append(length)
        if item_shape is None and length:
            item_shape = np.asarray(seq).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    string_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not string_dtype:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}. Use dtype=object for variable-length strings.")
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    out = np.full((len(sequences), maxlen) + tuple(item_shape), value, dtype=dtype)
    for row, (seq, length) in enumerate(zip(sequences, lengths)):
        if not length or not maxlen:
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {row} "
                             f"is different from expected shape {tuple(item_shape)}")
        if padding == "post":
            out[row, :len(kept)] = kept
        else:
            out[row, maxlen - len(kept):] = kept
    return out
