"""Data inputs for fit/evaluate/predict: arrays, dicts, generators, PyDataset, DataLoader.

In-memory data becomes :class:`ArrayData`: leaves of ``(x, y, sample_weight)``
as NumPy arrays with one sample count, checked before the first step, then put
on the device once; batches are gathered inside the compiled step. Anything
else (generators, PyDataset, grain, tf.data, torch loaders) becomes
:class:`StreamData`, which reads batches ahead and puts them on the device while
the current step runs (``lamina.training.prefetch``).
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable, Iterator

import jax
import numpy as np

from lamina import dtypes
from lamina.training.data_checks import unknown_key
from lamina.training.prefetch import prefetch_batches, prefetched
from lamina.training.step_state import unpack_x_y_sample_weight


def _to_numpy(x, what: str):
    """Converts one array-like (NumPy, JAX, pandas, lists of numbers) to a NumPy array."""
    if x is None:
        return None
    mod = type(x).__module__
    if mod.startswith("pandas"):
        x = x.to_numpy()
    if hasattr(x, "detach") and mod.startswith("torch"):
        x = x.detach().cpu().numpy()
    if isinstance(x, jax.Array):
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{what}: expected a numeric array, received an array of Python objects "
                        f"(shape {arr.shape}); ragged or mixed data cannot be batched.")
    if arr.dtype == np.float64:
        arr = arr.astype(dtypes.floatx())
    elif arr.dtype == np.int64:
        arr = arr.astype("int32")
    if arr.ndim == 0:
        raise ValueError(f"{what}: expected an array with a sample dimension, received a "
                         f"scalar {arr!r}.")
    return arr


def _is_dataframe(x) -> bool:
    return type(x).__module__.startswith("pandas") and hasattr(x, "columns")


def structure_inputs(model, x):
    """Arranges ``x`` as the model expects: a list in input order, a dict, or one array."""
    names = getattr(model, "input_names", None) if _functional(model) else None
    if _is_dataframe(x) and names and len(names) > 1:
        x = {c: x[c] for c in x.columns}
    if names is None:
        return _map_numpy(x, "x")
    if isinstance(x, dict):
        unknown = [k for k in x if k not in names]
        missing = [k for k in names if k not in x]
        if unknown:  # a misspelt key is also a missing one: name the key first
            raise unknown_key("input", unknown[0], names, "x")
        if missing:
            raise ValueError(f"Missing data for input {missing[0]!r}: the model expects inputs "
                             f"named {names}, received keys {list(x)}.")
        return [_to_numpy(x[k], f"input '{k}'") for k in names]
    flat = list(x) if isinstance(x, (list, tuple)) else [x]
    if len(flat) != len(names):
        raise ValueError(f"The model expects {len(names)} input(s) {names}, but the data holds "
                         f"{len(flat)} array(s).")
    return [_to_numpy(v, f"input '{k}'") for k, v in zip(names, flat)]


def structure_targets(output_names: list[str], y, what: str = "y"):
    """``y`` as a list aligned with the model's outputs (None where an output has none)."""
    if y is None:
        return None
    n = len(output_names)
    if isinstance(y, dict):
        unknown = [k for k in y if k not in output_names]
        if unknown:
            raise unknown_key("output", unknown[0], output_names, what)
        return [_to_numpy(y.get(k), f"{what} for output '{k}'") for k in output_names]
    if _is_dataframe(y) and n > 1:
        y = [y[c] for c in y.columns]
    flat = list(y) if isinstance(y, (list, tuple)) and n > 1 else (
        list(y) if isinstance(y, (list, tuple)) and len(y) == 1 and hasattr(y[0], "shape")
        else [y])
    if len(flat) != n:
        raise ValueError(f"The model has {n} output(s) {output_names}, but {what} holds "
                         f"{len(flat)} array(s).")
    return [_to_numpy(v, f"{what} for output '{k}'") for k, v in zip(output_names, flat)]


def _map_numpy(x, what):
    if isinstance(x, dict):
        return {k: _map_numpy(v, f"{what}['{k}']") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_map_numpy(v, f"{what}[{i}]") for i, v in enumerate(x)]
    return _to_numpy(x, what)


def _functional(model) -> bool:
    """Whether ``model`` is a built graph model (its inputs have names and shapes)."""
    from lamina.models.functional import Functional  # models import the trainer

    return isinstance(model, Functional) and model.built


def is_in_memory(x) -> bool:
    if x is None:
        return False
    if isinstance(x, (dict, list, tuple)):
        return all(is_in_memory(v) for v in (x.values() if isinstance(x, dict) else x))
    return isinstance(x, (np.ndarray, jax.Array, np.generic)) or hasattr(x, "__array__") or (
        type(x).__module__.startswith("pandas"))


def _leaves(structure) -> list:
    return jax.tree_util.tree_leaves(structure)


class ArrayData:
    """In-memory ``(x, y, sample_weight)`` with one sample count, checked up front.

    Attributes:
        x: model inputs (list in input order, dict, or one array), NumPy arrays.
        y: list aligned with outputs, or None.
        sample_weight: list aligned with outputs, or None.
        num_samples: the common sample count.
        pending_checks: checks of the arrays left to run, as functions of no
            arguments (``fit`` runs them while its first compiled call computes).
    """

    def __init__(self, x, y=None, sample_weight=None, input_names=None, output_names=None):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.pending_checks: list = []
        counts = {}
        for label, struct, names in (("input", x, input_names), ("target", y, output_names),
                                     ("sample_weight", sample_weight, output_names)):
            for i, leaf in enumerate(jax.tree_util.tree_leaves(struct)):
                name = names[i] if names and i < len(names) else str(i)
                counts[f"{label} '{name}'"] = int(leaf.shape[0])
        if not counts:
            raise ValueError("No data was provided: expected arrays for x.")
        sizes = set(counts.values())
        if len(sizes) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise ValueError(f"Data cardinality is ambiguous: all arrays must hold the same "
                             f"number of samples. Received sizes {detail}. Give every input, "
                             "target and sample weight one row per sample (e.g. slice them "
                             "all to the same length).")
        self.num_samples = sizes.pop()

    def split(self, validation_split: float):
        """(train, validation): the last ``validation_split`` fraction is validation."""
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), received {validation_split}.")
        at = int(math.floor(self.num_samples * (1.0 - validation_split)))
        if at == 0 or at == self.num_samples:
            raise ValueError(f"validation_split={validation_split} leaves an empty training or "
                             f"validation set for {self.num_samples} samples.")

        def cut(struct, sl):
            return jax.tree_util.tree_map(lambda a: a[sl], struct)

        first = ArrayData(cut(self.x, slice(0, at)), cut(self.y, slice(0, at)),
                          cut(self.sample_weight, slice(0, at)))
        second = ArrayData(cut(self.x, slice(at, None)), cut(self.y, slice(at, None)),
                           cut(self.sample_weight, slice(at, None)))
        return first, second

    def tree(self):
        return (self.x, self.y, self.sample_weight)

    def on_device(self):
        """The arrays on the device, transferred once (validation reuses them each epoch)."""
        if getattr(self, "_device", None) is None:
            self._device = jax.device_put(self.tree())
        return self._device


class Reiterable:
    """A source iterated anew each epoch through ``make_iterator()``, with a known
    number of batches (``length``) or None.

    ``tf.data.Dataset`` sources become one (``as_numpy_iterator``, cardinality).
    """

    def __init__(self, make_iterator: Callable[[], Iterator], length: int | None):
        self.make_iterator = make_iterator
        self.length = length

    def __iter__(self):
        return self.make_iterator()


def adapt_source(source):
    """``source`` as StreamData reads it: a ``tf.data.Dataset`` (when TensorFlow is
    loaded) becomes a :class:`Reiterable` of NumPy batches; grain datasets and
    loaders, PyDatasets, generators and other iterables are read as they are."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(source, tf.data.Dataset):
        cardinality = int(source.cardinality())
        return Reiterable(source.as_numpy_iterator, cardinality if cardinality >= 0 else None)
    return source


class StreamData:
    """Batches from a generator, iterator, PyDataset, grain dataset or loader,
    tf.data dataset or torch DataLoader.

    Each element is ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
    :meth:`epoch` reads ``prefetch`` batches ahead of the consumer in a background
    thread and starts their transfer to the device (``lamina.training.prefetch``):
    ``place`` puts one array there (``jax.device_put``; a distribution may shard).
    """

    def __init__(self, source, steps: int | None = None, shuffle_rng=None,
                 prefetch: int | None = None, place: Callable = jax.device_put):
        source = adapt_source(source)
        self.source = source
        self.prefetch = prefetch_batches() if prefetch is None else prefetch
        self.place = place
        self._leftovers: list = []  # batches read ahead but unused, yielded first next
        self.steps = steps
        # A PyDataset's batches are visited in a new random order each epoch when
        # given a generator (fit's shuffle=True), as Keras does.
        self.shuffle_rng = shuffle_rng
        self._iterator = None
        self._peeked = None  # a batch read ahead by peek(), yielded first
        self._is_pydataset = hasattr(source, "__getitem__") and hasattr(source, "__len__") and (
            hasattr(source, "on_epoch_end"))
        self._reiterable = self._is_pydataset or (
            hasattr(source, "__iter__") and not hasattr(source, "__next__"))

    @property
    def num_steps(self) -> int | None:
        """Batches per epoch: ``steps``, the source's length, or None when unknown."""
        if self.steps is not None:
            return self.steps
        if isinstance(self.source, Reiterable):
            return self.source.length
        if self._is_pydataset or hasattr(self.source, "__len__"):
            return len(self.source)
        return None

    def peek(self) -> tuple[Any, Any, Any]:
        """The first batch, without consuming it: ``(x, y, sample_weight)``."""
        if self._is_pydataset:
            return unpack_x_y_sample_weight(self.source[0])
        if self._reiterable:
            return unpack_x_y_sample_weight(next(iter(self.source)))
        if self._peeked is None:
            if self._iterator is None:
                self._iterator = self.source
            try:
                self._peeked = next(self._iterator)
            except StopIteration:
                raise ValueError("The data generator or iterator is empty: it yielded no "
                                 "batch.") from None
        return unpack_x_y_sample_weight(self._peeked)

    def epoch(self):
        """Yields the batches of one epoch (``steps`` of them when given), read ahead
        and placed on the device when ``prefetch`` > 0."""
        if not self.prefetch:
            yield from self._epoch_batches()
            return
        leftovers: list = []
        try:
            yield from prefetched(self._epoch_batches(), self.prefetch, self.place, leftovers)
        finally:
            # A re-iterable source starts afresh each epoch; a one-shot iterator
            # continues where the consumer stopped.
            if not self._is_pydataset and (not self._reiterable or self.steps is not None):
                self._leftovers = leftovers + self._leftovers

    def _epoch_batches(self):
        count = 0
        while self._leftovers and (self.steps is None or count < self.steps):
            count += 1
            yield self._leftovers.pop(0)
        if self._is_pydataset:
            size = len(self.source)
            n = size if self.steps is None else self.steps
            order = (self.shuffle_rng.permutation(size) if self.shuffle_rng is not None
                     else np.arange(size))
            for i in range(n):
                yield unpack_x_y_sample_weight(self.source[int(order[i % size])])
            self.source.on_epoch_end()
            return
        if self._reiterable and (self._iterator is None or self.steps is None):
            self._iterator = iter(self.source)
        elif self._iterator is None:
            self._iterator = iter(self.source) if not hasattr(self.source, "__next__") else (
                self.source)
        while self.steps is None or count < self.steps:
            if self._peeked is not None:
                element, self._peeked = self._peeked, None
                count += 1
                yield unpack_x_y_sample_weight(element)
                continue
            try:
                element = next(self._iterator)
            except StopIteration:
                self._iterator = None
                return
            count += 1
            yield unpack_x_y_sample_weight(element)
