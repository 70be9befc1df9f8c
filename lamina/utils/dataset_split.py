"""``split_dataset``: split in-memory samples into a left and a right part."""

from __future__ import annotations

import numpy as np

from lamina import tree


def _split_sizes(left_size, right_size, total: int) -> tuple[int, int]:
    """Sample counts of the two parts, from fractions (floats in (0, 1)) or counts."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` type: expected an int, a float or None, "
                            f"received {type(size).__name__}.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if (type(size) is int and not 0 < size < total) or (
                type(size) is float and not 0 < size < 1):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must "
                         "be less than or equal to 1.")

    def count(size):
        return round(size * total) if type(size) is float else size

    left, right = count(left_size), count(right_size)
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than "
                         f"{total}. Received: left_size + right_size = {left + right}")
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(f"With a dataset of length {total}, left_size={left_size} and "
                             f"right_size={right_size}, the {side} split would be empty.")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle: bool = False,
                  seed: int | None = None, preferred_backend: str | None = None):
    """Splits samples into a left part and a right part (e.g. train and test).

    Args:
        dataset: a NumPy array, or a list/tuple/dict (possibly nested) of arrays with
            the same number of samples.
        left_size: the left part's size: a fraction (float in ``(0, 1)``) or a number
            of samples; None means what ``right_size`` leaves.
        right_size: the same for the right part; None means what ``left_size``
            leaves. When both are given and sum to less than the whole, the rest is
            dropped.
        shuffle: shuffle the samples before splitting.
        seed: the seed of the shuffle.
        preferred_backend: accepted for Keras compatibility; lamina always returns
            NumPy arrays.

    Returns:
        ``(left, right)``, each with the structure of ``dataset`` (lists become
        tuples) holding the selected samples.

    Raises:
        TypeError: ``dataset`` holds something other than arrays, or a size is not
            an int, a float or None.
        ValueError: the arrays differ in length, or the sizes are out of range.
    """
    leaves = [np.asarray(leaf) for leaf in tree.flatten(dataset)]
    if not leaves or any(leaf.ndim == 0 for leaf in leaves):
        raise TypeError("`dataset` must be a NumPy array or a list/tuple/dict of arrays, "
                        f"received {type(dataset).__name__}.")
    total = len(leaves[0])
    if any(len(leaf) != total for leaf in leaves):
        raise ValueError("All arrays of `dataset` must have the same number of samples, "
                         f"received lengths {[len(leaf) for leaf in leaves]}.")
    left, right = _split_sizes(left_size, right_size, total)
    order = np.arange(total)
    if shuffle:
        order = np.random.default_rng(seed).permutation(total)
    parts = []
    for index in (order[:left], order[left:left + right]):
        taken = [leaf[index] for leaf in leaves]
        parts.append(tree.lists_to_tuples(tree.pack_sequence_as(dataset, taken)))
    return parts[0], parts[1]
