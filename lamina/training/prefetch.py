"""Double buffering for streamed input: the next batches are read and put on the
device while the current step runs.

A background thread pulls ``(x, y, sample_weight)`` batches from a stream (a
generator, PyDataset, grain loader, tf.data dataset...), converts their arrays as
the trainer would (``float64`` to floatx, ``int64`` to ``int32``) and starts their
transfer with ``jax.device_put`` (asynchronous), keeping up to ``depth`` batches
ready in a queue. The training loop takes them from the queue, so a slow source
(file reads, decoding, augmentation in NumPy, anything that releases the GIL) runs
while the device computes. Pure-Python work that holds the GIL cannot overlap with
the loop's own Python; grain's ``worker_count`` moves such work to processes.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

import jax
import numpy as np

from lamina import dtypes

_SETTINGS = {"batches": 2}


def prefetch_batches() -> int:
    """How many streamed batches are read ahead of the running step (0: none)."""
    return _SETTINGS["batches"]


def set_prefetch_batches(n: int) -> None:
    """Sets how many streamed batches ``fit``/``evaluate``/``predict`` read ahead
    (default 2, double buffering; 0 reads each batch when the step needs it).

    Raises:
        ValueError: ``n`` is not an int >= 0.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"The number of prefetched batches must be an int >= 0, received "
                         f"{n!r}.")
    _SETTINGS["batches"] = n


def to_device(batch, place: Callable = jax.device_put):
    """``batch`` with its numeric arrays converted as the trainer converts them and
    handed to ``place`` (an asynchronous transfer); other leaves unchanged."""
    def leaf(x):
        if isinstance(x, jax.Array):
            return x
        arr = np.asarray(x) if isinstance(x, (np.ndarray, np.generic)) else None
        if arr is None or arr.dtype.kind not in "biuf":
            return x
        if arr.dtype == np.float64:
            arr = arr.astype(dtypes.floatx())
        elif arr.dtype == np.int64:
            arr = arr.astype("int32")
        return place(arr)

    return jax.tree_util.tree_map(leaf, batch)


class _Producer(threading.Thread):
    """Reads ``batches`` into ``slots`` until they end, an error, or ``stop``."""

    def __init__(self, batches: Iterator, depth: int, place: Callable):
        super().__init__(daemon=True, name="lamina-prefetch")
        self.batches = batches
        self.slots: queue.Queue = queue.Queue(maxsize=depth)
        self.place = place
        self.stop = threading.Event()
        self.unqueued = []  # a batch read when the consumer stopped, kept for it

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        self.unqueued.append(item)
        return False

    def run(self) -> None:
        try:
            for batch in self.batches:
                if not self._put(("batch", to_device(batch, self.place))):
                    return
            self._put(("end", None))
        except BaseException as error:  # handed to the consuming thread
            self._put(("error", error))
        finally:
            self.batches.close()


def prefetched(batches: Iterator, depth: int, place: Callable, leftovers: list) -> Iterator:
    """Yields the batches of the generator ``batches``, read ``depth`` ahead in a
    background thread and placed on the device.

    When the consumer stops early (``stop_training``, ``steps`` reached), batches
    already read but not used are appended to ``leftovers`` (the stream yields them
    first next time, so a one-shot iterator loses none).
    """
    producer = _Producer(batches, depth, place)
    producer.start()
    try:
        while True:
            kind, item = producer.slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        producer.stop.set()
        producer.join()
        while True:
            try:
                kind, item = producer.slots.get_nowait()
            except queue.Empty:
                break
            if kind == "batch":
                leftovers.append(item)
        leftovers.extend(item for kind, item in producer.unqueued if kind == "batch")
