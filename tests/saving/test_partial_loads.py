"""A weights file that fails to load leaves the model exactly as it was."""

import h5py
import numpy as np
import pytest


def test_failed_load_assigns_nothing(tiny_files, tmp_path):
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(tiny_files.weights_bytes)
    with h5py.File(bad, "r+") as f:  # the last layer's kernel gets a wrong shape
        kernel = "layers/dense_1/vars/0"
        del f[kernel]
        f[kernel] = np.zeros((5, 2), "float32")
    model = tiny_files.model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="dense_1"):
        model.load_weights(bad)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    with pytest.warns(UserWarning, match="dense_1"):
        model.load_weights(bad, skip_mismatch=True)  # the rest loads
    reference = tiny_files.model()
    reference.load_weights(tiny_files.weights_path)
    np.testing.assert_array_equal(model.get_weights()[0], reference.get_weights()[0])
    np.testing.assert_array_equal(model.get_weights()[-2], before[-2])
