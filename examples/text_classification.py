"""Text classification from raw strings: TextVectorization -> Embedding -> LSTM -> Dense.

Sentences are generated from a small grammar: a positive review uses mostly
positive words, a negative one mostly negative words, both padded with neutral
filler and noise. ``TextVectorization`` learns the vocabulary with ``adapt`` and
turns the strings into padded index sequences on the host (strings never reach
the device); the model starts at those integer sequences.

    python examples/text_classification.py            # ~2,000 sentences
    python examples/text_classification.py --quick    # smaller, for smoke tests
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lamina as keras
from lamina import layers

POSITIVE = ["great", "excellent", "wonderful", "loved", "superb", "delightful", "fantastic"]
NEGATIVE = ["awful", "terrible", "boring", "hated", "dreadful", "poor", "disappointing"]
NEUTRAL = ["the", "movie", "film", "plot", "acting", "was", "and", "a", "really", "story",
           "it", "i", "this", "quite", "ending"]


def make_sentences(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sentences (str array) and their labels (1 positive, 0 negative)."""
    labels = rng.integers(0, 2, size=n)
    sentences = []
    for label in labels:
        main, other = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        words = list(rng.choice(NEUTRAL, size=rng.integers(4, 9)))
        words += list(rng.choice(main, size=rng.integers(2, 4)))
        if rng.random() < 0.3:
            words.append(rng.choice(other))
        rng.shuffle(words)
        sentence = " ".join(words).capitalize() + rng.choice([".", "!", "..."])
        sentences.append(sentence)
    return np.asarray(sentences), labels.astype("float32")


def main(quick: bool = False) -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 400 if quick else 2000
    train_text, train_y = make_sentences(rng, n)
    test_text, test_y = make_sentences(rng, n // 4)

    vectorize = layers.TextVectorization(max_tokens=100, output_sequence_length=12)
    vectorize.adapt(train_text)
    print(f"vocabulary ({vectorize.vocabulary_size()} tokens):",
          vectorize.get_vocabulary()[:10], "...")
    print(f"{str(train_text[0])!r} -> {vectorize(train_text[:1])[0].tolist()}")
    train_x, test_x = vectorize(train_text), vectorize(test_text)

    model = keras.Sequential([
        layers.Input(shape=(12,), dtype="int32"),
        layers.Embedding(vectorize.vocabulary_size(), 16, mask_zero=True),
        layers.LSTM(16),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train_x, train_y, batch_size=32, epochs=3 if quick else 4, verbose=0)
    loss, accuracy = model.evaluate(test_x, test_y, verbose=0)
    print(f"trained in {time.perf_counter() - start:.1f} s: test loss {loss:.3f}, "
          f"accuracy {accuracy:.3f}")
    new = np.asarray(["What a wonderful, superb film!", "Boring and dreadful acting."])
    print("predictions:", model.predict(vectorize(new), verbose=0).ravel().round(3).tolist())
    return {"loss": loss, "accuracy": accuracy}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data")
    main(parser.parse_args().quick)
