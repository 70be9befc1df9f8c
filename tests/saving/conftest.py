"""Shared fixtures of the saving tests: a tiny compiled model and its valid files."""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import lamina as keras


def _tiny_model():
    """Input(3) -> Dense(4, relu) -> BatchNormalization -> Dense(2, softmax), compiled
    with Adam (optimizer variables built), named layers ``hidden``, ``norm``, ``probs``."""
    inputs = keras.Input((3,), name="x")
    h = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    h = keras.layers.BatchNormalization(name="norm")(h)
    outputs = keras.layers.Dense(2, activation="softmax", name="probs")(h)
    model = keras.Model(inputs, outputs, name="tiny")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return model


@dataclass(frozen=True)
class TinyFiles:
    """Valid files of the tiny model (read-only: tests write their mutants elsewhere)."""

    keras_path: Path
    weights_path: Path
    keras_bytes: bytes
    weights_bytes: bytes
    members: dict  # the .keras archive's members, name -> bytes
    config: dict  # the decoded config.json

    @staticmethod
    def model():
        """A fresh tiny model (same architecture, fresh weights)."""
        return _tiny_model()


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> TinyFiles:
    folder = tmp_path_factory.mktemp("tiny_files")
    model = _tiny_model()
    keras_path, weights_path = folder / "tiny.keras", folder / "tiny.weights.h5"
    model.save(keras_path)
    model.save_weights(weights_path)
    with zipfile.ZipFile(keras_path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    return TinyFiles(keras_path, weights_path, keras_path.read_bytes(),
                     weights_path.read_bytes(), members, json.loads(members["config.json"]))
