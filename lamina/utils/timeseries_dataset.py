"""``timeseries_dataset_from_array``: sliding windows over a timeseries, as batches of
NumPy arrays that ``fit``/``evaluate``/``predict`` accept."""

from __future__ import annotations

import numpy as np


class TimeseriesDataset:
    """A re-iterable sequence of batches of windows (see
    :func:`timeseries_dataset_from_array`).

    Iterating yields ``(windows, targets)`` batches, or ``windows`` alone when there
    are no targets; ``len()`` is the number of batches per pass. With shuffling,
    each pass visits the windows in a new order drawn from the dataset's seed.
    """

    def __init__(self, data, targets, starts: np.ndarray, offsets: np.ndarray,
                 batch_size: int | None, shuffle: bool, seed: int | None):
        self.data = data
        self.targets = targets
        self.starts = starts
        self.offsets = offsets
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def _element(self, starts):
        windows = self.data[starts[..., None] + self.offsets]
        if self.targets is None:
            return windows
        return windows, self.targets[starts]

    def __iter__(self):
        order = self._rng.permutation(self.starts) if self.shuffle else self.starts
        if self.batch_size is None:
            for start in order:
                yield self._element(np.asarray(start))
            return
        for i in range(0, len(order), self.batch_size):
            yield self._element(order[i:i + self.batch_size])


def _check_positive_below(name: str, value: int, length: int) -> None:
    if value <= 0:
        raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
    if value >= length:
        raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                         f"{name}={value}, for data of length {length}")


def timeseries_dataset_from_array(data, targets, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None, format: str = "tf"):
    """Windows of ``sequence_length`` timesteps over ``data`` (time on axis 0).

    Window ``k`` starts at ``start_index + k * sequence_stride`` and takes every
    ``sampling_rate``-th timestep; only windows lying within
    ``[start_index, end_index)`` are made. Its target is
    ``targets[start_index + k * sequence_stride]``.

    Args:
        data: an array of consecutive timesteps.
        targets: the targets (``targets[i]`` belongs to the window starting at
            ``i``), or None for inputs only.
        sequence_length: timesteps per window.
        sequence_stride: timesteps between the starts of successive windows.
        sampling_rate: timesteps between successive steps within a window.
        batch_size: windows per batch (the last batch may be smaller); None yields
            single windows.
        shuffle: visit the windows in a random order (a new one each pass).
        seed: the seed of the shuffling.
        start_index, end_index: the range of ``data`` to use (end exclusive).
        format: ``"tf"`` or ``"grain"``, accepted for Keras compatibility; lamina
            returns its own dataset of NumPy batches either way.

    Returns:
        A :class:`TimeseriesDataset`: iterable any number of times, with a length.

    Raises:
        ValueError: an index, stride or rate out of range, or an unknown ``format``.
    """
    data = np.asarray(data)
    length = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= length:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {length}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= length:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    _check_positive_below("sampling_rate", sampling_rate, length)
    _check_positive_below("sequence_stride", sequence_stride, length)
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    start_index = start_index or 0
    end_index = length if end_index is None else end_index
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets) - start_index)
    starts = start_index + np.arange(0, max(count, 0), sequence_stride)
    offsets = np.arange(sequence_length) * sampling_rate
    return TimeseriesDataset(data, targets, starts, offsets, batch_size, shuffle, seed)
