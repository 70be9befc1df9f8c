"""Malformed ``.keras``, ``.weights.h5`` and legacy ``.h5`` files: each is refused with a
ValueError whose message names the problem, and nothing outside the file is touched.

Every case starts from the valid files of the tiny model (``tiny_files``, conftest) and
breaks one thing: the zip structure (paths outside the archive root, unexpected,
repeated, oversized, over-compressed, truncated or corrupt members, missing members),
the JSON (invalid text, unknown classes), the weights against the config (shapes,
dtypes, counts) or the HDF5 objects (external and soft links, virtual datasets,
external storage, declared shapes the stored bytes cannot hold).
"""

import io
import json
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import lamina as keras

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_h5"
KERNEL = "layers/dense/vars/0"  # the kernel of the first Dense ("hidden"), shape (3, 4)
BIAS = "layers/dense/vars/1"


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _keras(tmp_path, tiny_files, name="m.keras", **replaced):
    """The tiny model's .keras file with members replaced (None drops one)."""
    members = dict(tiny_files.members)
    for key, data in replaced.items():
        member = {"config": "config.json", "weights": "model.weights.h5",
                  "metadata": "metadata.json"}[key]
        if data is None:
            del members[member]
        else:
            members[member] = data
    return _zip(tmp_path / name, members.items())


def _edit_h5(data: bytes, edit) -> bytes:
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


def _load_keras(path, **kwargs):
    return keras.saving.load_model(path, **kwargs)


# -- the zip archive -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil.txt", "../../evil.txt", "assets/../../evil.txt",
                                  "/tmp/evil.txt", "assets\\..\\evil.txt", "C:evil.txt"])
def test_members_outside_the_archive_root_are_refused(tmp_path, tiny_files, name):
    folder = tmp_path / "inner"
    folder.mkdir()
    path = _zip(folder / "m.keras", list(tiny_files.members.items()) + [(name, b"pwned")])
    with pytest.raises(ValueError, match="unsafe path"):
        _load_keras(path)
    with pytest.raises(ValueError, match="unsafe path"):
        tiny_files.model().load_weights(path)
    assert not (tmp_path / "evil.txt").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["m.keras"]


@pytest.mark.parametrize("name", ["evil.py", "model.weights.h5.bak", "config.json.py"])
def test_unexpected_members_are_refused(tmp_path, tiny_files, name):
    path = _zip(tmp_path / "m.keras", list(tiny_files.members.items()) + [(name, b"x")])
    with pytest.raises(ValueError, match=f"unexpected member '{name}'"):
        _load_keras(path)


def test_repeated_members_are_refused(tmp_path, tiny_files):
    members = list(tiny_files.members.items()) + [("config.json", b"{}")]
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _zip(tmp_path / "m.keras", members)
    with pytest.raises(ValueError, match=r"repeats members \['config.json'\]"):
        _load_keras(path)


def _patch_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrites the uncompressed size ``member``'s headers declare (local and central)."""
    out = bytearray(data)
    name = member.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (pos := out.find(signature, start)) >= 0:
            if out[pos + name_at:pos + name_at + len(name)] == name:
                out[pos + offset:pos + offset + 4] = struct.pack("<I", size)
            start = pos + 4
    return bytes(out)


def test_members_declaring_more_than_the_limit_are_refused(tmp_path, tiny_files):
    path = tmp_path / "m.keras"
    path.write_bytes(_patch_declared_size(tiny_files.keras_bytes, "config.json",
                                          (1 << 28) + 1))
    with pytest.raises(ValueError, match=r"'config.json' declares 268435457 bytes, more "
                                         r"than the limit of 268435456"):
        _load_keras(path)
    big_metadata = json.dumps({"keras_version": "3.15.1", "pad": " " * (1 << 21)})
    path = _keras(tmp_path, tiny_files, metadata=big_metadata)
    with pytest.raises(ValueError, match="'metadata.json' declares .* more than the limit"):
        _load_keras(path)


def test_members_expanding_like_a_zip_bomb_are_refused(tmp_path, tiny_files):
    config = tiny_files.members["config.json"] + b" " * (32 << 20)  # still valid JSON
    members = dict(tiny_files.members, **{"config.json": config})
    path = _zip(tmp_path / "m.keras", members.items(), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(ValueError, match=r"'config.json' expands from \d+ to 33\d+ bytes"):
        _load_keras(path)


def test_corrupt_and_truncated_members_are_refused(tmp_path, tiny_files):
    data = bytearray(tiny_files.keras_bytes)
    at = data.find(b'"class_name": "Functional"')
    data[at + 2] ^= 0x20  # one flipped bit inside config.json: CRC mismatch
    path = tmp_path / "m.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="'config.json' is corrupt or truncated.*CRC"):
        _load_keras(path)
    declared_more = len(tiny_files.members["config.json"]) + 100
    path.write_bytes(_patch_declared_size(tiny_files.keras_bytes, "config.json",
                                          declared_more))
    with pytest.raises(ValueError, match="'config.json' (is corrupt or truncated|holds)"):
        _load_keras(path)
    path.write_bytes(tiny_files.keras_bytes[:len(tiny_files.keras_bytes) // 2])
    with pytest.raises(ValueError, match=r"not a readable \.keras \(zip\) file"):
        _load_keras(path)


@pytest.mark.parametrize("missing", ["config", "weights"])
def test_missing_config_or_weights_member_is_refused(tmp_path, tiny_files, missing):
    path = _keras(tmp_path, tiny_files, **{missing: None})
    member = {"config": "config.json", "weights": "model.weights.h5"}[missing]
    with pytest.raises(ValueError, match=f"has no '{member}' member"):
        _load_keras(path)


# -- the JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("member, data", [
    ("config", b'{"class_name": "Functional", "config": {'),
    ("config", b'{"class_name": "Functional\xff"}'),
    ("config", b"[" * 100_000 + b"]" * 100_000),
    ("metadata", b"{'keras_version': 3}"),
])
def test_invalid_json_is_refused(tmp_path, tiny_files, member, data):
    path = _keras(tmp_path, tiny_files, **{member: data})
    with pytest.raises(ValueError, match=f"{member}.json member is not valid JSON"):
        _load_keras(path)


def _config_with(tiny_files, edit) -> bytes:
    config = json.loads(json.dumps(tiny_files.config))
    edit(config)
    return json.dumps(config).encode()


def _layer(config, name):
    return next(e for e in config["config"]["layers"] if e["name"] == name)


@pytest.mark.parametrize("edit, message", [
    (lambda c: _layer(c, "hidden").update(class_name="EvilLayer"),
     "Could not locate class 'EvilLayer'"),
    (lambda c: c.update(class_name="EvilModel", registered_name="EvilModel"),
     "Could not locate class 'EvilModel'"),
    (lambda c: _layer(c, "hidden")["config"].update(
        kernel_initializer={"module": "keras.initializers", "class_name": "Evil",
                            "config": {}}), "Could not locate class 'Evil'"),
    (lambda c: _layer(c, "hidden")["config"].update(activation="evil"), "evil"),
    (lambda c: c["compile_config"].update(optimizer={"module": "keras.optimizers",
                                                     "class_name": "EvilOpt", "config": {}}),
     "Could not locate class 'EvilOpt'"),
])
def test_configs_naming_unknown_classes_are_refused(tmp_path, tiny_files, edit, message):
    path = _keras(tmp_path, tiny_files, config=_config_with(tiny_files, edit))
    with pytest.raises(ValueError, match=message):
        _load_keras(path)


def test_a_config_that_is_not_a_model_is_refused(tmp_path, tiny_files):
    layer = json.dumps(_layer(tiny_files.config, "hidden")).encode()
    with pytest.raises(ValueError, match="describes a Dense, not a model"):
        _load_keras(_keras(tmp_path, tiny_files, config=layer))


# -- weights against the config ----------------------------------------------------------

def _replace(path, **kwargs):
    def edit(f):
        parent, name = path.rsplit("/", 1)
        del f[path]
        f[parent].create_dataset(name, **kwargs)
    return edit


WEIGHT_MISMATCHES = {
    "shape": (_replace(KERNEL, data=np.zeros((3, 5), "float32")),
              r"'hidden'.*stored weight has shape \(3, 5\).*expects shape \(3, 4\)"),
    "rank": (_replace(BIAS, data=np.zeros((4, 1), "float32")),
             r"stored weight has shape \(4, 1\).*expects shape \(4,\)"),
    "dtype": (_replace(KERNEL, data=np.zeros((3, 4), "int32")),
              r"stored weight has dtype int32.*has dtype float32"),
    "string dtype": (_replace(KERNEL, data=np.array([b"a"] * 12).reshape(3, 4)),
                     r"dtype \|S1, not a plain numeric dtype"),
    "compound dtype": (_replace(KERNEL, data=np.zeros((3, 4), [("a", "f4"), ("b", "f4")])),
                       "not a plain numeric dtype"),
    "missing variable": (lambda f: f.__delitem__(BIAS),
                         "'hidden' expected 2 variables, but received 1"),
    "extra variable": (lambda f: f["layers/dense/vars"].create_dataset(
        "2", data=np.zeros(4, "float32")), "'hidden' expected 2 variables, but received 3"),
    "renamed variable": (lambda f: f.move(BIAS, "layers/dense/vars/7"),
                         "No variable '1' at 'layers/dense/vars'"),
    "group instead of a dataset": (lambda f: (f.__delitem__(BIAS),
                                              f.create_group(BIAS)),
                                   "'1' at 'layers/dense/vars'.*Group, not a dataset"),
}


@pytest.mark.parametrize("container", ["keras", "weights"])
@pytest.mark.parametrize("case", sorted(WEIGHT_MISMATCHES))
def test_weights_disagreeing_with_the_config_are_refused(tmp_path, tiny_files, container,
                                                         case):
    edit, message = WEIGHT_MISMATCHES[case]
    weights = _edit_h5(tiny_files.weights_bytes, edit)
    if container == "keras":
        with pytest.raises(ValueError, match=message):
            _load_keras(_keras(tmp_path, tiny_files, weights=weights))
    else:
        path = tmp_path / "m.weights.h5"
        path.write_bytes(weights)
        with pytest.raises(ValueError, match=message):
            tiny_files.model().load_weights(path)


def test_config_disagreeing_with_the_weights_is_refused(tmp_path, tiny_files):
    config = _config_with(tiny_files, lambda c: _layer(c, "probs")["config"].update(units=3))
    with pytest.raises(ValueError, match=r"'probs'.*shape \(4, 2\).*expects shape \(4, 3\)"):
        _load_keras(_keras(tmp_path, tiny_files, config=config))


# -- HDF5 objects --------------------------------------------------------------------------

def _virtual(folder):
    def edit(f):
        source = folder / "source.h5"
        with h5py.File(source, "w") as s:
            s["k"] = np.ones((3, 4), "float32")
        layout = h5py.VirtualLayout(shape=(3, 4), dtype="float32")
        layout[:] = h5py.VirtualSource(str(source), "k", shape=(3, 4))
        del f[KERNEL]
        f["layers/dense/vars"].create_virtual_dataset("0", layout)
    return edit


def _external_storage(folder):
    raw = folder / "raw.bin"
    raw.write_bytes(np.ones((3, 4), "float32").tobytes())
    return _replace(KERNEL, shape=(3, 4), dtype="float32", external=[(str(raw), 0, 48)])


def _set(group, name, value):
    return lambda f: f[group].__setitem__(name, value)


HDF5_CASES = {
    "external link": (lambda folder: _set("layers/dense/vars", "2",
                                          h5py.ExternalLink(str(folder / "other.h5"), "/k")),
        r"external link at '/layers/dense/vars/2' \(to '.*other.h5'\)"),
    "soft link": (lambda folder: lambda f: (f.__delitem__(BIAS), f["layers/dense/vars"]
                                            .__setitem__("1", h5py.SoftLink("/vars"))),
                  "soft link at '/layers/dense/vars/1'"),
    "virtual dataset": (_virtual, "'/layers/dense/vars/0' is a virtual dataset"),
    "external storage": (_external_storage,
                         "'/layers/dense/vars/0' keeps its data in external files"),
    "compressed shape bomb": (lambda folder: _replace(
        KERNEL, shape=(1 << 15, 1 << 13), dtype="float32", chunks=(1024, 1024),
        compression="gzip"),
        r"declares shape \(32768, 8192\) \(1073741824 bytes\) from only 0 stored bytes"),
    "unwritten dataset": (lambda folder: _replace(KERNEL, shape=(3, 4), dtype="float32"),
                          r"declares shape \(3, 4\) \(48 bytes\) but stores only 0 bytes"),
    "petabyte declaration": (lambda folder: _replace(
        KERNEL, shape=(1 << 25, 1 << 25), dtype="float32", chunks=(1, 1),
        compression="gzip"), r"declares 4503599627370496 bytes, more than any weight"),
    "named datatype": (lambda folder: _set("layers/dense", "t", np.dtype("f4")),
                       "object of unsupported type at '/layers/dense/t'"),
}


@pytest.mark.parametrize("container", ["keras", "weights"])
@pytest.mark.parametrize("case", sorted(HDF5_CASES))
def test_unsafe_hdf5_objects_are_refused(tmp_path, tiny_files, container, case):
    make_edit, message = HDF5_CASES[case]
    weights = _edit_h5(tiny_files.weights_bytes, make_edit(tmp_path))
    if container == "keras":
        with pytest.raises(ValueError, match=message):
            _load_keras(_keras(tmp_path, tiny_files, weights=weights))
    else:
        path = tmp_path / "m.weights.h5"
        path.write_bytes(weights)
        with pytest.raises(ValueError, match=message):
            tiny_files.model().load_weights(path)


# -- not a model file at all ---------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", b"PK\x03\x04junk",
                                     b"\x89HDF\r\n\x1a\n" + b"\0" * 64])
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5", ".h5"])
def test_files_of_another_format_or_empty_are_refused(tmp_path, tiny_files, suffix, content):
    path = tmp_path / f"m{suffix}"
    path.write_bytes(content)
    expected = {".keras": r"not a readable \.keras \(zip\) file",
                ".weights.h5": "weights file is not a readable HDF5 file",
                ".h5": "not a readable HDF5 file"}[suffix]
    with pytest.raises(ValueError, match=expected):
        tiny_files.model().load_weights(path)
    if suffix != ".weights.h5":
        with pytest.raises(ValueError, match=expected):
            _load_keras(path)


def test_a_zip_given_as_weights_and_weights_given_as_a_model_are_refused(tmp_path, tiny_files):
    path = tmp_path / "m.weights.h5"
    path.write_bytes(tiny_files.keras_bytes)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        tiny_files.model().load_weights(path)
    path = tmp_path / "m.keras"
    path.write_bytes(tiny_files.weights_bytes)
    with pytest.raises(ValueError, match=r"not a readable \.keras \(zip\) file"):
        _load_keras(path)


def _impossible_address(data: bytes) -> bytes:
    """A version-0 superblock whose driver-information address (bytes 48..55, all ones
    when undefined) becomes 0xffffffffffffff80: h5py raises OverflowError opening it
    from memory (the weights member of a .keras file; found by the fuzz test), OSError
    from a path."""
    assert data[8] == 0 and data[48:56] == b"\xff" * 8  # version 0, no driver block
    return data[:48] + b"\x80" + data[49:]


def test_a_superblock_with_an_impossible_address_is_refused(tmp_path, tiny_files):
    weights = _impossible_address(tiny_files.weights_bytes)
    path = tmp_path / "m.weights.h5"
    path.write_bytes(weights)
    with pytest.raises(ValueError, match="not a readable HDF5 file: OSError"):
        tiny_files.model().load_weights(path)
    with pytest.raises(ValueError, match="not a readable HDF5 file: OverflowError"):
        _load_keras(_keras(tmp_path, tiny_files, weights=weights))
    legacy = tmp_path / "m.h5"
    legacy.write_bytes(_impossible_address((FIXTURES / "mlp.h5").read_bytes()))
    with pytest.raises(ValueError, match="not a readable HDF5 file: OSError"):
        _load_keras(legacy)


# -- __numpy__ records -----------------------------------------------------------------------

def test_numpy_records_take_string_widths_from_their_values():
    """``"S200000000"`` would make a 200 MB element (a 4-byte record can ask for
    gigabytes): the width comes from the values instead."""
    array = keras.saving.deserialize_keras_object(
        {"class_name": "__numpy__", "config": {"value": ["a", "bc"], "dtype": "S200000000"}})
    assert array.dtype == np.dtype("S2") and array.tolist() == [b"a", b"bc"]
    array = keras.saving.deserialize_keras_object(
        {"class_name": "__numpy__", "config": {"value": [[1, 2]], "dtype": "float16"}})
    assert array.dtype == np.float16 and array.shape == (1, 2)


@pytest.mark.parametrize("dtype, message", [
    ("(1099511627776,)f4", "invalid shape|must be numeric"), ("V8", "must be numeric"),
    ("O", "must be numeric"), ("M8[s]", "must be numeric"), ("no_such_type", "unknown dtype"),
    (["a", "f4"], "dtype name")])
def test_numpy_records_with_unsafe_dtypes_are_refused(tmp_path, tiny_files, dtype, message):
    record = {"class_name": "__numpy__", "config": {"value": [0], "dtype": dtype}}
    with pytest.raises(ValueError, match=message):
        keras.saving.deserialize_keras_object(record)

    def edit(config):  # the same record as a call argument of a functional node
        _layer(config, "hidden")["inbound_nodes"][0]["kwargs"]["extra"] = record

    path = _keras(tmp_path, tiny_files, config=_config_with(tiny_files, edit))
    with pytest.raises(ValueError, match=message):
        _load_keras(path)
