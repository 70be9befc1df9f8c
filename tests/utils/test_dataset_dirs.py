"""image/text/audio_dataset_from_directory on tiny generated directory trees: Keras's
indexing (sorted classes, one seeded shuffle, validation split from the end), batch
shapes and label modes, and fit accepting the datasets."""

import wave

import numpy as np
import pytest

import lamina
from lamina import layers, utils


def _tree(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        content(path) if callable(content) else path.write_text(content)
    return str(root)


def _wav(samples, rate=8000):
    def write(path):
        with wave.open(str(path), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(rate)
            f.writeframes(np.asarray(samples, "<i2").tobytes())
    return write


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    files = {f"neg/n{i}.txt": f"bad awful film {i}" for i in range(5)}
    files.update({f"pos/p{i}.txt": f"great good film {i}" for i in range(5)})
    files.update({"pos/sub/p9.txt": "great nested", "pos/skip.md": "ignored"})
    return _tree(tmp_path_factory.mktemp("texts"), files)


def test_text_dataset_indexing_and_labels(text_dir, capsys):
    ds = utils.text_dataset_from_directory(text_dir, batch_size=4, shuffle=False)
    assert "Found 11 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    x, y = ds[0]
    assert x.tolist() == [f"bad awful film {i}" for i in range(4)] and y.tolist() == [0] * 4
    assert ds[2][0].tolist()[-1] == "great nested" and ds[2][1].tolist() == [1, 1, 1]
    # Keras shuffles paths and labels with the same seeded permutation.
    shuffled = utils.text_dataset_from_directory(text_dir, seed=3, batch_size=None)
    order = np.random.RandomState(3).permutation(11)
    expected = np.array(ds.file_paths)[order].tolist()
    assert shuffled.file_paths == expected
    for i in range(11):
        text, label = shuffled[i]
        assert label == (1 if "great" in text else 0)
    cat = utils.text_dataset_from_directory(text_dir, label_mode="categorical", shuffle=False,
                                            batch_size=11, max_length=3)
    x, y = cat[0]
    assert y.shape == (11, 2) and y[0].tolist() == [1.0, 0.0] and x[0] == "bad"
    binary = utils.text_dataset_from_directory(text_dir, label_mode="binary", shuffle=False)
    assert binary[0][1].shape == (11, 1)


def test_text_dataset_split_and_fit(text_dir):
    train, val = utils.text_dataset_from_directory(text_dir, batch_size=4, seed=1,
                                                   validation_split=0.3, subset="both")
    assert len(train.file_paths) == 8 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    with pytest.raises(ValueError, match="seed"):
        utils.text_dataset_from_directory(text_dir, validation_split=0.3, subset="training")
    with pytest.raises(ValueError, match="class_names"):
        utils.text_dataset_from_directory(text_dir, class_names=["neg", "other"])
    no_labels = utils.text_dataset_from_directory(text_dir, labels=None, shuffle=False)
    assert isinstance(no_labels[0], np.ndarray)

    vectorize = layers.TextVectorization(output_sequence_length=4)
    vectorize.adapt(np.concatenate([train[i][0] for i in range(len(train))]))

    class Vectorized(utils.PyDataset):
        def __len__(self):
            return len(train)

        def __getitem__(self, i):
            x, y = train[i]
            return vectorize(x).astype("int32"), y

    model = lamina.Sequential([layers.Input((4,), dtype="int32"),
                               layers.Embedding(vectorize.vocabulary_size(), 4),
                               layers.GlobalAveragePooling1D(), layers.Dense(2)])
    model.compile("adam", lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(Vectorized(), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_audio_dataset(tmp_path):
    root = _tree(tmp_path, {"a/x.wav": _wav([0, 16384, -16384]),
                            "b/y.wav": _wav([100] * 5), "b/z.txt": "not audio"})
    ds = utils.audio_dataset_from_directory(root, shuffle=False, batch_size=2)
    x, y = ds[0]
    assert x.shape == (2, 5, 1) and y.tolist() == [0, 1]
    np.testing.assert_allclose(x[0, :, 0], [0, 0.5, -0.5, 0, 0])
    fixed = utils.audio_dataset_from_directory(root, shuffle=False, output_sequence_length=2)
    assert fixed[0][0].shape == (2, 2, 1)
    with pytest.raises(NotImplementedError, match="resampling"):
        utils.audio_dataset_from_directory(root, shuffle=False, sampling_rate=16000)[0]


def test_image_dataset(tmp_path):
    image = pytest.importorskip("PIL.Image", reason="Pillow is not installed (optional)")
    pixels = np.arange(4 * 6 * 3, dtype="uint8").reshape(4, 6, 3)

    def png(path):
        image.fromarray(pixels).save(path)

    root = _tree(tmp_path, {"cats/a.png": png, "dogs/b.png": png, "dogs/c.jpg.txt": "no"})
    ds = utils.image_dataset_from_directory(root, image_size=(4, 6), shuffle=False,
                                            batch_size=2)
    x, y = ds[0]
    assert x.shape == (2, 4, 6, 3) and x.dtype == np.float32 and y.tolist() == [0, 1]
    np.testing.assert_array_equal(x[0], pixels.astype("float32"))
    gray = utils.image_dataset_from_directory(root, image_size=(2, 2), color_mode="grayscale",
                                              shuffle=False, crop_to_aspect_ratio=True)
    assert gray[0][0].shape == (2, 2, 2, 1)
