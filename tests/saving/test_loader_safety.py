"""Custom objects, hooks, weights-only files, JSON configs, Lambda bytecode under
safe mode, and malformed files: every problem with a file is a ValueError naming it."""

import json
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 4)).astype("float32")


def small(K, units=2):
    inp = K.Input((4,))
    return K.Model(inp, K.layers.Dense(units, name="out")(K.layers.Dense(3)(inp)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safety")
    model = small(lamina)
    model.save(folder / "m.keras")
    model.save_weights(folder / "m.weights.h5")
    return model, folder


def rewrite(src, dst, **members):
    """Copies the .keras archive ``src`` to ``dst`` with members replaced/added."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename not in members:
                zout.writestr(info.filename, zin.read(info.filename))
        for name, data in members.items():
            if data is not None:
                zout.writestr(name, data)


# -- weights-only files -------------------------------------------------------------
@pytest.mark.parametrize("direction", ["lamina_to_keras", "keras_to_lamina"])
def test_weights_files_both_ways(direction, tmp_path):
    src_lib, dst_lib = (lamina, keras) if direction == "lamina_to_keras" else (keras, lamina)
    src, dst = small(src_lib), small(dst_lib)
    src.save_weights(tmp_path / "w.weights.h5")
    dst.load_weights(tmp_path / "w.weights.h5")
    assert_close(dst.predict(X, verbose=0), src.predict(X, verbose=0))


def test_load_weights_shape_mismatch_raises_or_skips(saved, tmp_path):
    _, folder = saved
    other = small(lamina, units=5)
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense_1.*shape \(3, 2\).*\(3, 5\)"):
        other.load_weights(folder / "m.weights.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other.load_weights(folder / "m.weights.h5", skip_mismatch=True)
    assert any("layers/dense_1" in str(w.message) for w in caught)
    assert_close(other.get_weights()[2:], before[2:])  # the mismatched layer is untouched
    assert_close(other.get_weights()[:2], saved[0].get_weights()[:2])  # the other one loaded


def test_weights_filename_must_say_weights(saved, tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        saved[0].save_weights(tmp_path / "w.h5x")


# -- configs -------------------------------------------------------------------------
def test_to_json_model_from_json_round_trip(saved):
    model = saved[0]
    rebuilt = lamina.models.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()
    keras_model = keras.models.model_from_json(model.to_json())
    assert [type(x).__name__ for x in keras_model.layers] == ["InputLayer", "Dense", "Dense"]


@lamina.saving.register_keras_serializable(package="SavingTest")
class Scaled(lamina.layers.Layer):
    """A custom layer whose state is stored as Keras's hooks say (one array, doubled)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}

    def save_own_variables(self, store):
        store["doubled"] = np.asarray(self.w.value) * 2

    def load_own_variables(self, store):
        self.w.assign(np.asarray(store["doubled"]) / 2)


@lamina.saving.register_keras_serializable(package="SavingTest")
class TwoDense(lamina.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = lamina.layers.Dense(units)
        self.second = lamina.layers.Dense(1)

    def call(self, x):
        return self.second(self.first(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_layer_hooks_and_registered_class(tmp_path):
    inp = lamina.Input((4,))
    model = lamina.Model(inp, Scaled(3.0)(inp))
    model.layers[1].w.assign(np.arange(4, dtype="float32"))
    model.save(tmp_path / "c.keras")
    with h5py.File(zipfile.ZipFile(tmp_path / "c.keras").open("model.weights.h5")) as f:
        assert_close(f["layers/scaled/vars/doubled"][()], 2 * np.arange(4))
    loaded = lamina.models.load_model(tmp_path / "c.keras")
    assert isinstance(loaded.layers[1], Scaled) and loaded.layers[1].factor == 3.0
    assert_close(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_subclassed_model_by_config_with_custom_objects(tmp_path):
    model = TwoDense(units=3)
    model(X)
    model.compile("sgd", "mse")
    model.save(tmp_path / "s.keras")
    with h5py.File(zipfile.ZipFile(tmp_path / "s.keras").open("model.weights.h5")) as f:
        # Keras's attribute order: "first" < "layers" (which then holds "second") < ...
        assert "first/vars/0" in f and "layers/dense_1/vars/0" in f and "second" not in f
    loaded = lamina.models.load_model(tmp_path / "s.keras", custom_objects={"TwoDense": TwoDense})
    assert isinstance(loaded, TwoDense) and loaded.units == 3
    assert_close(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_unknown_class_names_how_to_register(saved, tmp_path):
    _, folder = saved
    config = json.loads(zipfile.ZipFile(folder / "m.keras").read("config.json"))
    config["config"]["layers"][1]["class_name"] = "NotALayer"
    rewrite(folder / "m.keras", tmp_path / "u.keras", **{"config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="NotALayer.*register_keras_serializable"):
        lamina.models.load_model(tmp_path / "u.keras")


def test_config_cannot_reach_module_functions(saved, tmp_path):
    _, folder = saved
    config = json.loads(zipfile.ZipFile(folder / "m.keras").read("config.json"))
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": None}
    rewrite(folder / "m.keras", tmp_path / "f.keras", **{"config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="system"):
        lamina.models.load_model(tmp_path / "f.keras")
    config["config"]["layers"][1]["class_name"] = "get_file"  # a lamina.utils function
    config["config"]["layers"][1]["module"] = "keras.utils"
    rewrite(folder / "m.keras", tmp_path / "g.keras", **{"config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="get_file"):
        lamina.models.load_model(tmp_path / "g.keras")


# -- Lambda bytecode -----------------------------------------------------------------
def lambda_model(K):
    inp = K.Input((4,))
    return K.Model(inp, K.layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(inp))


@pytest.mark.parametrize("lib", [keras, lamina], ids=["keras_file", "lamina_file"])
def test_lambda_bytecode_refused_in_safe_mode(lib, tmp_path):
    lambda_model(lib).save(tmp_path / "l.keras")
    with pytest.raises(ValueError, match="Lambda layer 'affine'.*safe_mode=False"):
        lamina.models.load_model(tmp_path / "l.keras")
    loaded = lamina.models.load_model(tmp_path / "l.keras", safe_mode=False)
    assert_close(loaded.predict(X, verbose=0), X * 2.0 + 1.0)
    if lib is lamina:
        again = keras.saving.load_model(tmp_path / "l.keras", safe_mode=False)
        assert_close(again.predict(X, verbose=0), X * 2.0 + 1.0)


def test_enable_unsafe_deserialization_opens_the_gate(tmp_path):
    lambda_model(lamina).save(tmp_path / "l.keras")
    lamina.config.enable_unsafe_deserialization()
    try:
        loaded = lamina.models.load_model(tmp_path / "l.keras")
    finally:
        lamina.config._SETTINGS["unsafe_deserialization"] = False
    assert_close(loaded.predict(X, verbose=0), X * 2.0 + 1.0)


# -- malformed files -------------------------------------------------------------------
@pytest.mark.parametrize("member,match", [
    ("../evil.txt", "unsafe path"),
    ("/abs.json", "unsafe path"),
    ("extra.bin", "unexpected member"),
])
def test_zip_members_are_checked(saved, tmp_path, member, match):
    rewrite(saved[1] / "m.keras", tmp_path / "z.keras", **{member: b"x"})
    with pytest.raises(ValueError, match=match):
        lamina.models.load_model(tmp_path / "z.keras")


def test_missing_weights_and_corrupt_member(saved, tmp_path):
    rewrite(saved[1] / "m.keras", tmp_path / "n.keras", **{"model.weights.h5": None})
    with pytest.raises(ValueError, match="no 'model.weights.h5'"):
        lamina.models.load_model(tmp_path / "n.keras")
    data = bytearray((saved[1] / "m.keras").read_bytes())
    start = data.index(b"\x89HDF")  # flip bytes inside the stored weights member
    data[start + 800:start + 810] = b"corrupted!"
    (tmp_path / "c.keras").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt|truncated"):
        lamina.models.load_model(tmp_path / "c.keras")
    (tmp_path / "t.keras").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValueError):
        lamina.models.load_model(tmp_path / "t.keras")


def _edit_weights(src, dst, edit):
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for key in f:
            f.copy(key, g)
        edit(g)


def test_weight_shape_disagreeing_with_config(saved, tmp_path):
    def edit(g):
        del g["layers/dense/vars/0"]
        g["layers/dense/vars"].create_dataset("0", data=np.zeros((4, 7), "float32"))

    _edit_weights(saved[1] / "m.weights.h5", tmp_path / "w.weights.h5", edit)
    with pytest.raises(ValueError, match=r"layers/dense.*\(4, 7\).*\(4, 3\)"):
        small(lamina).load_weights(tmp_path / "w.weights.h5")


@pytest.mark.parametrize("kind", ["external", "soft", "dwarfed", "virtual", "dtype"])
def test_hdf5_tricks_refused(saved, tmp_path, kind):
    target = tmp_path / "other.h5"
    with h5py.File(target, "w") as f:
        f["data"] = np.zeros((4, 3), "float32")

    def edit(g):
        vars_group = g["layers/dense/vars"]
        del vars_group["0"]
        if kind == "external":
            vars_group["0"] = h5py.ExternalLink(str(target), "/data")
        elif kind == "soft":
            vars_group["0"] = h5py.SoftLink("/layers/dense_1/vars/0")
        elif kind == "dwarfed":
            vars_group.create_dataset("0", shape=(1 << 20, 1 << 10), dtype="float32")
        elif kind == "virtual":
            layout = h5py.VirtualLayout(shape=(4, 3), dtype="float32")
            layout[:] = h5py.VirtualSource(str(target), "data", shape=(4, 3))
            vars_group.create_virtual_dataset("0", layout)
        else:
            vars_group.create_dataset("0", data=np.array([b"abc"] * 12).reshape(4, 3))

    _edit_weights(saved[1] / "m.weights.h5", tmp_path / "w.weights.h5", edit)
    match = {"external": "external link", "soft": "soft link", "dwarfed": "stores only",
             "virtual": "virtual", "dtype": "numeric"}[kind]
    with pytest.raises(ValueError, match=match):
        small(lamina).load_weights(tmp_path / "w.weights.h5")
