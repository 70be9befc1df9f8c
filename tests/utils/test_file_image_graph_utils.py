"""lamina.utils: get_file (local sources, hashes, archives, offline errors), image arrays,
get_source_inputs, and the model-diagram placeholders."""

import hashlib
import os
import tarfile
import zipfile

import numpy as np
import pytest
from oracle import keras

import lamina
from lamina import utils


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src" / "data.txt"
    path.parent.mkdir()
    path.write_bytes(b"hello lamina\n")
    return path


def test_get_file_from_local_path_and_file_url(tmp_path, source):
    cache = tmp_path / "cache"
    got = utils.get_file(origin=str(source), cache_dir=str(cache))
    assert got == str(cache / "datasets" / "data.txt")
    assert open(got, "rb").read() == b"hello lamina\n"
    # Keras gives the same path for a file:// origin.
    (tmp_path / "kcache").mkdir()  # Keras falls back to /tmp/.keras for a missing cache_dir
    expected = keras.utils.get_file(origin=source.as_uri(), cache_dir=str(tmp_path / "kcache"))
    got = utils.get_file("renamed.txt", origin=source.as_uri(), cache_dir=str(cache),
                         cache_subdir="sub")
    assert os.path.relpath(got, cache) == "sub/renamed.txt"
    assert os.path.relpath(expected, tmp_path / "kcache") == "datasets/data.txt"


def test_get_file_hashes(tmp_path, source):
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    cache = str(tmp_path / "cache")
    path = utils.get_file(origin=str(source), cache_dir=cache, file_hash=sha)
    assert utils.get_file(origin=str(source), cache_dir=cache, md5_hash=md5) == path
    with pytest.raises(ValueError, match="hash"):
        utils.get_file("other.txt", origin=str(source), cache_dir=cache, file_hash="0" * 64)
    # A cached file whose hash does not match is fetched again.
    with open(path, "wb") as f:
        f.write(b"corrupted")
    utils.get_file(origin=str(source), cache_dir=cache, file_hash=sha)
    assert open(path, "rb").read() == b"hello lamina\n"


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_get_file_extracts_archives_like_keras(tmp_path, source, kind):
    archive = tmp_path / f"pack.{'tar.gz' if kind == 'tar' else 'zip'}"
    if kind == "tar":
        with tarfile.open(archive, "w:gz") as t:
            t.add(source, arcname="inner/data.txt")
    else:
        with zipfile.ZipFile(archive, "w") as z:
            z.write(source, arcname="inner/data.txt")
    for mod, cache in ((lamina, "lcache"), (keras, "kcache")):
        root = tmp_path / cache
        root.mkdir()  # Keras falls back to /tmp/.keras for a missing cache_dir
        out = mod.utils.get_file(archive.name, origin=archive.as_uri(), extract=True,
                                 cache_dir=str(root))
        assert os.path.relpath(out, root) == "datasets/pack_extracted"
        assert (root / "datasets" / "pack_extracted" / "inner" / "data.txt").read_bytes() == (
            b"hello lamina\n")
        out = mod.utils.get_file(origin=archive.as_uri(), extract=True, cache_dir=str(root),
                                 cache_subdir="b")
        assert os.path.relpath(out, root) == f"b/{archive.name}"


def test_get_file_errors(tmp_path):
    cache = str(tmp_path)
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x")
    with pytest.raises(ValueError, match="fname"):
        utils.get_file("a/b.txt", origin="file:///nonexistent", cache_dir=cache)
    with pytest.raises(FileNotFoundError):
        utils.get_file(origin=str(tmp_path / "missing.bin"), cache_dir=cache)
    with pytest.raises(ConnectionError, match="could not be downloaded"):
        utils.get_file(origin="http://lamina-test.invalid/data.bin", cache_dir=cache)
    assert not os.path.exists(os.path.join(cache, "datasets", "data.bin"))


@pytest.mark.parametrize("shape", [(4, 5, 3), (4, 5)])
@pytest.mark.parametrize("data_format", [None, "channels_first"])
def test_img_to_array_matches_keras(shape, data_format):
    img = np.arange(np.prod(shape)).reshape(shape)
    expected = keras.utils.img_to_array(img, data_format=data_format)
    actual = utils.img_to_array(img, data_format=data_format)
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)
    with pytest.raises(ValueError):
        utils.img_to_array(np.zeros(3))


def test_pillow_functions(tmp_path):
    try:
        import PIL  # noqa: F401
    except ImportError:
        for fn, args in ((utils.array_to_img, (np.zeros((2, 2, 3)),)),
                         (utils.load_img, (str(tmp_path / "x.png"),))):
            with pytest.raises(ImportError, match="Pillow"):
                fn(*args)
        return
    x = np.random.default_rng(0).uniform(0, 255, size=(6, 8, 3)).astype("float32")
    path = str(tmp_path / "img.png")
    utils.save_img(path, x, scale=False)
    loaded = utils.img_to_array(utils.load_img(path))
    np.testing.assert_array_equal(loaded, x.astype("uint8"))
    small = utils.load_img(path, target_size=(3, 4), color_mode="grayscale")
    assert small.size == (4, 3) and small.mode == "L"
    k_small = keras.utils.load_img(path, target_size=(4, 4), keep_aspect_ratio=True)
    np.testing.assert_array_equal(
        utils.img_to_array(utils.load_img(path, target_size=(4, 4), keep_aspect_ratio=True)),
        keras.utils.img_to_array(k_small))
    np.testing.assert_array_equal(utils.img_to_array(utils.array_to_img(x)),
                                  keras.utils.img_to_array(keras.utils.array_to_img(x)))


def test_get_source_inputs_like_keras():
    for mod in (keras, lamina):
        a, b, c = mod.Input((3,)), mod.Input((3,)), mod.Input((3,))
        h = mod.layers.Dense(4)(a)
        s = mod.layers.Add()([h, mod.layers.Dense(4)(b), h])
        sources = mod.utils.get_source_inputs(s)
        assert len(sources) == 2 and sources[0] is a and sources[1] is b
        assert mod.utils.get_source_inputs(c) == [c]
        model = mod.Model([a, b], s)
        out = model([c, c])
        assert mod.utils.get_source_inputs(out) == [c]


def test_model_to_dot_not_implemented():
    # plot_model draws without pydot (tests/utils/test_plot_model.py); a pydot graph is not made.
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    with pytest.raises(NotImplementedError, match="model_to_dot"):
        utils.model_to_dot(model)
