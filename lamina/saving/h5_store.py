"""The HDF5 weights store, in Keras 3's layout, and the checks run before reading one.

Each saveable object's variables live in the group ``<path>/vars`` (``vars`` for
the root), as datasets "0".."n-1", with the object's name in the group's ``name``
attribute. :class:`H5Writer` writes such a file; :class:`H5Reader` opens one only
after checking every object in it: hard links only (no soft or external links),
no virtual datasets or external storage, plain numeric dtypes, and for every
dataset a declared size its stored bytes can hold (an unfiltered dataset must store
every byte it declares; a compressed one may not expand more than
``MAX_COMPRESSION_RATIO`` times). Every problem raises ValueError naming it.
"""

from __future__ import annotations

import collections.abc

import h5py
import numpy as np

MAX_COMPRESSION_RATIO = 1000
MAX_DATASET_BYTES = 1 << 36  # 64 GiB: no weight array is larger
MAX_OBJECTS = 1_000_000
_NUMERIC_KINDS = "biuf"


def _vars_path(path: str) -> str:
    return f"{path}/vars" if path else "vars"


class _EntryWriter:
    """The store handed to ``save_own_variables``: ``store["0"] = array``."""

    def __init__(self, group):
        self._group = group

    def __setitem__(self, key: str, value) -> None:
        value = np.asarray(value)
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"Cannot save variable {key!r} of dtype {value.dtype} at "
                             f"'{self._group.name}': only numeric arrays are written.")
        self._group.create_dataset(str(key), data=value)


class H5Writer:
    """Writes a Keras-layout weights file to ``target`` (a path or a binary file)."""

    def __init__(self, target):
        self._file = h5py.File(target, "w")

    def make(self, path: str, name: str | None) -> _EntryWriter:
        group = self._file.create_group(_vars_path(path))
        if name is not None:
            group.attrs["name"] = name
        return _EntryWriter(group)

    def close(self) -> None:
        self._file.close()


class _EntryReader(collections.abc.Mapping):
    """The store handed to ``load_own_variables``: a read-only mapping "0" -> array."""

    def __init__(self, group, where: str):
        self._group = group
        self._where = where

    def __getitem__(self, key):
        if self._group is None or str(key) not in self._group:
            raise KeyError(f"No variable {key!r} at '{self._where}' in the weights file.")
        try:
            dset = self._group[str(key)]
            if not isinstance(dset, h5py.Dataset):  # e.g. a group where a weight belongs
                raise ValueError(f"Variable {key!r} at '{self._where}' in the weights file is "
                                 f"a {type(dset).__name__}, not a dataset.")
            return np.asarray(dset[()])
        except (OSError, RuntimeError, KeyError) as e:
            raise ValueError(f"Could not read variable {key!r} at '{self._where}' in the "
                             f"weights file: {e}") from e

    def __iter__(self):
        return iter(() if self._group is None else list(self._group.keys()))

    def __len__(self) -> int:
        return 0 if self._group is None else len(self._group)


def _dataset_problem(dset: h5py.Dataset) -> str | None:
    if dset.is_virtual:
        return "is a virtual dataset (it reads other files)"
    if dset.external:
        return "keeps its data in external files"
    if dset.dtype.kind not in _NUMERIC_KINDS or dset.dtype.shape:
        return f"has dtype {dset.dtype}, not a plain numeric dtype"
    if dset.shape is None:
        return "has no shape"
    declared = int(np.prod(dset.shape, dtype=np.int64)) * dset.dtype.itemsize
    if declared > MAX_DATASET_BYTES:
        return f"declares {declared} bytes, more than any weight array"
    stored = dset.id.get_storage_size()
    if declared == 0:
        return None
    if dset.compression is None and not dset.id.get_create_plist().get_nfilters():
        if stored < declared:
            return (f"declares shape {dset.shape} ({declared} bytes) but stores only "
                    f"{stored} bytes")
    elif stored * MAX_COMPRESSION_RATIO < declared:
        return (f"declares shape {dset.shape} ({declared} bytes) from only {stored} stored "
                "bytes")
    return None


def _check_tree(group: h5py.Group, budget: list) -> None:
    for name in group:
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"The weights file holds more than {MAX_OBJECTS} objects.")
        link = group.get(name, getlink=True)
        where = f"{group.name.rstrip('/')}/{name}"
        if isinstance(link, h5py.ExternalLink):
            raise ValueError(f"The weights file has an external link at '{where}' (to "
                             f"'{link.filename}'): refused.")
        if isinstance(link, h5py.SoftLink):
            raise ValueError(f"The weights file has a soft link at '{where}': refused.")
        if not isinstance(link, h5py.HardLink):
            raise ValueError(f"The weights file has an unsupported link at '{where}'.")
        obj = group[name]
        if isinstance(obj, h5py.Dataset):
            problem = _dataset_problem(obj)
            if problem:
                raise ValueError(f"The weights file's dataset '{where}' {problem}: refused.")
        elif isinstance(obj, h5py.Group):
            _check_tree(obj, budget)
        else:
            raise ValueError(f"The weights file has an object of unsupported type at "
                             f"'{where}'.")


def check_h5_file(h5file: h5py.File) -> None:
    """Refuses (ValueError) an HDF5 file lamina should not read: external or soft links,
    virtual datasets, external storage, non-numeric dtypes, datasets that declare far
    more bytes than they store, or more than ``MAX_OBJECTS`` objects."""
    _check_tree(h5file, [MAX_OBJECTS])


class H5Reader:
    """Opens a Keras-layout weights file (a path or a binary file) after checking it."""

    def __init__(self, source, description: str = "weights file"):
        try:
            self._file = h5py.File(source, "r")
        except Exception as e:  # OSError; OverflowError and others on corrupt superblocks
            raise ValueError(f"The {description} is not a readable HDF5 file: "
                             f"{type(e).__name__}: {e}") from e
        try:
            check_h5_file(self._file)
        except ValueError:
            self._file.close()
            raise
        except Exception as e:  # h5py raises KeyError/RuntimeError on corrupt headers
            self._file.close()
            raise ValueError(f"The {description} is corrupt: {e}") from e

    def has_path(self, path: str) -> bool:
        return bool(path) and path in self._file

    def get(self, path: str) -> _EntryReader:
        where = _vars_path(path)
        group = self._file.get(where)
        if group is not None and not isinstance(group, h5py.Group):
            raise ValueError(f"The weights file's '{where}' is not a group.")
        return _EntryReader(group, where)

    def close(self) -> None:
        self._file.close()
