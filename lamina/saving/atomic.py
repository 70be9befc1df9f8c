"""Atomic file replacement: a reader sees the old file or the new one, never half of one.

Every file lamina writes for the user (``.keras`` archives, weight files, checkpoints,
backups) goes through :func:`atomic_write`: the content is written to a temporary file
in the destination folder, flushed and fsynced, then renamed over the destination
(``os.replace`` is atomic within one file system) and the folder entry is fsynced. A
process killed at any moment leaves either the previous file intact or the new one
complete, plus at most a stray ``.<name>.tmp-*`` file that is ignored and overwritten
by the next save.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike):
    """Yields a temporary path next to ``path``; on a clean exit it replaces ``path``.

    Write the whole file to the yielded path (by name: h5py, zipfile and numpy all
    accept one). If the body raises, the temporary file is removed and ``path`` is
    left untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", dir=folder)
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode a plain open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
