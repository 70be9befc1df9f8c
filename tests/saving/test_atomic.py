import os

import pytest

from lamina.saving.atomic import atomic_write, atomic_write_bytes


def test_replaces_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_failure_keeps_previous_file(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_creates_missing_folder(tmp_path):
    target = tmp_path / "sub" / "deeper" / "w.h5"
    atomic_write_bytes(target, b"x")
    assert target.read_bytes() == b"x"


def test_file_mode_follows_umask(tmp_path):
    target = tmp_path / "m.bin"
    old = os.umask(0o022)
    try:
        atomic_write_bytes(target, b"x")
    finally:
        os.umask(old)
    assert (target.stat().st_mode & 0o777) == 0o644
