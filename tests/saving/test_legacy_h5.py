"""Legacy Keras 2 / tf.keras HDF5 files: whole models and weights-only files.

The fixtures in tests/fixtures/legacy_h5 were written by real Keras 3.15.1's legacy
writer or, in the genuine Keras 2 schema, by make_fixtures.py; expected.npz holds the
predictions Keras computed for fixed inputs, so these tests need no Keras at run time.
"""

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import lamina as keras
from lamina.saving.legacy_h5 import is_legacy_h5, load_model_from_hdf5, load_weights_from_hdf5

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_h5"
L = keras.layers
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "expected.npz", allow_pickle=False) as data:
        return dict(data)


def _load(name, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model_from_hdf5(FIXTURES / name, **kwargs)
    return model, [str(w.message) for w in caught]


# -- whole models ----------------------------------------------------------------------

def test_mlp_predicts_and_continues_training_from_saved_optimizer_state(expected):
    model, caught = _load("mlp.h5")
    assert caught == []
    np.testing.assert_allclose(model.predict(expected["mlp_x"], verbose=0), expected["mlp_y"],
                               **TOL)
    assert type(model.optimizer).__name__ == "Adam"
    assert int(model.optimizer.iterations) == 4  # 2 epochs of 2 batches in Keras
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.01, rtol=1e-6)
    loss = model.train_on_batch(expected["mlp_x"], expected["mlp_train_y"])[0]
    np.testing.assert_allclose(loss, expected["mlp_step_loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(expected["mlp_x"], verbose=0),
                               expected["mlp_y_after_step"], **TOL)


def test_recurrent_model_with_batchnorm_embedding_lstm_bidirectional_gru(expected):
    model, caught = _load("recurrent.h5")
    assert any("not compiled" in m for m in caught)
    assert [type(layer).__name__ for layer in model.layers[1:]] == [
        "Embedding", "BatchNormalization", "LSTM", "Bidirectional", "Dense"]
    moving_variance = model.get_layer("norm").moving_variance
    with h5py.File(FIXTURES / "recurrent.h5") as f:
        saved = f["model_weights/norm/norm/moving_variance"][()]
    np.testing.assert_array_equal(np.asarray(moving_variance.value), saved)
    np.testing.assert_allclose(model.predict(expected["recurrent_x"], verbose=0),
                               expected["recurrent_y"], **TOL)


def test_two_input_two_output_model_is_compiled_from_training_config(expected):
    model, _ = _load("two_io.h5")
    ya, yb = model.predict([expected["two_io_xa"], expected["two_io_xb"]], verbose=0)
    np.testing.assert_allclose(ya, expected["two_io_ya"], **TOL)
    np.testing.assert_allclose(yb, expected["two_io_yb"], **TOL)
    assert type(model.optimizer).__name__ == "SGD"
    assert model.output_names == ["out_a", "out_b"]
    # loss_weights [1, 0.5] from the file: the total is mse + 0.5 * crossentropy.
    ta = np.zeros_like(ya)
    tb = np.eye(2, dtype="float32")[[0, 1, 0, 1]]
    logs = model.evaluate([expected["two_io_xa"], expected["two_io_xb"]], [ta, tb],
                          verbose=0, return_dict=True)
    mse = np.mean((ya - ta) ** 2)
    cce = np.mean(-np.sum(tb * np.log(np.clip(yb, 1e-7, 1.0)), axis=-1))
    np.testing.assert_allclose(logs["loss"], mse + 0.5 * cce, rtol=1e-4)


def test_sequential(expected):
    # Through the public entry point, which dispatches .h5 paths here.
    model = keras.models.load_model(FIXTURES / "sequential.h5", compile=False)
    assert isinstance(model, keras.Sequential)
    assert [layer.name for layer in model.layers] == ["s1", "drop", "s2"]
    np.testing.assert_allclose(model.predict(expected["sequential_x"], verbose=0),
                               expected["sequential_y"], **TOL)


def test_genuine_keras2_schema_is_converted(expected):
    model, caught = _load("keras2_functional.h5")
    np.testing.assert_allclose(
        model.predict([expected["keras2_x1"], expected["keras2_x2"]], verbose=0),
        expected["keras2_y"], **TOL)
    assert model.get_layer("leaky_re_lu").negative_slope == pytest.approx(0.2)
    assert model.get_layer("batch_normalization").axis == 1
    assert [t.name for t in model.inputs] == ["input_1", "input_2"]
    # tf.keras's OptimizerV2 slots (iter, all m, all v) do not map onto lamina's layout.
    assert type(model.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.002, rtol=1e-6)
    assert any("optimizer starts from a fresh state" in m for m in caught)
    assert int(model.optimizer.iterations) == 0


def test_path_dispatch_rule():
    assert is_legacy_h5("m.h5") and is_legacy_h5(Path("m.hdf5"))
    assert not is_legacy_h5("m.weights.h5") and not is_legacy_h5("m.keras")


# -- weights-only files ----------------------------------------------------------------

def _mlp(names=("hidden", "probs"), units=8, bias=True):
    inp = keras.Input((4,))
    h = L.Dense(units, activation="relu", name=names[0])(inp)
    return keras.Model(inp, L.Dense(3, activation="softmax", use_bias=bias, name=names[1])(h))


def test_weights_by_topological_order_ignore_names(expected):
    model = _mlp(names=("first", "second"))
    load_weights_from_hdf5(model, FIXTURES / "mlp_weights.h5")
    np.testing.assert_allclose(model.predict(expected["mlp_x"], verbose=0), expected["mlp_y"],
                               **TOL)


def test_weights_by_order_refuse_a_different_layer_count():
    inp = keras.Input((4,))
    model = keras.Model(inp, L.Dense(3, name="only")(inp))
    with pytest.raises(ValueError, match="holds 2 layers with weights"):
        load_weights_from_hdf5(model, FIXTURES / "mlp_weights.h5")


def test_weights_by_name_load_matching_layers_only():
    model = _mlp(names=("hidden", "renamed"))
    before = model.get_layer("renamed").get_weights()
    model.load_weights(FIXTURES / "mlp_weights.h5", by_name=True)
    with h5py.File(FIXTURES / "mlp_weights.h5") as f:
        kernel = f["hidden/hidden/kernel"][()]
    np.testing.assert_array_equal(model.get_layer("hidden").get_weights()[0], kernel)
    for a, b in zip(model.get_layer("renamed").get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_weights_by_name_mismatches_raise_or_are_skipped_with_a_warning():
    model = _mlp(units=5, bias=False)  # hidden kernel (4, 5) vs (4, 8); probs has no bias
    with pytest.raises(ValueError, match="hidden"):
        load_weights_from_hdf5(model, FIXTURES / "mlp_weights.h5", by_name=True)
    before = model.get_weights()
    with pytest.warns(UserWarning) as record:
        load_weights_from_hdf5(model, FIXTURES / "mlp_weights.h5", by_name=True,
                               skip_mismatch=True)
    messages = " ".join(str(w.message) for w in record)
    assert "mismatch in shape" in messages and "probs" in messages
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])  # kernel (4, 8) in the file: skipped
    np.testing.assert_array_equal(after[1], before[1])  # bias (8,) in the file: skipped
    np.testing.assert_array_equal(after[2], before[2])  # probs: weight count differs
    with pytest.raises(ValueError, match="by_name"):
        load_weights_from_hdf5(model, FIXTURES / "mlp_weights.h5", skip_mismatch=True)


def test_recurrent_weights_by_order(expected):
    inp = keras.Input((6,), dtype="int32")
    h = L.Embedding(12, 4)(inp)
    h = L.BatchNormalization()(h)
    h = L.LSTM(3, return_sequences=True)(h)
    h = L.Bidirectional(L.GRU(2))(h)
    model = keras.Model(inp, L.Dense(2)(h))
    load_weights_from_hdf5(model, FIXTURES / "recurrent_weights.h5")
    np.testing.assert_allclose(model.predict(expected["recurrent_x"], verbose=0),
                               expected["recurrent_y"], **TOL)


def test_keras2_weights_file_by_order(expected):
    i1, i2 = keras.Input((5, 3)), keras.Input((4,))
    h1 = L.LSTM(3)(i1)
    h2 = L.LeakyReLU(negative_slope=0.2)(L.BatchNormalization(axis=1)(i2))
    h = L.Dropout(0.25)(L.Concatenate()([h1, h2]))
    model = keras.Model([i1, i2], L.Dense(2, activation="softmax")(h))
    model.load_weights(str(FIXTURES / "keras2_weights.h5"))
    np.testing.assert_allclose(
        model.predict([expected["keras2_x1"], expected["keras2_x2"]], verbose=0),
        expected["keras2_y"], **TOL)


# -- Lambda bytecode (CVE-2025-9905's shape) --------------------------------------------

@pytest.mark.parametrize("name, layer", [("lambda.h5", "affine"),
                                         ("keras2_lambda.h5", "lambda")])
def test_lambda_bytecode_is_refused_in_safe_mode(name, layer):
    with pytest.raises(ValueError, match=rf"'{layer}'.*safe_mode=False.*"
                                         r"enable_unsafe_deserialization"):
        keras.saving.load_model(FIXTURES / name)


def test_lambda_loads_when_the_caller_opts_in(expected, monkeypatch):
    model, _ = _load("lambda.h5", safe_mode=False, compile=False)
    np.testing.assert_allclose(model.predict(expected["lambda_x"], verbose=0),
                               expected["lambda_y"], **TOL)
    monkeypatch.setitem(keras.config._SETTINGS, "unsafe_deserialization", False)
    keras.config.enable_unsafe_deserialization()
    model, _ = _load("keras2_lambda.h5", compile=False)
    np.testing.assert_allclose(model(expected["keras2_lambda_x"]), expected["keras2_lambda_y"],
                               **TOL)


# -- malformed files -------------------------------------------------------------------

def _copy(tmp_path, name="mlp.h5"):
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    return target


def _set_config(f, edit):
    import json

    config = json.loads(f.attrs["model_config"])
    edit(config["config"]["layers"])
    f.attrs["model_config"] = json.dumps(config)


def _replace_kernel(f, **kwargs):
    del f["model_weights/hidden/hidden/kernel"]
    f["model_weights/hidden/hidden"].create_dataset("kernel", **kwargs)


MUTATIONS = {
    "no model_config": (lambda f: f.attrs.__delitem__("model_config"), "No model config"),
    "model_config not JSON": (lambda f: f.attrs.__setitem__("model_config", "{oops"),
                              "not valid JSON"),
    "unknown class": (lambda f: _set_config(f, lambda layers: layers[1].__setitem__(
        "class_name", "EvilLayer")), "EvilLayer"),
    "module and function": (lambda f: _set_config(f, lambda layers: layers[1].update(
        {"module": "os", "class_name": "system"})), "system"),
    "dotted class name": (lambda f: _set_config(f, lambda layers: layers[1].__setitem__(
        "class_name", "os.system")), "Invalid class name"),
    "tf op layer": (lambda f: _set_config(f, lambda layers: layers[1].__setitem__(
        "class_name", "TFOpLambda")), "TensorFlow op"),
    "inbound node to nowhere": (lambda f: _set_config(f, lambda layers: layers[1].__setitem__(
        "inbound_nodes", [[["ghost", 0, 0, {}]]])), "ghost"),
    "external link": (lambda f: f["model_weights/hidden"].__setitem__(
        "extra", h5py.ExternalLink("/etc/passwd", "/x")), "external link"),
    "soft link": (lambda f: f["model_weights/hidden"].__setitem__(
        "extra", h5py.SoftLink("/model_weights/probs")), "soft link"),
    "shape bomb": (lambda f: _replace_kernel(f, shape=(1 << 15, 1 << 13), dtype="float32",
                                             chunks=(1024, 1024), compression="gzip"),
                   r"declares shape \(32768, 8192\) \(1073741824 bytes\) from only 0 stored"),
    "uncompressed shape bomb": (lambda f: _replace_kernel(f, shape=(4, 8), dtype="float64",
                                                         data=None), "stores only"),
    "wrong shape": (lambda f: _replace_kernel(f, data=np.zeros((4, 9), "float32")),
                    "hidden.*shape"),
    "string weights": (lambda f: _replace_kernel(f, data=np.array([b"a", b"b"])), "dtype"),
    "missing dataset": (lambda f: f["model_weights/hidden/hidden"].__delitem__("kernel"),
                        "no dataset"),
    "layer_names not strings": (lambda f: f["model_weights"].attrs.__setitem__(
        "layer_names", np.arange(3)), "list of strings"),
    "missing layer group": (lambda f: f["model_weights"].__delitem__("hidden"), "hidden"),
    "training_config not JSON": (lambda f: f.attrs.__setitem__("training_config", "[1,"),
                                 "training_config"),
}


def _virtual_kernel(f, tmp_dir):
    source = tmp_dir / "source.h5"
    with h5py.File(source, "w") as s:
        s["k"] = np.zeros((4, 8), "float32")
    layout = h5py.VirtualLayout(shape=(4, 8), dtype="float32")
    layout[:] = h5py.VirtualSource(str(source), "k", shape=(4, 8))
    del f["model_weights/hidden/hidden/kernel"]
    f["model_weights/hidden/hidden"].create_virtual_dataset("kernel", layout)


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_malformed_files_raise_value_error(tmp_path, case):
    mutate, message = MUTATIONS[case]
    path = _copy(tmp_path)
    with h5py.File(path, "a") as f:
        mutate(f)
    with pytest.raises(ValueError, match=message):
        load_model_from_hdf5(path)


def test_virtual_dataset_and_external_storage_are_refused(tmp_path):
    path = _copy(tmp_path)
    with h5py.File(path, "a") as f:
        _virtual_kernel(f, tmp_path)
    with pytest.raises(ValueError, match="virtual"):
        load_model_from_hdf5(path)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros((4, 8), "float32").tobytes())
    path = _copy(tmp_path)
    with h5py.File(path, "a") as f:
        _replace_kernel(f, shape=(4, 8), dtype="float32", external=[(str(raw), 0, 128)])
    with pytest.raises(ValueError, match="external"):
        load_weights_from_hdf5(_mlp(), path)


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_model_from_hdf5(path)
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_weights_from_hdf5(_mlp(), path)


def test_a_failed_load_changes_no_weight(tmp_path):
    path = _copy(tmp_path, "mlp_weights.h5")
    with h5py.File(path, "a") as f:
        del f["probs/probs/bias"]
        f["probs/probs"].create_dataset("bias", data=np.zeros(4, "float32"))
    model = _mlp()
    before = model.get_weights()
    with pytest.raises(ValueError, match="probs"):
        load_weights_from_hdf5(model, path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_time_major_rnn_is_refused(tmp_path):
    path = _copy(tmp_path, "keras2_functional.h5")

    def edit(layers):
        next(e for e in layers if e["name"] == "lstm")["config"]["time_major"] = True

    with h5py.File(path, "a") as f:
        _set_config(f, edit)
    with pytest.raises(ValueError, match="time_major"):
        load_model_from_hdf5(path)


def test_keras2_nested_sequential_weights_trainable_first(expected):
    # tf.keras lists a nested model's weights as all trainable, then all non-trainable.
    model, _ = _load("keras2_nested.h5")
    block = model.get_layer("block")
    assert isinstance(block, keras.Sequential)
    with h5py.File(FIXTURES / "keras2_nested.h5") as f:
        moving_mean = f["model_weights/block/bn/moving_mean:0"][()]
    np.testing.assert_array_equal(np.asarray(block.get_layer("bn").moving_mean.value),
                                  moving_mean)
    np.testing.assert_allclose(model.predict(expected["keras2_nested_x"], verbose=0),
                               expected["keras2_nested_y"], **TOL)
