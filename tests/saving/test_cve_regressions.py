"""Regression tests shaped after the published Keras loader vulnerabilities.

Each builds the malicious file the advisory describes (from the tiny model's valid
files, conftest ``tiny_files``), loads it the default way (safe mode), and checks that
it is refused with a ValueError naming the problem *and* that nothing happened: the
sentinel file the payload would create does not exist, the patched function the payload
would reach was not called, no module named in the file was imported, and
unsafe deserialization is still off.

- CVE-2025-1550: a config naming an arbitrary module and function.
- CVE-2025-8747: a file-fetching utility (``get_file``) reachable from a config.
- CVE-2025-9906: a Lambda that turns unsafe deserialization on or loads a nested model.
- CVE-2025-9905: a legacy ``.h5`` Lambda under safe mode.
- CVE-2025-12058: a preprocessing layer whose config names a vocabulary file to read.
- CVE-2026-0897: an HDF5 dataset whose declared shape dwarfs its stored bytes.
"""

import builtins
import copy
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import lamina as keras
from lamina.saving import lambda_code, saving_lib
from lamina.saving.allow_list import _allowed_bases, builtin_classes, builtin_functions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_h5"


@pytest.fixture(autouse=True)
def safe_by_default(monkeypatch):
    """Every test starts with unsafe deserialization off and ends checking it is."""
    monkeypatch.setitem(keras.config._SETTINGS, "unsafe_deserialization", False)
    yield
    assert not keras.config.unsafe_deserialization_enabled()


class Recorder:
    """Stands in for a function a payload would reach; records every call."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))


def _write_keras(path, tiny_files, config) -> Path:
    members = dict(tiny_files.members, **{"config.json": json.dumps(config).encode()})
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _with_layer(tiny_files, name, entry) -> dict:
    """The tiny model's config with layer ``name`` replaced by ``entry`` (which keeps
    the layer's name and inbound nodes)."""
    config = copy.deepcopy(tiny_files.config)
    layers = config["config"]["layers"]
    i = next(i for i, e in enumerate(layers) if e["name"] == name)
    layers[i] = dict(entry, name=name, inbound_nodes=layers[i]["inbound_nodes"])
    return config


def _lambda_entry(function, **config) -> dict:
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "norm", "function": function, "arguments": {}, **config}}


def _function(module, name) -> dict:
    return {"module": module, "class_name": "function", "config": name,
            "registered_name": "function"}


# -- CVE-2025-1550: arbitrary module and function -------------------------------------

def _payload_entries(sentinel: Path) -> dict:
    return {
        "os.system": {"module": "os", "class_name": "system", "registered_name": None,
                      "config": {"command": f"touch {sentinel}"}},
        "subprocess.Popen": {"module": "subprocess", "class_name": "Popen",
                             "registered_name": None,
                             "config": {"args": ["touch", str(sentinel)]}},
        "builtins.exec": {"module": "builtins", "class_name": "exec", "registered_name": None,
                          "config": {"source": f"open({str(sentinel)!r}, 'w')"}},
        "registered os>system": {"module": "os", "class_name": "system",
                                 "registered_name": "os>system", "config": {}},
        "keras module, os class": {"module": "keras.layers", "class_name": "system",
                                   "registered_name": None, "config": {}},
        "function record as a layer": _function("os", "system"),
    }


@pytest.mark.parametrize("case", sorted(_payload_entries(Path("x"))))
def test_cve_2025_1550_config_naming_a_module_and_function(tmp_path, tiny_files,
                                                           monkeypatch, case):
    sentinel = tmp_path / "pwned"
    os_system, popen = Recorder(), Recorder()
    monkeypatch.setattr(os, "system", os_system)
    monkeypatch.setattr(subprocess, "Popen", popen)
    config = _with_layer(tiny_files, "hidden", _payload_entries(sentinel)[case])
    path = _write_keras(tmp_path / "m.keras", tiny_files, config)
    with pytest.raises(ValueError, match=r"Could not locate (class|function) '(os>)?system|"
                                         r"Could not locate class '(Popen|exec)'"):
        keras.saving.load_model(path)
    assert not sentinel.exists()
    assert os_system.calls == [] and popen.calls == []


@pytest.mark.parametrize("where", ["activation", "lambda", "loss", "metric"])
@pytest.mark.parametrize("module, name", [("builtins", "exec"), ("builtins", "eval"),
                                          ("os", "system"), ("subprocess", "check_output"),
                                          ("builtins", "__import__")])
def test_cve_2025_1550_function_records_naming_builtins_or_os(tmp_path, tiny_files,
                                                              monkeypatch, where, module,
                                                              name):
    os_system, check_output = Recorder(), Recorder()
    monkeypatch.setattr(os, "system", os_system)
    monkeypatch.setattr(subprocess, "check_output", check_output)
    record = _function(module, name)
    config = copy.deepcopy(tiny_files.config)
    if where == "activation":
        config["config"]["layers"][1]["config"]["activation"] = record
    elif where == "lambda":
        config = _with_layer(tiny_files, "norm", _lambda_entry(record))
    elif where == "loss":
        config["compile_config"]["loss"] = record
    else:
        config["compile_config"]["metrics"] = [record]
    path = _write_keras(tmp_path / "m.keras", tiny_files, config)
    with pytest.raises(ValueError, match=f"Could not locate function '{name}'"):
        keras.saving.load_model(path)
    assert os_system.calls == [] and check_output.calls == []


def test_cve_2025_1550_a_module_named_in_a_file_is_never_imported(tmp_path, tiny_files,
                                                                  monkeypatch):
    sentinel = tmp_path / "imported"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "lamina_evil_module.py").write_text(
        f"open({str(sentinel)!r}, 'w').close()\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(package))
    entry = {"module": "lamina_evil_module", "class_name": "Evil", "registered_name": None,
             "config": {}}
    path = _write_keras(tmp_path / "m.keras", tiny_files,
                        _with_layer(tiny_files, "hidden", entry))
    with pytest.raises(ValueError, match="Could not locate class 'Evil'"):
        keras.saving.load_model(path)
    assert not sentinel.exists()
    assert "lamina_evil_module" not in sys.modules


# -- CVE-2025-8747: a utility that fetches or writes files -----------------------------

_FILE_UTILITIES = ["get_file", "load_model", "save_model", "load_weights", "save_weights",
                   "save_img", "load_img", "plot_model", "image_dataset_from_directory",
                   "text_dataset_from_directory", "enable_unsafe_deserialization"]


def test_cve_2025_8747_no_file_utility_is_on_the_allow_list():
    functions = builtin_functions()
    for name in _FILE_UTILITIES:
        assert name not in functions
    modules = {fn.__module__.split(".")[1] for fn in functions.values()}
    assert modules <= {"activations", "losses", "metrics"}, modules
    assert keras.utils.get_file not in functions.values()
    bases = _allowed_bases()
    for table in builtin_classes().values():
        for name, cls in table.items():
            assert issubclass(cls, bases), name
            assert name not in _FILE_UTILITIES


@pytest.mark.parametrize("form", ["class", "lambda function", "activation", "loss",
                                  "initializer"])
def test_cve_2025_8747_get_file_is_unreachable_from_a_config(tmp_path, tiny_files,
                                                            monkeypatch, form):
    import lamina.utils

    get_file = Recorder()
    monkeypatch.setattr(lamina.utils, "get_file", get_file)
    monkeypatch.setattr(sys.modules[keras.utils.get_file.__module__], "get_file", get_file,
                        raising=False)
    target = tmp_path / "fetched.txt"
    arguments = {"fname": str(target), "origin": "http://127.0.0.1:9/evil.txt",
                 "cache_dir": str(tmp_path)}
    config = copy.deepcopy(tiny_files.config)
    record = _function("keras.utils", "get_file")
    if form == "class":
        config = _with_layer(tiny_files, "hidden", {
            "module": "keras.utils", "class_name": "get_file", "registered_name": None,
            "config": arguments})
    elif form == "lambda function":
        config = _with_layer(tiny_files, "norm", _lambda_entry(record))
        config["config"]["layers"][2]["config"]["arguments"] = arguments
    elif form == "activation":
        config["config"]["layers"][1]["config"]["activation"] = record
    elif form == "loss":
        config["compile_config"]["loss"] = record
    else:
        config["config"]["layers"][1]["config"]["kernel_initializer"] = {
            "module": "keras.utils", "class_name": "get_file", "registered_name": None,
            "config": arguments}
    path = _write_keras(tmp_path / "m.keras", tiny_files, config)
    with pytest.raises(ValueError, match="Could not locate (class|function) 'get_file'"):
        keras.saving.load_model(path)
    assert get_file.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


# -- CVE-2025-9906: a Lambda that turns safe mode off or loads a nested model ---------------

def _bytecode_lambda(sentinel: Path) -> dict:
    """A Keras ``__lambda__`` record whose code would turn unsafe deserialization on and
    create ``sentinel`` when the layer is called (as it is when the model is rebuilt)."""
    path = str(sentinel)
    fn = lambda x: (keras.config.enable_unsafe_deserialization(),  # noqa: E731
                    open(path, "w").close(), x)[-1]
    return lambda_code.dump_lambda(fn)


def test_cve_2025_9906_lambda_naming_enable_unsafe_deserialization(tmp_path, tiny_files):
    sentinel = tmp_path / "pwned"
    config = _with_layer(tiny_files, "norm", _lambda_entry(
        _function("keras.config", "enable_unsafe_deserialization")))
    # The exploit's second stage: a bytecode Lambda after the first one.
    config["config"]["layers"][3] = dict(
        _lambda_entry(_bytecode_lambda(sentinel)), name="probs",
        inbound_nodes=config["config"]["layers"][3]["inbound_nodes"])
    config["config"]["layers"][3]["config"]["name"] = "probs"
    path = _write_keras(tmp_path / "m.keras", tiny_files, config)
    with pytest.raises(ValueError, match="Could not locate function "
                                         "'enable_unsafe_deserialization'"):
        keras.saving.load_model(path)
    assert not keras.config.unsafe_deserialization_enabled()
    assert not sentinel.exists()


def test_cve_2025_9906_lambda_bytecode_is_refused_before_it_is_decoded(tmp_path, tiny_files,
                                                                       monkeypatch):
    sentinel = tmp_path / "pwned"
    loads = Recorder()
    monkeypatch.setattr(lambda_code.marshal, "loads", loads)
    config = _with_layer(tiny_files, "norm", _lambda_entry(_bytecode_lambda(sentinel)))
    path = _write_keras(tmp_path / "m.keras", tiny_files, config)
    with pytest.raises(ValueError, match=r"Lambda layer 'norm'.*bytecode.*refused in safe "
                                         r"mode.*safe_mode=False.*"
                                         r"enable_unsafe_deserialization"):
        keras.saving.load_model(path)
    assert loads.calls == []
    assert not keras.config.unsafe_deserialization_enabled()
    assert not sentinel.exists()
    # The same file through the other entry points.
    with pytest.raises(ValueError, match="Lambda layer 'norm'"):
        keras.saving.saving_lib.model_from_config(config)
    with pytest.raises(ValueError, match="Lambda layer 'norm'"):
        keras.models.model_from_json(json.dumps(config))
    assert loads.calls == [] and not sentinel.exists()


def test_cve_2025_9906_lambda_loading_a_nested_model(tmp_path, tiny_files, monkeypatch):
    real_load_model = saving_lib.load_model
    nested = Recorder()
    monkeypatch.setattr(saving_lib, "load_model", nested)
    monkeypatch.setattr(keras.models, "load_model", nested, raising=False)
    inner = tmp_path / "inner.keras"
    shutil.copy(tiny_files.keras_path, inner)
    for module, name in [("keras.saving", "load_model"), ("keras.models", "load_model"),
                         ("keras.models", "model_from_json")]:
        config = _with_layer(tiny_files, "norm", _lambda_entry(
            _function(module, name), arguments={"filepath": str(inner)}))
        path = _write_keras(tmp_path / "m.keras", tiny_files, config)
        with pytest.raises(ValueError, match=f"Could not locate function '{name}'"):
            real_load_model(path)
    assert nested.calls == []


# -- CVE-2025-9905: legacy .h5 Lambda under safe mode ------------------------------------

def _legacy_lambda_file(tmp_path, sentinel: Path) -> Path:
    """keras2_lambda.h5 with its Lambda's bytecode replaced by a payload that would turn
    unsafe deserialization on and create ``sentinel``."""
    path = tmp_path / "evil.h5"
    shutil.copy(FIXTURES / "keras2_lambda.h5", path)
    code = _bytecode_lambda(sentinel)["config"]["code"]
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        entry = next(e for e in config["config"]["layers"] if e["class_name"] == "Lambda")
        entry["config"]["function"] = [code, None, [str(sentinel)]]
        f.attrs["model_config"] = json.dumps(config)
    return path


def test_cve_2025_9905_legacy_h5_lambda_is_refused_in_safe_mode(tmp_path, monkeypatch):
    sentinel = tmp_path / "pwned"
    loads = Recorder()
    monkeypatch.setattr(lambda_code.marshal, "loads", loads)
    path = _legacy_lambda_file(tmp_path, sentinel)
    message = (r"Lambda layer 'lambda'.*refused in safe mode.*safe_mode=False.*"
               r"enable_unsafe_deserialization")
    with pytest.raises(ValueError, match=message):
        keras.saving.load_model(path)
    with pytest.raises(ValueError, match=message):
        keras.saving.load_model(path, safe_mode=True, compile=False)
    assert loads.calls == []
    assert not sentinel.exists()


def test_cve_2025_9905_payload_is_live_outside_safe_mode(tmp_path):
    """The control: the same file with safe_mode=False does run the payload, so the
    refusal above is what stops it (and the unsafe flag is restored afterwards)."""
    sentinel = tmp_path / "pwned"
    model = keras.saving.load_model(_legacy_lambda_file(tmp_path, sentinel), safe_mode=False,
                                    compile=False)
    model(np.ones((1, 2), "float32"))
    assert sentinel.exists()
    keras.config._SETTINGS["unsafe_deserialization"] = False


# -- CVE-2025-12058: a vocabulary file named in a config -----------------------------------

_LOOKUPS = {
    "StringLookup": (lambda: keras.layers.StringLookup(vocabulary=["a", "b"], name="lk"),
                     "alpha\nbeta\n", ["[UNK]", "alpha", "beta"]),
    "IntegerLookup": (lambda: keras.layers.IntegerLookup(vocabulary=[3, 4], name="lk"),
                      "7\n8\n", [-1, 7, 8]),
    "TextVectorization": (lambda: keras.layers.TextVectorization(vocabulary=["a", "b"],
                                                                 name="lk"),
                          "alpha\nbeta\n", ["", "[UNK]", "alpha", "beta"]),
}


class OpenRecorder:
    """Wraps ``builtins.open`` and ``os.path.exists``, recording accesses to ``path``."""

    def __init__(self, monkeypatch, path: Path):
        self.path, self.accesses = str(path), []
        real_open, real_exists = builtins.open, os.path.exists

        def recording_open(file, *args, **kwargs):
            if str(file) == self.path:
                self.accesses.append("open")
            return real_open(file, *args, **kwargs)

        def recording_exists(file):
            if str(file) == self.path:
                self.accesses.append("exists")
            return real_exists(file)

        monkeypatch.setattr(builtins, "open", recording_open)
        monkeypatch.setattr(os.path, "exists", recording_exists)


def _lookup_file(tmp_path, make_layer, vocabulary_path) -> Path:
    model = keras.Sequential([make_layer()], name="lookup_model")
    path = tmp_path / f"lookup_{Path(vocabulary_path).stem}.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][0]["config"]["vocabulary"] = str(vocabulary_path)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("layer", sorted(_LOOKUPS))
def test_cve_2025_12058_vocabulary_file_in_a_config_is_not_read(tmp_path, monkeypatch,
                                                                layer):
    make_layer, content, vocabulary = _LOOKUPS[layer]
    secret = tmp_path / "secret.txt"
    secret.write_text(content)
    path = _lookup_file(tmp_path, make_layer, secret)
    recorder = OpenRecorder(monkeypatch, secret)
    with pytest.raises(ValueError, match=r"vocabulary file \('.*secret.txt'\).*refused in "
                                         r"safe mode.*safe_mode=False"):
        keras.saving.load_model(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    with pytest.raises(ValueError, match="vocabulary file"):
        keras.layers.deserialize(config["config"]["layers"][0])
    assert recorder.accesses == []
    # A file that does not exist gets the same refusal (no probe of the file system).
    missing = _lookup_file(tmp_path, make_layer, tmp_path / "no_such_file.txt")
    with pytest.raises(ValueError, match="refused in safe mode"):
        keras.saving.load_model(missing)
    # The control: outside safe mode the path is read, as Keras does.
    loaded = keras.saving.load_model(path, safe_mode=False)
    assert loaded.layers[0].get_vocabulary() == vocabulary
    assert recorder.accesses != []


def test_cve_2025_12058_lookup_layers_built_in_code_still_read_their_file(tmp_path):
    secret = tmp_path / "vocab.txt"
    secret.write_text("alpha\nbeta\n")
    assert keras.layers.StringLookup(vocabulary=str(secret)).get_vocabulary() == [
        "[UNK]", "alpha", "beta"]


def test_cve_2025_12058_discretization_boundaries_named_as_a_path_open_nothing(
        tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("0.5\n")
    model = keras.Sequential([keras.layers.Discretization(bin_boundaries=[0.0, 1.0],
                                                          name="lk")])
    path = tmp_path / "d.keras"
    model.save(path)
    members = {i.filename: zipfile.ZipFile(path).read(i) for i in
               zipfile.ZipFile(path).infolist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][0]["config"]["bin_boundaries"] = str(secret)
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    recorder = OpenRecorder(monkeypatch, secret)
    try:
        keras.saving.load_model(path)
    except ValueError:
        pass
    assert recorder.accesses == []


# -- CVE-2026-0897: declared shape dwarfing the stored bytes -------------------------------

def _bomb(data: bytes, **dataset) -> bytes:
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", **dataset)
    return buffer.getvalue()


BOMBS = {
    "gzip chunks never written": dict(shape=(1 << 16, 1 << 14), dtype="float32",
                                      chunks=(256, 256), compression="gzip"),
    "contiguous never written": dict(shape=(1 << 14, 1 << 14), dtype="float64"),
    "exabyte declaration": dict(shape=(1 << 30, 1 << 30), dtype="float32", chunks=(1, 1),
                                compression="gzip"),
}


@pytest.mark.parametrize("container", ["keras", "weights"])
@pytest.mark.parametrize("case", sorted(BOMBS))
def test_cve_2026_0897_declared_shape_dwarfing_stored_bytes(tmp_path, tiny_files,
                                                            container, case):
    weights = _bomb(tiny_files.weights_bytes, **BOMBS[case])
    if container == "keras":
        path = tmp_path / "m.keras"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in dict(tiny_files.members, **{"model.weights.h5": weights}).items():
                zf.writestr(name, data)
        load = lambda: keras.saving.load_model(path)  # noqa: E731
    else:
        path = tmp_path / "m.weights.h5"
        path.write_bytes(weights)
        model = tiny_files.model()
        load = lambda: model.load_weights(path)  # noqa: E731
    assert len(weights) < 64 << 10  # a small file...
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"dataset '/layers/dense/vars/0' declares .*(stores "
                                         r"only|from only|more than any weight)"):
        load()
    assert time.monotonic() - start < 5.0  # ...refused without expanding it
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 256 << 10, f"peak memory grew by {grown_kib} KiB"


def test_cve_2026_0897_legacy_h5_shape_bomb(tmp_path):
    path = tmp_path / "bomb.h5"
    shutil.copy(FIXTURES / "mlp.h5", path)
    with h5py.File(path, "a") as f:
        group = f["model_weights/hidden/hidden"]
        del group["kernel"]
        group.create_dataset("kernel", shape=(1 << 16, 1 << 14), dtype="float32",
                             chunks=(256, 256), compression="gzip")
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match=r"declares shape \(65536, 16384\) \(4294967296 "
                                         r"bytes\) from only 0 stored bytes"):
        keras.saving.load_model(path)


def test_marshal_is_only_reachable_through_the_safe_mode_gate():
    """The loaders decode Python bytecode in one place (lambda_code), behind the gate."""
    root = Path(keras.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if "marshal.loads" in p.read_text())
    assert users == ["saving/lambda_code.py"]
