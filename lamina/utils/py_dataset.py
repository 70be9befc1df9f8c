"""``PyDataset``: a Python sequence of batches for ``fit``/``evaluate``/``predict``."""

from __future__ import annotations


class PyDataset:
    """Base class for datasets that return one batch per index.

    Subclasses implement ``__len__`` (the number of batches per epoch) and
    ``__getitem__(index)`` returning ``x``, ``(x, y)`` or ``(x, y, sample_weight)``;
    ``on_epoch_end`` runs after every epoch (e.g. to reshuffle).

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for compatibility with
            Keras; lamina reads batches in the training thread.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__.")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__.")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        """Called at the end of every epoch."""
