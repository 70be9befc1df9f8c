"""Datasets from directories of files: ``image_dataset_from_directory``,
``text_dataset_from_directory``, ``audio_dataset_from_directory``.

Files are indexed as Keras indexes them (class names are the sorted
subdirectories, files are walked in sorted order, one seeded shuffle, the
validation split taken from the end), and read lazily, one batch at a time, by a
``PyDataset`` that ``fit``/``evaluate``/``predict`` accept directly. Images are
decoded with Pillow (optional dependency), WAV files with the standard library's
``wave``; texts are read as UTF-8.
"""

from __future__ import annotations

import os
import wave

import numpy as np

from lamina.utils import io_utils
from lamina.utils.py_dataset import PyDataset

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_LABEL_MODES = ("int", "categorical", "binary", None)


# -- indexing -----------------------------------------------------------------------
def _walk_files(directory: str, formats, follow_links: bool) -> list:
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.lower().endswith(formats))
    return found


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """Lists the files of ``directory`` with their labels, as Keras does.

    Returns:
        ``(file_paths, labels, class_names)``: labels are int32 class indices (or
        the given labels, or None), class names the subdirectories in label order.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"Expected `directory` to be an existing directory, received "
                         f"{directory!r}.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the "
                                 "subdirectories of the target directory. Expected: "
                                 f"{subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
        paths, found = [], []
        for index, subdir in enumerate(subdirs):
            files = _walk_files(os.path.join(directory, subdir), formats, follow_links)
            paths += files
            found += [index] * len(files)
        labels, class_names = np.asarray(found, "int32"), subdirs
    else:
        if class_names is not None:
            raise ValueError("When `labels` is not 'inferred', argument `class_names` cannot "
                             "be specified.")
        paths = _walk_files(directory, formats, follow_links)
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError("Expected the lengths of `labels` to match the number of "
                                 f"files in the target directory. len(labels) is "
                                 f"{len(labels)} while we found {len(paths)} files in "
                                 f"directory {directory}.")
            class_names = [str(label) for label in sorted(set(labels))]
            labels = np.asarray(labels)
    if verbose:
        io_utils.print_msg(f"Found {len(paths)} files." if labels is None else
                           f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _split(paths, labels, validation_split, subset, seed):
    """The ``"training"`` / ``"validation"`` part (the validation files are the last
    ``int(validation_split * n)``), or both for ``subset="both"``."""
    if subset not in (None, "training", "validation", "both"):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if (validation_split is None) != (subset is None):
        raise ValueError("`validation_split` and `subset` must be set together. Received: "
                         f"validation_split={validation_split}, subset={subset}")
    if validation_split is None:
        return [(paths, labels)]
    if not 0 < validation_split < 1:
        raise ValueError("`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    n_val = int(validation_split * len(paths))
    cut = len(paths) - n_val
    parts = {"training": (paths[:cut], None if labels is None else labels[:cut]),
             "validation": (paths[cut:], None if labels is None else labels[cut:])}
    names = ["training", "validation"] if subset == "both" else [subset]
    for name in names:
        count = len(parts[name][0])
        io_utils.print_msg(f"Using {count} files for {name}.")
    return [parts[name] for name in names]


def _encode_labels(labels: np.ndarray, label_mode, num_classes: int) -> np.ndarray:
    if label_mode == "binary":
        return labels.astype("float32").reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32")


class DirectoryDataset(PyDataset):
    """Batches of files read by ``load(path)`` and stacked by ``collate(list)``, with
    their labels. ``class_names`` and ``file_paths`` are those of the indexing.

    With ``shuffle``, the order of files is reshuffled after every epoch (seeded).
    """

    def __init__(self, file_paths, labels, class_names, label_mode, batch_size, load,
                 collate, shuffle=False, seed=None):
        super().__init__()
        self.file_paths = list(file_paths)
        self.labels = labels
        self.class_names = class_names
        self.label_mode = label_mode
        self.batch_size = batch_size
        self._load = load
        self._collate = collate
        self._order = np.arange(len(self.file_paths))
        self._rng = np.random.default_rng(seed) if shuffle else None

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        size = self.batch_size or 1
        picked = self._order[index * size:(index + 1) * size]
        x = self._collate([self._load(self.file_paths[i]) for i in picked])
        if self.batch_size is None:
            x = x[0]
        if self.labels is None or self.label_mode is None:
            return x
        y = _encode_labels(self.labels[picked], self.label_mode, len(self.class_names))
        return x, (y[0] if self.batch_size is None else y)

    def on_epoch_end(self):
        if self._rng is not None:
            self._order = self._rng.permutation(len(self.file_paths))


def _make_datasets(directory, formats, labels, label_mode, class_names, batch_size, shuffle,
                   seed, validation_split, subset, follow_links, verbose, load, collate):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the "
                         "same size as the number of files in the target directory. If you "
                         "wish to infer the labels from the subdirectory names in the target "
                         "directory, pass `labels='inferred'`. If you wish to get a dataset "
                         f"that only contains files (no labels), pass `labels=None`. Received: "
                         f"labels={labels}")
    if label_mode not in _LABEL_MODES:
        raise ValueError(f"`label_mode` should be one of {_LABEL_MODES}. Received: "
                         f"label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")
    paths, found, names = index_directory(directory, labels, formats, class_names, shuffle,
                                          seed, follow_links, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={names}")
    if not paths:
        raise ValueError(f"No files found in directory {directory}. Allowed formats: "
                         f"{formats}")
    datasets = [DirectoryDataset(p, lab, names, label_mode, batch_size, load, collate,
                                 shuffle=shuffle, seed=seed)
                for p, lab in _split(paths, found, validation_split, subset, seed)]
    return datasets if subset == "both" else datasets[0]


# -- images -------------------------------------------------------------------------
def _fit_aspect(img: np.ndarray, height: int, width: int, crop: bool, pad: bool):
    """The centered largest crop (or smallest zero pad) with the target aspect ratio."""
    h, w = img.shape[:2]
    if crop:
        ch, cw = min(h, round(w * height / width)), min(w, round(h * width / height))
        top, left = (h - ch) // 2, (w - cw) // 2
        return img[top:top + ch, left:left + cw]
    if pad:
        ph, pw = max(h, round(w * height / width)), max(w, round(h * width / height))
        top, left = (ph - h) // 2, (pw - w) // 2
        out = np.zeros((ph, pw) + img.shape[2:], img.dtype)
        out[top:top + h, left:left + w] = img
        return out
    return img


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """Images in ``directory`` (one subdirectory per class) as a dataset of
    ``(images, labels)`` batches: float32 ``(batch, *image_size, channels)`` pixel
    values in [0, 255] and labels per ``label_mode`` (``"int"``, ``"categorical"``,
    ``"binary"`` or None). Returns a :class:`DirectoryDataset` (a list of two for
    ``subset="both"``). Needs Pillow."""
    import jax  # noqa: PLC0415 - resizing only

    from lamina.backend import image_data_format  # noqa: PLC0415 - lamina.backend imports utils
    from lamina.utils.image_utils import _pil_image  # noqa: PLC0415

    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}.get(color_mode)
    if channels is None:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can "
                         "be set to `True`.")
    pil_image = _pil_image("image_dataset_from_directory")
    height, width = image_size
    method = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic",
              "lanczos3": "lanczos3", "lanczos5": "lanczos5"}.get(interpolation)
    if method is None:
        raise ValueError(f"Unsupported interpolation {interpolation!r}: expected bilinear, "
                         "nearest, bicubic, lanczos3 or lanczos5.")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    channels_first = (data_format or image_data_format()) == "channels_first"

    def load(path):
        with pil_image.open(path) as img:
            array = np.asarray(img.convert(mode), dtype="float32")
        array = _fit_aspect(array.reshape(array.shape[:2] + (channels,)), height, width,
                            crop_to_aspect_ratio, pad_to_aspect_ratio)
        if array.shape[:2] != (height, width):
            array = np.asarray(jax.image.resize(array, (height, width, channels), method,
                                                antialias=False))
        return array.transpose(2, 0, 1) if channels_first else array

    return _make_datasets(directory, IMAGE_FORMATS, labels, label_mode, class_names,
                          batch_size, shuffle, seed, validation_split, subset, follow_links,
                          verbose, load, np.stack)


# -- texts --------------------------------------------------------------------------
def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """``.txt`` files in ``directory`` (one subdirectory per class) as a dataset of
    ``(texts, labels)`` batches; texts are a NumPy array of ``str`` (each cut to
    ``max_length`` characters when set), ready for ``TextVectorization``."""
    del format  # Keras's choice between tf.data and grain; lamina returns a PyDataset.

    def load(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text if max_length is None else text[:max_length]

    return _make_datasets(directory, (".txt",), labels, label_mode, class_names, batch_size,
                          shuffle, seed, validation_split, subset, follow_links, verbose,
                          load, lambda texts: np.asarray(texts, dtype=object).astype(str))


# -- audio --------------------------------------------------------------------------
def read_wav(path) -> tuple[np.ndarray, int]:
    """A PCM WAV file as float32 ``(samples, channels)`` in [-1, 1) and its rate."""
    with wave.open(str(path), "rb") as f:
        width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
        raw = f.readframes(f.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype("float32") - 128.0) / 128.0
    elif width in (2, 4):
        dtype = np.dtype(f"<i{width}")
        data = np.frombuffer(raw, dtype).astype("float32") / float(2 ** (8 * width - 1))
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV samples are not supported (8, 16 or "
                         "32-bit PCM expected).")
    return data.reshape(-1, channels), rate


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, verbose=True):
    """``.wav`` files in ``directory`` (one subdirectory per class) as a dataset of
    ``(audio, labels)`` batches: float32 ``(batch, samples, channels)``, each clip
    cut or zero-padded to ``output_sequence_length`` (default: the longest clip in
    the batch). Files must already have ``sampling_rate`` when it is set."""
    if ragged:
        raise ValueError("`ragged=True` needs TensorFlow ragged tensors; lamina pads batches "
                         "instead (ragged=False).")

    def load(path):
        data, rate = read_wav(path)
        if sampling_rate is not None and rate != sampling_rate:
            raise NotImplementedError(f"{path} has {rate} samples per second, not "
                                      f"sampling_rate={sampling_rate}: resampling audio is "
                                      "not implemented in lamina.")
        return data if output_sequence_length is None else data[:output_sequence_length]

    def collate(clips):
        length = output_sequence_length or max(len(c) for c in clips)
        out = np.zeros((len(clips), length, clips[0].shape[1]), "float32")
        for i, clip in enumerate(clips):
            out[i, :len(clip)] = clip
        return out

    return _make_datasets(directory, (".wav",), labels, label_mode, class_names, batch_size,
                          shuffle, seed, validation_split, subset, follow_links, verbose,
                          load, collate)
