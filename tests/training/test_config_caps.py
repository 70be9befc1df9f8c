"""config.set_max_epochs / set_max_steps_per_epoch cap fit, evaluate and predict as in Keras."""

import numpy as np
import pytest
from oracle import keras

import lamina


@pytest.fixture
def caps():
    yield
    for K in (keras, lamina):
        K.config.set_max_epochs(None)
        K.config.set_max_steps_per_epoch(None)


def test_caps_match_keras(caps):
    x, y = np.ones((64, 3), "float32"), np.ones((64, 1), "float32")
    seen = {}
    for K in (keras, lamina):
        inputs = K.Input((3,))
        model = K.Model(inputs, K.layers.Dense(1)(inputs))
        model.compile("sgd", "mse")
        K.config.set_max_epochs(2)
        K.config.set_max_steps_per_epoch(3)
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
        seen[K] = (len(history.history["loss"]), int(model.optimizer.iterations),
                   model.predict(x, batch_size=8, verbose=0).shape)
    assert seen[lamina] == seen[keras] == (2, 6, (24, 1))
