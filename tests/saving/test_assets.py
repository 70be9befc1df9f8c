"""Assets (files besides variables, e.g. an adapted vocabulary) travel in the .keras zip."""

import zipfile

import numpy as np
import pytest

import lamina as keras


@keras.saving.register_keras_serializable(package="test_assets")
class VocabModel(keras.Model):
    """A model holding a host-side lookup layer next to its compiled part."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lookup = keras.layers.StringLookup()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = VocabModel()
    model.lookup.adapt(np.array(["a", "b", "b", "c", "c", "c"]))
    model(np.ones((1, 3), "float32"))
    path = str(tmp_path_factory.mktemp("assets") / "m.keras")
    model.save(path)
    return model, path


def test_vocabulary_is_an_asset_member(saved):
    _, path = saved
    names = zipfile.ZipFile(path).namelist()
    assets = [n for n in names if n.startswith("assets/")]
    assert assets == ["assets/layers/string_lookup/vocabulary.txt"]
    text = zipfile.ZipFile(path).read(assets[0]).decode()
    assert text.split("\n") == ["[UNK]", "c", "b", "a"]


def test_loaded_lookup_gives_the_same_indices(saved):
    model, path = saved
    loaded = keras.models.load_model(path)
    tokens = np.array(["c", "a", "zzz", "b"])
    np.testing.assert_array_equal(loaded.lookup(tokens), model.lookup(tokens))
    np.testing.assert_array_equal(loaded.lookup(tokens), [1, 3, 0, 2])
    assert loaded.lookup.get_vocabulary() == model.lookup.get_vocabulary()
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_asset_outside_the_assets_folder_is_refused(saved, tmp_path):
    _, path = saved
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("assets/../../evil.txt", b"x")
    with pytest.raises(ValueError, match="unsafe path"):
        keras.models.load_model(str(bad))
