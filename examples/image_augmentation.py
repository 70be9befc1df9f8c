"""Image classification with augmentation: a Pipeline of random layers in front of a
small convolutional network.

Images are generated: a disk, a square frame or a cross, at a random place, size
and colour, on a noisy background, as uint8-range RGB. The model starts with an
augmentation ``Pipeline`` (RandomFlip, RandomRotation, RandomZoom, RandomContrast),
which is part of the compiled train step and inactive in ``evaluate``/``predict``,
then rescales to [0, 1] and classifies with two convolutions.

    python examples/image_augmentation.py            # 1,200 images of 24 x 24
    python examples/image_augmentation.py --quick    # smaller, for smoke tests
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina as keras
from lamina import layers

CLASSES = ["disk", "frame", "cross"]


def make_images(rng: np.random.Generator, n: int, size: int = 24):
    """``n`` RGB images ``(n, size, size, 3)`` in [0, 255] (float32) and their class
    indices (0 disk, 1 square frame, 2 cross)."""
    labels = rng.integers(0, len(CLASSES), size=n)
    grid = np.arange(size) + 0.5
    centre = rng.uniform(0.35 * size, 0.65 * size, size=(2, n, 1, 1))
    radius = rng.uniform(0.2 * size, 0.32 * size, size=(n, 1, 1))
    dy = np.abs(grid[None, :, None] - centre[0])
    dx = np.abs(grid[None, None, :] - centre[1])
    shapes = np.stack([
        dx ** 2 + dy ** 2 <= radius ** 2,                                   # disk
        (np.maximum(dx, dy) <= radius) & (np.maximum(dx, dy) >= 0.65 * radius),  # frame
        ((dx <= 0.3 * radius) & (dy <= radius)) | ((dy <= 0.3 * radius) & (dx <= radius)),
    ])[labels, np.arange(n)]
    colour = rng.uniform(120, 255, size=(n, 1, 1, 3))
    background = rng.uniform(0, 60, size=(n, 1, 1, 1))
    images = np.where(shapes[..., None], colour, background)
    images = images + rng.normal(0, 12, size=images.shape)
    return np.clip(images, 0, 255).astype("float32"), labels.astype("int32")


def build_model(size: int = 24) -> keras.Model:
    augment = layers.Pipeline([
        layers.RandomFlip("horizontal_and_vertical"),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.15),
        layers.RandomContrast(0.3),
    ], name="augment")
    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = augment(inputs)
    x = layers.Rescaling(1 / 255)(x)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="shapes")


def main(quick: bool = False, n_train: int | None = None, epochs: int | None = None) -> dict:
    """Trains and evaluates the classifier.

    Args:
        quick: smaller data and fewer epochs.
        n_train: number of training images (overrides ``quick``'s choice).
        epochs: number of epochs (likewise).

    Returns:
        ``{"loss", "accuracy"}`` on held-out images, and ``"augmented_change"``: the
        mean absolute change the augmentation makes to a batch in training mode.
    """
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n_train = n_train or (480 if quick else 1200)
    epochs = epochs or (6 if quick else 10)
    train_x, train_y = make_images(rng, n_train)
    test_x, test_y = make_images(rng, max(n_train // 4, 32))

    model = build_model()
    augment = model.get_layer("augment")
    change = float(np.abs(np.asarray(augment(train_x[:16], training=True)) - train_x[:16]).mean())
    same = np.array_equal(np.asarray(augment(train_x[:16], training=False)), train_x[:16])
    print(f"augmentation changes pixels by {change:.1f} on average in training "
          f"(identity at inference: {same})")

    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train_x, train_y, batch_size=32, epochs=epochs, verbose=0)
    loss, accuracy = model.evaluate(test_x, test_y, batch_size=64, verbose=0)
    print(f"trained {epochs} epochs on {n_train} images in {time.perf_counter() - start:.1f} s: "
          f"test loss {loss:.3f}, accuracy {accuracy:.3f}")
    predicted = model.predict(test_x[:6], verbose=0).argmax(axis=-1)
    print("predicted:", [CLASSES[i] for i in predicted])
    print("true:     ", [CLASSES[i] for i in test_y[:6]])
    return {"loss": loss, "accuracy": accuracy, "augmented_change": change,
            "inference_identity": same}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer epochs")
    main(parser.parse_args().quick)
