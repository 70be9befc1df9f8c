"""Property test: every mutation of a valid model file loads cleanly or raises ValueError.

Valid files are made once (a tiny compiled model saved as ``.keras`` and
``.weights.h5``, plus the legacy Keras 2 fixtures); hypothesis then mutates them in
four ways -- raw bytes (flip, overwrite, insert, delete, truncate), JSON fields of
``config.json`` (types, deleted keys, class names and modules, deep nesting, huge
numbers, shapes), HDF5 objects and attributes of the weights (reshape, dtype, delete,
links, virtual and external datasets, shape bombs) and the zip structure (names,
duplicates, compression, declared sizes) -- and loads the result. The only exception
a loader may raise for a bad file is ``ValueError`` (lamina's file error); anything
else, or a load slower than ``LIMIT_S``, fails the test.

``LAMINA_FUZZ_EXAMPLES`` scales the number of examples (e.g. 20000 for a long run).
"""

import contextlib
import io
import json
import os
import shutil
import signal
import struct
import time
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina as keras

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_h5"
SCALE = int(os.environ.get("LAMINA_FUZZ_EXAMPLES", "0")) or None
LIMIT_S = 10.0


def _settings(examples: int):
    return settings(max_examples=SCALE or examples, deadline=None, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck))


class _Hang(BaseException):  # not an Exception: no loader may catch it
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise _Hang(f"a load ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _outcome(load) -> str:
    """Runs ``load``; "ok" or "ValueError". Any other exception propagates."""
    start = time.monotonic()
    with warnings.catch_warnings(), _time_limit(LIMIT_S):
        warnings.simplefilter("ignore")
        try:
            load()
            result = "ok"
        except ValueError as e:
            assert str(e), "a ValueError without a message"
            result = "ValueError"
    assert time.monotonic() - start < LIMIT_S
    return result


# -- the valid files -----------------------------------------------------------------

class Corpus:
    """The valid files' bytes, a scratch folder and the models weights load into."""

    def __init__(self, tiny_files, folder: Path):
        self.folder = folder
        self.model = tiny_files.model()
        self.keras_bytes = tiny_files.keras_bytes
        self.members = tiny_files.members
        self.config = tiny_files.config
        self.weights_bytes = tiny_files.weights_bytes
        self.legacy_bytes = (FIXTURES / "mlp.h5").read_bytes()
        self.legacy_weights_bytes = (FIXTURES / "mlp_weights.h5").read_bytes()
        self.legacy_model = keras.saving.load_model(FIXTURES / "mlp.h5", compile=False)

    def path(self, suffix: str, data: bytes) -> Path:
        path = self.folder / f"mutant{suffix}"
        path.write_bytes(data)
        return path

    def load_keras(self, data: bytes, compile: bool = False) -> str:
        path = self.path(".keras", data)
        return _outcome(lambda: keras.saving.load_model(path, compile=compile))

    def load_weights(self, data: bytes, legacy: bool = False, lenient: bool = False) -> str:
        """Loads into the matching model; ``lenient``: with ``skip_mismatch`` (and, for a
        legacy file, ``by_name``)."""
        if legacy:
            path, model = self.path(".h5", data), self.legacy_model
            kwargs = {"by_name": True, "skip_mismatch": True} if lenient else {}
        else:
            path, model = self.path(".weights.h5", data), self.model
            kwargs = {"skip_mismatch": lenient}
        return _outcome(lambda: model.load_weights(path, **kwargs))

    def load_keras_weights(self, data: bytes) -> str:
        path = self.path(".keras", data)
        return _outcome(lambda: self.model.load_weights(path))

    def load_legacy_model(self, data: bytes, compile: bool = True) -> str:
        path = self.path(".h5", data)
        return _outcome(lambda: keras.saving.load_model(path, compile=compile))

    def zip_with(self, members, compression=zipfile.ZIP_STORED) -> bytes:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are among the mutations
            with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
                for name, data in members:
                    zf.writestr(name, data)
        return buffer.getvalue()

    def keras_with(self, **replaced) -> bytes:
        names = {"config": "config.json", "weights": "model.weights.h5",
                 "metadata": "metadata.json"}
        members = dict(self.members)
        for key, data in replaced.items():
            members[names[key]] = data
        return self.zip_with(members.items())


@pytest.fixture(scope="module")
def corpus(tiny_files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    corpus = Corpus(tiny_files, folder)
    # Every valid file loads: the mutations start from clean loads.
    assert corpus.load_keras(corpus.keras_bytes, compile=True) == "ok"
    assert corpus.load_weights(corpus.weights_bytes) == "ok"
    assert corpus.load_weights(corpus.legacy_weights_bytes, legacy=True) == "ok"
    assert corpus.load_legacy_model(corpus.legacy_bytes) == "ok"
    yield corpus
    shutil.rmtree(folder, ignore_errors=True)


# -- byte mutations ------------------------------------------------------------------

_byte_edit = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 1 << 20), st.sampled_from(
        [0, 1, 0x7F, 0x80, 0xFF, ord("{"), ord('"')])),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
    st.tuples(st.just("word"), st.integers(0, 1 << 20), st.sampled_from(
        [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1 << 20])),
)


def mutate_bytes(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for edit in edits:
        if not out:
            break
        kind, pos = edit[0], edit[1] % len(out)
        if kind == "flip":
            out[pos] ^= 1 << edit[2]
        elif kind == "set":
            out[pos] = edit[2]
        elif kind == "insert":
            out[pos:pos] = edit[2]
        elif kind == "delete":
            del out[pos:pos + edit[2]]
        elif kind == "truncate":
            del out[pos:]
        else:  # overwrite a little-endian 32-bit word (sizes, offsets in headers)
            out[pos:pos + 4] = struct.pack("<I", edit[2])
    return bytes(out)


_byte_targets = st.sampled_from(["keras", "weights", "legacy", "legacy_weights",
                                 "keras:config", "keras:weights"])


@_settings(1000)
@given(target=_byte_targets, edits=st.lists(_byte_edit, min_size=1, max_size=4))
def test_byte_mutations_load_or_raise_value_error(corpus, target, edits):
    if target == "keras":
        corpus.load_keras(mutate_bytes(corpus.keras_bytes, edits))
    elif target == "keras:config":
        config = mutate_bytes(corpus.members["config.json"], edits)
        corpus.load_keras(corpus.keras_with(config=config))
    elif target == "keras:weights":
        weights = mutate_bytes(corpus.members["model.weights.h5"], edits)
        corpus.load_keras(corpus.keras_with(weights=weights))
    elif target == "weights":
        corpus.load_weights(mutate_bytes(corpus.weights_bytes, edits))
    elif target == "legacy":
        corpus.load_legacy_model(mutate_bytes(corpus.legacy_bytes, edits))
    else:
        corpus.load_weights(mutate_bytes(corpus.legacy_weights_bytes, edits), legacy=True)


# -- JSON mutations of config.json -----------------------------------------------------

# Values a field may be replaced by: every JSON type, numbers at and past the limits
# (huge ones only so large that no allocation of them can succeed), strings that name
# classes, modules or files.
_HUGE = [2 ** 40, 2 ** 63 - 1, 2 ** 64, -(2 ** 63), 10 ** 100, 1e308, float("inf"),
         float("-inf"), float("nan"), -1, 0]
_NAMES = ["Dense", "Functional", "Sequential", "Model", "InputLayer", "Lambda", "Adam",
          "function", "__lambda__", "__numpy__", "__tuple__", "__keras_tensor__",
          "system", "os.system", "eval", "get_file", "Popen", "EvilLayer", "", "keras",
          "keras.layers", "os", "builtins", "subprocess", "relu", "/etc/passwd", "../x",
          "float32", "int8", "bool", "S8", "U4", "O", "V8", "(3,)f4", "string", "bfloat16",
          "mixed_float16"]
_KEYS = ["class_name", "config", "module", "registered_name", "name", "units",
         "batch_shape", "shape", "dtype", "layers", "inbound_nodes", "args", "kwargs",
         "keras_history", "input_layers", "output_layers", "build_config", "input_shape",
         "value", "function", "activation", "vocabulary", "code"]
_scalars = (st.none() | st.booleans() | st.integers(-64, 64) | st.sampled_from(_HUGE)
            | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(_NAMES)
            | st.text(max_size=8))
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(_KEYS), inner, max_size=4),
    max_leaves=12)

_json_edit = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 10 ** 6), _json_values),
    st.tuples(st.just("delete"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("class_name"), st.integers(0, 10 ** 6), st.sampled_from(_NAMES)),
    st.tuples(st.just("module"), st.integers(0, 10 ** 6), st.sampled_from(_NAMES)),
    st.tuples(st.just("duplicate"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("nest"), st.integers(0, 10 ** 6), st.sampled_from([10, 1000, 100000])),
)


def _nodes(tree) -> list:
    """Every (container, key) pair of a JSON tree, depth first."""
    out = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(
        tree, list) else ()
    for key, value in items:
        out.append((tree, key))
        out += _nodes(value)
    return out


_NESTED = "__nested__"


def mutate_json(config, edits) -> str:
    """The JSON text of ``config`` after ``edits``; a "nest" edit leaves a marker that
    is replaced by nesting too deep for ``json.dumps`` to write."""
    config = json.loads(json.dumps(config))
    nesting = {}
    for edit in edits:
        nodes = _nodes(config)
        if not nodes:
            break
        container, key = nodes[edit[1] % len(nodes)]
        kind = edit[0]
        if kind == "replace":
            container[key] = edit[2]
        elif kind == "delete":
            del container[key]
        elif kind == "class_name" or kind == "module":
            target = container[key] if isinstance(container[key], dict) else container
            if isinstance(target, dict):
                target[kind] = edit[2]
        elif kind == "duplicate":
            container[key] = [container[key], container[key]]
        else:
            marker = f"{_NESTED}{len(nesting)}"
            nesting[marker] = edit[2]
            container[key] = marker
    text = json.dumps(config)
    for marker, depth in nesting.items():
        text = text.replace(f'"{marker}"', "[" * depth + "]" * depth)
    return text


@_settings(1000)
@given(edits=st.lists(_json_edit, min_size=1, max_size=3), compile=st.booleans(),
       legacy=st.booleans())
def test_config_mutations_load_or_raise_value_error(corpus, edits, compile, legacy):
    if legacy:
        with h5py.File(io.BytesIO(corpus.legacy_bytes), "r") as f:
            config = json.loads(f.attrs["model_config"])
        buffer = io.BytesIO(corpus.legacy_bytes)
        with h5py.File(buffer, "r+") as f:
            f.attrs["model_config"] = mutate_json(config, edits)
        corpus.load_legacy_model(buffer.getvalue(), compile)
    else:
        text = mutate_json(corpus.config, edits).encode("utf-8")
        corpus.load_keras(corpus.keras_with(config=text), compile=compile)


# -- HDF5 mutations of the weights ---------------------------------------------------

_DTYPES = ["float16", "float64", "int8", "int64", "uint8", "bool", "complex64", "S4",
           "compound", "vlen_str", "array"]
_shapes = st.lists(st.integers(0, 6), max_size=3).map(tuple)
_h5_edit = st.one_of(
    st.tuples(st.just("reshape"), st.integers(0, 10 ** 6), _shapes),
    st.tuples(st.just("dtype"), st.integers(0, 10 ** 6), st.sampled_from(_DTYPES)),
    st.tuples(st.just("delete"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("soft_link"), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6)),
    st.tuples(st.just("hard_link"), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6)),
    st.tuples(st.just("external_link"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("virtual"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("external_storage"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("shape_bomb"), st.integers(0, 10 ** 6),
              st.sampled_from([(1 << 15, 1 << 13), (1 << 40,), (4, 8)])),
    st.tuples(st.just("unwritten"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("empty"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("group"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("extra"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("attr"), st.integers(0, 10 ** 6), st.sampled_from(
        ["name", "layer_names", "weight_names", "model_config", "training_config",
         "keras_version", "backend"]), _json_values),
    st.tuples(st.just("datatype"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("nan"), st.integers(0, 10 ** 6)),
)


def _objects(f) -> tuple[list, list]:
    groups, datasets = ["/"], []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            datasets.append("/" + name)
        elif isinstance(obj, h5py.Group):
            groups.append("/" + name)

    f.visititems(visit)
    return groups, datasets


def _replace(f, path, **kwargs):
    parent, name = path.rsplit("/", 1)
    del f[path]
    f[parent or "/"].create_dataset(name, **kwargs)


def _attr_value(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if value is None:
        return h5py.Empty("f")
    if isinstance(value, int) and not -(2 ** 63) <= value < 2 ** 63:
        return str(value)
    return value


def _retyped(data: np.ndarray, dtype: str):
    data = data.astype("float32") if data.dtype.kind in "biuf" else np.zeros(data.shape, "f4")
    if dtype == "compound":
        out = np.zeros(data.shape, dtype=[("a", "f4"), ("b", "i4")])
        out["a"] = data
        return out
    if dtype == "vlen_str":
        return np.array([str(v) for v in data.reshape(-1)], dtype=h5py.string_dtype())
    if dtype == "array":
        return np.zeros(data.shape, dtype=("f4", (2,)))
    return data.astype(dtype)


def apply_h5_edit(f, edit, scratch: Path, tag: int) -> None:
    groups, datasets = _objects(f)
    kind, pick = edit[0], edit[1]
    dset = datasets[pick % len(datasets)] if datasets else None
    group = groups[pick % len(groups)]
    if kind in ("reshape", "dtype", "delete", "virtual", "external_storage", "shape_bomb",
                "unwritten", "empty", "nan") and dset is None:
        return
    shape = f[dset].shape if dset is not None else None
    # An empty dataset or an earlier shape bomb is neither read nor copied here.
    readable = shape is not None and f[dset].size <= 4096
    if kind in ("dtype", "nan") and not readable:
        return
    shape = (shape or (1,)) if readable else (4,)
    if kind == "reshape":
        _replace(f, dset, data=np.ones(edit[2], "float32"))
    elif kind == "dtype":
        _replace(f, dset, data=_retyped(np.asarray(f[dset][()]), edit[2]))
    elif kind == "delete":
        del f[dset]
    elif kind == "soft_link":
        f[group][f"soft{tag}"] = h5py.SoftLink(
            (datasets or groups)[edit[2] % len(datasets or groups)])
    elif kind == "hard_link":
        target = (datasets or groups)[edit[2] % len(datasets or groups)]
        f[group][f"hard{tag}"] = f[target]
    elif kind == "external_link":
        f[group][f"ext{tag}"] = h5py.ExternalLink(str(scratch / "other.h5"), "/x")
    elif kind == "virtual":
        source = scratch / "source.h5"
        with h5py.File(source, "w") as s:
            s["k"] = np.zeros(shape, "float32")
        layout = h5py.VirtualLayout(shape=shape, dtype="float32")
        layout[...] = h5py.VirtualSource(str(source), "k", shape=shape)
        parent, name = dset.rsplit("/", 1)
        del f[dset]
        f[parent or "/"].create_virtual_dataset(name, layout)
    elif kind == "external_storage":
        raw = scratch / "raw.bin"
        nbytes = int(np.prod(shape)) * 4
        raw.write_bytes(b"\0" * nbytes)
        _replace(f, dset, shape=shape, dtype="float32", external=[(str(raw), 0, nbytes)])
    elif kind == "shape_bomb":
        _replace(f, dset, shape=edit[2], dtype="float32", chunks=(1,) * len(edit[2]),
                 compression="gzip")
    elif kind == "unwritten":  # declared, never written: no storage at all
        _replace(f, dset, shape=shape, dtype="float32")
    elif kind == "empty":
        _replace(f, dset, data=h5py.Empty("f"))
    elif kind == "group":
        del f[dset]
        f.create_group(dset)
    elif kind == "extra":
        f[group].create_dataset(f"extra{tag}", data=np.zeros(2, "float32"))
    elif kind == "attr":
        f[group].attrs[edit[2]] = _attr_value(edit[3])
    elif kind == "datatype":
        f[group][f"type{tag}"] = np.dtype("f4")
    else:
        data = np.asarray(f[dset][()])
        if data.dtype.kind == "f":
            _replace(f, dset, data=np.full(data.shape, np.nan, data.dtype))


def mutate_h5(data: bytes, edits, scratch: Path) -> bytes:
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        for tag, edit in enumerate(edits):
            apply_h5_edit(f, edit, scratch, tag)
    return buffer.getvalue()


@_settings(800)
@given(target=st.sampled_from(["weights", "keras", "legacy", "legacy_weights"]),
       edits=st.lists(_h5_edit, min_size=1, max_size=3), compile=st.booleans(),
       lenient=st.booleans())
def test_hdf5_mutations_load_or_raise_value_error(corpus, target, edits, compile, lenient):
    if target == "weights":
        corpus.load_weights(mutate_h5(corpus.weights_bytes, edits, corpus.folder),
                            lenient=lenient)
    elif target == "keras":
        weights = mutate_h5(corpus.members["model.weights.h5"], edits, corpus.folder)
        corpus.load_keras(corpus.keras_with(weights=weights), compile=compile)
    elif target == "legacy":
        corpus.load_legacy_model(mutate_h5(corpus.legacy_bytes, edits, corpus.folder),
                                 compile)
    else:
        corpus.load_weights(mutate_h5(corpus.legacy_weights_bytes, edits, corpus.folder),
                            legacy=True, lenient=lenient)


# -- zip structure -------------------------------------------------------------------

_MEMBER_NAMES = ["config.json", "metadata.json", "model.weights.h5", "assets/", "assets",
                 "../config.json", "/config.json", "a/../config.json", "assets\\x",
                 "C:config.json", "config.json/", "variables.h5", "assets/vocabulary.txt",
                 ".", "./config.json"]
_zip_edit = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 10)),
    st.tuples(st.just("rename"), st.integers(0, 10), st.sampled_from(_MEMBER_NAMES)),
    st.tuples(st.just("duplicate"), st.integers(0, 10)),
    st.tuples(st.just("add"), st.sampled_from(_MEMBER_NAMES), st.binary(max_size=32)),
    st.tuples(st.just("swap"), st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.just("nest"), st.integers(0, 10)),
)


def _declared_size_patch(data: bytes, new_size: int) -> bytes:
    """Rewrites every central-directory entry's uncompressed size (a lying header)."""
    out = bytearray(data)
    start = 0
    while (pos := out.find(b"PK\x01\x02", start)) >= 0:
        out[pos + 24:pos + 28] = struct.pack("<I", new_size)
        start = pos + 4
    return bytes(out)


@_settings(600)
@given(edits=st.lists(_zip_edit, max_size=4),
       compression=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                    zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]),
       declared=st.sampled_from([None, 0, 1, 1 << 31, 0xFFFFFFFF]))
def test_zip_structure_mutations_load_or_raise_value_error(corpus, edits, compression,
                                                           declared):
    members = list(corpus.members.items())
    for edit in edits:
        kind = edit[0]
        if kind == "add":
            members.append((edit[1], edit[2]))
        elif not members:
            continue
        elif kind == "drop":
            members.pop(edit[1] % len(members))
        elif kind == "rename":
            i = edit[1] % len(members)
            members[i] = (edit[2], members[i][1])
        elif kind == "duplicate":
            members.append(members[edit[1] % len(members)])
        elif kind == "swap":
            i, j = edit[1] % len(members), edit[2] % len(members)
            members[i], members[j] = (members[i][0], members[j][1]), (members[j][0],
                                                                      members[i][1])
        else:
            i = edit[1] % len(members)
            members[i] = (members[i][0], corpus.zip_with(members))
    data = corpus.zip_with(members, compression)
    if declared is not None:
        data = _declared_size_patch(data, declared)
    corpus.load_keras(data)
    corpus.load_keras_weights(data)
