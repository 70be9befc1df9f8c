"""A config cannot make the loader allocate more than its weights can describe."""

import copy
import json
import time
import zipfile

import numpy as np
import pytest

import lamina as keras
from lamina.state import AllocationBudget, Variable


def _with_config(tiny_files, path, edit):
    config = copy.deepcopy(tiny_files.config)
    edit(config)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in tiny_files.members.items():
            zf.writestr(name, json.dumps(config) if name == "config.json" else data)
    return str(path)


def _layer(config, name):
    return next(entry for entry in config["config"]["layers"] if entry["name"] == name)


def test_huge_declared_layer_is_refused_before_allocating(tiny_files, tmp_path):
    def edit(config):
        _layer(config, "hidden")["config"]["units"] = 10**9
    path = _with_config(tiny_files, tmp_path / "huge.keras", edit)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="refused before allocating"):
        keras.models.load_model(path)
    assert time.perf_counter() - start < 10


def test_genuine_files_fit_their_budget(tiny_files):
    loaded = keras.models.load_model(tiny_files.keras_path)
    x = np.ones((2, 3), "float32")
    reference = tiny_files.model()
    reference.load_weights(tiny_files.weights_path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), reference.predict(x, verbose=0))


def test_budget_counts_bytes_and_nests():
    with AllocationBudget(100, "a test") as budget:
        Variable(lambda s, dtype: np.zeros(s, dtype), shape=(5, 5))  # 100 bytes
        assert budget.remaining == 0
        with pytest.raises(ValueError, match="a test"):
            Variable(lambda s, dtype: np.zeros(s, dtype), shape=(1,))
    Variable(lambda s, dtype: np.zeros(s, dtype), shape=(1000,))  # no budget outside
