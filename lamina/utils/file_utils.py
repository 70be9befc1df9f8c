"""``get_file``: fetch a file into the local cache (``~/.keras/datasets`` by default),
check its hash and extract archives."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from lamina.utils.io_utils import print_msg

_REMOTE_SCHEMES = ("http", "https", "ftp")


def keras_home() -> str:
    """The cache root: ``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the home
    directory is not writable), shared with Keras."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def _hasher(algorithm: str, file_hash: str | None = None):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()  # legacy checksums, not security


def hash_file(fpath: str, algorithm="sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file (``algorithm``: ``"sha256"``, ``"md5"``, ``"auto"`` or a
    ``hashlib`` object)."""
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto",
                  chunk_size: int = 65535) -> bool:
    """Whether the file's hash equals ``file_hash`` (sha256 when it has 64 hex digits
    and ``algorithm`` is ``"auto"``, else md5)."""
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def extract_archive(file_path: str, path: str = ".", archive_format="auto") -> bool:
    """Extracts a tar (``.tar``, ``.tar.gz``, ``.tar.bz2``) or zip archive into ``path``.

    Args:
        archive_format: ``"auto"`` (try tar, then zip), ``"tar"``, ``"zip"``, a list
            of those, or None (extract nothing).

    Returns:
        Whether the file was an archive of an accepted format and was extracted.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                if hasattr(tarfile, "data_filter"):
                    # Refuses absolute paths, links out of `path` and device files.
                    archive.extractall(path, filter="data")
                else:
                    archive.extractall(path)  # Pythons without extraction filters
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                archive.extractall(path)
            return True
    return False


def _local_source(origin: str) -> str | None:
    """The local path ``origin`` names (a ``file://`` URL or a plain path), else None."""
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme == "file":
        return urllib.request.url2pathname(parts.path)
    if parts.scheme in _REMOTE_SCHEMES:
        return None
    return os.path.expanduser(origin)


def _fetch(origin: str, target: str) -> None:
    source = _local_source(origin)
    if source is not None:
        if not os.path.exists(source):
            raise FileNotFoundError(f"get_file: no file at {source!r} (origin={origin!r}).")
        shutil.copyfile(source, target)
        return
    try:
        urllib.request.urlretrieve(origin, target)
    except (urllib.error.URLError, OSError) as e:
        if os.path.exists(target):
            os.remove(target)
        reason = getattr(e, "reason", e)
        raise ConnectionError(
            f"URL fetch failure on {origin}: {reason}. The file could not be downloaded "
            "(no network access?); download it yourself and pass its local path or a "
            "file:// URL as `origin`.") from e


def get_file(fname=None, origin=None, untar: bool = False, md5_hash=None, file_hash=None,
             cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format: str = "auto", cache_dir=None,
             force_download: bool = False) -> str:
    """Copies or downloads ``origin`` into the cache unless it is already there.

    Args:
        fname: the file name in the cache (default: the last part of ``origin``); not
            a path.
        origin: where the file comes from: a local path, a ``file://`` URL, or an
            ``http(s)``/``ftp`` URL (needs network access).
        untar: deprecated spelling of ``extract=True, archive_format="tar"``.
        md5_hash: deprecated spelling of ``file_hash`` with md5.
        file_hash: the expected sha256 or md5 hex digest; a cached file that does not
            match is fetched again, a fetched one that does not match is an error.
        cache_subdir: the sub-directory of the cache (an absolute path is used as is).
        hash_algorithm: ``"auto"``, ``"sha256"`` or ``"md5"``.
        extract: extract the fetched archive.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or None.
        cache_dir: the cache root (default: :func:`keras_home`).
        force_download: fetch even when the file is cached.

    Returns:
        The path of the cached file, or of the directory it was extracted into.

    Raises:
        ValueError: no ``origin``, ``fname`` is a path, or the hash does not match.
        FileNotFoundError: a local ``origin`` does not exist.
        ConnectionError: a remote ``origin`` could not be downloaded.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (the URL or local path of the '
                         "file).")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given_name = os.fspath(fname) if fname is not None else None
    if given_name:
        if os.sep in given_name:
            raise ValueError("Paths are not accepted as the `fname` argument; use `cache_dir` "
                             f"to choose the directory. Received: fname={given_name}")
        name = given_name
    else:
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name:
            raise ValueError(f"Can't parse the file name from the origin {origin!r}; please "
                             "specify the `fname` argument.")
    if extract or untar:
        if given_name and "." in name:
            target = os.path.join(datadir, name)
            extraction_dir = os.path.join(datadir, f"{name[:name.find('.')]}_extracted")
        else:
            target = os.path.join(datadir, f"{name}_archive")
            extraction_dir = os.path.join(datadir, name)
    else:
        target = os.path.join(datadir, name)

    fetch = force_download or not os.path.exists(target)
    if not fetch and file_hash is not None and not validate_file(target, file_hash,
                                                                 hash_algorithm):
        print_msg(f"A local file was found, but its {hash_algorithm} hash does not match "
                  f"{file_hash}: fetching it again.")
        fetch = True
    if fetch:
        print_msg(f"Downloading data from {origin}")
        _fetch(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} "
                             f"file hash does not match the provided value of {file_hash}.")
    if extract or untar:
        if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target
