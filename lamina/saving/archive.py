"""The ``.keras`` zip archive: writing one, and reading one without trusting it.

A ``.keras`` file is a zip holding ``metadata.json``, ``config.json`` and
``model.weights.h5`` (Keras 3's layout), plus ``assets/<object path>/<file>`` members
for objects that save assets (e.g. a lookup layer's vocabulary).
Reading refuses, with a ValueError naming the problem: a file that is not a zip,
member names that are absolute, contain ``..`` or backslashes, repeat, or are not
among the expected ones; members larger than their limit or expanding more than
``MAX_COMPRESSION_RATIO`` times; truncated or corrupt members (bad CRC); and a
missing config or weights member. Members are read into memory (never extracted).
"""

from __future__ import annotations

import io
import posixpath
import zipfile

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
ASSETS = "assets/"
_LIMITS = {METADATA: 1 << 20, CONFIG: 1 << 28, WEIGHTS: 1 << 36}
ASSET_LIMIT = 1 << 30  # bytes in one asset member
MAX_ASSETS = 10_000  # asset members in one archive
MAX_COMPRESSION_RATIO = 1000


def write_archive(path: str, metadata: str, config: str, weights: bytes,
                  assets: dict[str, bytes] | None = None) -> None:
    """Writes the members to the zip file at ``path`` (a temporary path: callers go
    through ``atomic_write``); ``assets`` maps names under ``assets/`` to bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(METADATA, metadata)
        zf.writestr(CONFIG, config)
        zf.writestr(WEIGHTS, weights)
        for name, data in sorted((assets or {}).items()):
            _check_name(name)
            if not name.startswith(ASSETS):
                raise ValueError(f"Asset member names start with {ASSETS!r}, received "
                                 f"{name!r}.")
            zf.writestr(name, data)


def _limit(name: str) -> int | None:
    if name.startswith(ASSETS):
        return ASSET_LIMIT
    return _LIMITS.get(name)


def _check_name(name: str) -> None:
    if (name.startswith("/") or "\\" in name or ":" in name
            or ".." in posixpath.normpath(name).split("/") or ".." in name.split("/")):
        raise ValueError(f"The .keras archive has a member with an unsafe path {name!r} "
                         "(absolute, or outside the archive root): refused.")


def _check_member(info: zipfile.ZipInfo) -> None:
    limit = _limit(info.filename)
    if info.file_size > limit:
        raise ValueError(f"The .keras archive's member {info.filename!r} declares "
                         f"{info.file_size} bytes, more than the limit of {limit}.")
    if info.compress_size * MAX_COMPRESSION_RATIO < info.file_size:
        raise ValueError(f"The .keras archive's member {info.filename!r} expands from "
                         f"{info.compress_size} to {info.file_size} bytes: refused.")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with zf.open(info) as f:
            data = f.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
        raise ValueError(f"The .keras archive's member {info.filename!r} is corrupt or "
                         f"truncated: {e}") from e
    if len(data) != info.file_size:
        raise ValueError(f"The .keras archive's member {info.filename!r} holds "
                         f"{len(data)} bytes, not the declared {info.file_size}.")
    return data


def read_archive(path) -> dict[str, bytes]:
    """The checked members of the ``.keras`` file at ``path``, by name (assets under
    ``assets/...``); the metadata member is optional (b"{}" when absent)."""
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f"{path!s} is not a readable .keras (zip) file: {e}") from e
    with zf:
        infos = zf.infolist()
        names = [info.filename for info in infos]
        for name in names:
            _check_name(name)
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"The .keras archive repeats members {sorted(duplicates)}.")
        if sum(n.startswith(ASSETS) for n in names) > MAX_ASSETS:
            raise ValueError(f"The .keras archive holds more than {MAX_ASSETS} asset "
                             "members: refused.")
        members = {}
        for info in infos:
            if info.is_dir() and info.filename.startswith(ASSETS.rstrip("/")):
                continue
            if _limit(info.filename) is None:
                raise ValueError(f"The .keras archive has an unexpected member "
                                 f"{info.filename!r}; expected only {sorted(_LIMITS)} "
                                 f"and files under {ASSETS!r}.")
            _check_member(info)
            members[info.filename] = _read_member(zf, info)
    for required in (CONFIG, WEIGHTS):
        if required not in members:
            raise ValueError(f"The .keras archive {path!s} has no {required!r} member.")
    members.setdefault(METADATA, b"{}")
    return members


def weights_file(members: dict[str, bytes]) -> io.BytesIO:
    """The weights member as a binary file h5py can open."""
    return io.BytesIO(members[WEIGHTS])
