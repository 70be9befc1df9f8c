"""The file ``BackupAndRestore`` keeps: one ``FitPosition`` in one HDF5 file.

Layout (lamina's own, not a Keras format):

- root attributes ``format`` (``"lamina.fit_backup"``) and ``version`` (1);
- dataset ``meta``: the UTF-8 bytes of a JSON object of the counters: epoch, step,
  the order generator's state, the history and the plan;
- groups ``trainable_variables``, ``non_trainable_variables``,
  ``optimizer_variables`` and ``metrics_variables`` holding datasets ``"0"``,
  ``"1"``..., plus datasets ``rng_key`` and (inside a shuffled epoch) ``order``.

Arrays whose dtype HDF5 lacks (bfloat16, float8...) are stored as unsigned integers
of the same width with their dtype name in a ``dtype`` attribute. The file is written
through ``atomic_write``, so it is always whole; reading runs the weights-file checks
of ``lamina.saving.h5_store`` on the whole file before it reads any data (hard links
only, no virtual or external storage, numeric dtypes, declared sizes the stored
bytes can hold), then checks the layout, and parses JSON only: nothing is unpickled.
"""

from __future__ import annotations

import json

import h5py
import jax.numpy as jnp
import numpy as np

from lamina.saving.atomic import atomic_write
from lamina.saving.h5_store import check_h5_file
from lamina.training.fit_position import FitPosition
from lamina.training.step_state import TrainState

FORMAT = "lamina.fit_backup"
VERSION = 1
_NATIVE_KINDS = "biuf"
_META_KEYS = {"epoch", "step", "order_rng_state", "history", "history_epochs", "plan"}


def _json_value(value):
    """A log value as JSON can hold it (floats stay floats, arrays become lists)."""
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return np.asarray(value).tolist()


def _write_array(group: h5py.Group, name: str, array) -> None:
    array = np.asarray(array, order="C")  # (ascontiguousarray would make scalars 1-d)
    if array.dtype.kind in _NATIVE_KINDS:
        group.create_dataset(name, data=array)
        return
    raw = array.view(f"u{array.dtype.itemsize}")
    group.create_dataset(name, data=raw).attrs["dtype"] = array.dtype.name


def position_counters(position: FitPosition) -> dict:
    """The JSON-able counters of ``position`` (everything but its arrays)."""
    return {
        "epoch": position.epoch, "step": position.step,
        "order_rng_state": position.order_rng_state,
        "history": {k: [_json_value(v) for v in vs] for k, vs in position.history.items()},
        "history_epochs": [int(e) for e in position.history_epochs],
        "plan": position.plan,
    }


def write_backup(path: str, position: FitPosition) -> None:
    """Writes ``position`` to ``path`` atomically."""
    meta = position_counters(position)
    counters = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        # A dataset, not an attribute: attributes are capped at 64 KiB.
        _write_array(f, "meta", counters)
        for field in TrainState._fields:
            group = f.create_group(field)
            for i, array in enumerate(getattr(position.train_state, field)):
                _write_array(group, str(i), array)
        _write_array(f, "rng_key", position.rng_key)
        if position.order is not None:
            _write_array(f, "order", position.order)


def _read_array(parent: h5py.Group, name: str, path: str) -> np.ndarray:
    ds = parent[name]  # the whole file passed the weights-file checks on opening
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"Backup file {path}: '{ds.name}' is not a dataset.")
    array = np.asarray(ds[()])
    stored = ds.attrs.get("dtype")
    if stored is None:
        return array
    try:
        dtype = jnp.dtype(str(stored))  # knows bfloat16, float8_*... (ml_dtypes)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind == "O" or dtype.itemsize != array.dtype.itemsize:
        raise ValueError(f"Backup file {path}: dataset '{ds.name}' of dtype {array.dtype} "
                         f"cannot hold dtype {stored!r}.")
    return array.view(dtype)


def _read_group(f: h5py.File, field: str, path: str) -> list:
    if not isinstance(f.get(field), h5py.Group):
        raise ValueError(f"Backup file {path}: missing group '{field}'.")
    group = f[field]
    names = sorted(group.keys(), key=lambda k: (len(k), k))
    if names != [str(i) for i in range(len(names))]:
        raise ValueError(f"Backup file {path}: group '{field}' must hold datasets '0', '1', "
                         f"..., found {names[:10]}.")
    return [_read_array(group, name, path) for name in names]


def check_counters(meta, path: str) -> dict:
    """``meta`` when it is well-formed position counters, else ValueError naming ``path``."""
    if not isinstance(meta, dict) or set(meta) != _META_KEYS:
        keys = sorted(meta) if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"Backup file {path}: counters must have keys {sorted(_META_KEYS)}, "
                         f"found {keys}.")
    for key in ("epoch", "step"):
        if type(meta[key]) is not int:
            raise ValueError(f"Backup file {path}: '{key}' must be an int, found "
                             f"{meta[key]!r}.")
    history, epochs = meta["history"], meta["history_epochs"]
    if not isinstance(history, dict) or not all(
            isinstance(v, list) for v in history.values()):
        raise ValueError(f"Backup file {path}: 'history' must map names to lists.")
    if not isinstance(epochs, list) or not all(type(e) is int for e in epochs):
        raise ValueError(f"Backup file {path}: 'history_epochs' must be a list of ints.")
    if not isinstance(meta["plan"], dict) or not isinstance(meta["order_rng_state"], dict):
        raise ValueError(f"Backup file {path}: 'plan' and 'order_rng_state' must be objects.")
    return meta


def read_backup(path: str) -> FitPosition:
    """Reads a ``FitPosition`` written by :func:`write_backup`.

    Raises:
        ValueError: the file is not a complete, well-formed backup (named in the message).
        OSError: the file cannot be opened.
    """
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"Backup file {path} is not a readable HDF5 file: {e}") from None
    with f:
        try:  # hard links only, no virtual/external storage, sizes the bytes can hold
            check_h5_file(f)
        except ValueError as e:
            raise ValueError(f"Backup file {path}: {e}") from None
        except Exception as e:  # h5py raises KeyError/RuntimeError on corrupt headers
            raise ValueError(f"Backup file {path} is corrupt: {e}") from None
        if f.attrs.get("format") != FORMAT or f.attrs.get("version") != VERSION:
            raise ValueError(f"{path} is not a lamina fit backup (format {FORMAT!r} version "
                             f"{VERSION}); found {f.attrs.get('format')!r} version "
                             f"{f.attrs.get('version')!r}.")
        if "meta" not in f:
            raise ValueError(f"Backup file {path}: missing dataset 'meta'.")
        try:
            meta = json.loads(_read_array(f, "meta", path).tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ValueError(f"Backup file {path}: unreadable counters: {e}") from None
        meta = check_counters(meta, path)
        state = TrainState(*(_read_group(f, field, path) for field in TrainState._fields))
        rng_key = _read_array(f, "rng_key", path)
        order = _read_array(f, "order", path) if "order" in f else None
    return FitPosition(epoch=meta["epoch"], step=meta["step"], train_state=state,
                       rng_key=rng_key, order=order, order_rng_state=meta["order_rng_state"],
                       history=meta["history"], history_epochs=meta["history_epochs"],
                       plan=meta["plan"])
