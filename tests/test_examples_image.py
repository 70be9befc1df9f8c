"""The image-augmentation example: a smoke run (one short epoch) by default, and a
slow test that it learns (~10 s on 2 cores)."""

import importlib.util
import pathlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def example():
    path = pathlib.Path(__file__).parents[1] / "examples" / "image_augmentation.py"
    spec = importlib.util.spec_from_file_location("image_augmentation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_images_are_three_distinct_shapes(example):
    images, labels = example.make_images(np.random.default_rng(1), 90)
    assert images.shape == (90, 24, 24, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 255
    assert set(labels.tolist()) == {0, 1, 2}
    # The classes differ in how much of the image they cover (disk > cross, frame).
    bright = (images.mean(-1) > 90).mean(axis=(1, 2))
    means = [bright[labels == k].mean() for k in range(3)]
    assert means[0] > means[1] and means[0] > means[2]


def test_example_runs_one_short_epoch(example):
    result = example.main(n_train=64, epochs=1)
    assert np.isfinite(result["loss"]) and 0 <= result["accuracy"] <= 1
    assert result["augmented_change"] > 1.0  # the Pipeline changes images in training
    assert result["inference_identity"]  # and leaves them alone at inference


@pytest.mark.slow
def test_example_learns(example):
    result = example.main(quick=True)
    assert result["accuracy"] > 0.85
