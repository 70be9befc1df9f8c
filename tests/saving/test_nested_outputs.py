"""A model whose outputs are nested lists (an RNN over stacked cells returning its
states) writes Keras's nested output_layers and round-trips both ways."""

import numpy as np
from oracle import keras

import lamina


def _model(lib):
    inputs = lib.Input((4, 3))
    cells = lib.layers.StackedRNNCells([lib.layers.GRUCell(2), lib.layers.LSTMCell(3)])
    outputs = lib.layers.RNN(cells, return_state=True, name="rnn")(inputs)
    return lib.Model(inputs, [outputs[0], outputs[2]])


def test_nested_outputs_config_and_file_round_trip(tmp_path):
    ours, theirs = _model(lamina), _model(keras)
    ours.set_weights(theirs.get_weights())
    assert ours.get_config()["output_layers"] == theirs.get_config()["output_layers"]
    assert ours.get_config()["output_layers"] == [["rnn", 0, 0], [["rnn", 0, 2], ["rnn", 0, 3]]]
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    path = str(tmp_path / "m.keras")
    ours.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(keras.tree.flatten(loaded(x)), lamina.tree.flatten(ours(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    rebuilt = lamina.Model.from_config(ours.get_config())
    rebuilt.set_weights(ours.get_weights())
    for a, b in zip(lamina.tree.flatten(rebuilt(x)), lamina.tree.flatten(ours(x))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
