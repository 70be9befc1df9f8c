""".keras and .weights.h5 files move between lamina and Keras 3 both ways: same
weight layout (paths, names, shapes), same predictions, same configs, and compiled
models continue training from the saved optimizer state with Keras's next step."""

import json

import h5py
import numpy as np
import pytest
from oracle import assert_close, keras

import lamina

RNG = np.random.default_rng(7)


def layout(path) -> dict:
    """Every group and dataset of a weights file: path -> shape (datasets) or the
    group's ``name`` attribute presence ("G")."""
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(
            name, tuple(obj.shape) if isinstance(obj, h5py.Dataset) else "G"))
    return out


def strip_nodes(config):
    """A functional config without the layers' inbound nodes (Keras records call
    kwargs lamina leaves out) and without Keras's shared-object ids."""
    if isinstance(config, dict):
        return {k: strip_nodes(v) for k, v in config.items()
                if k not in ("inbound_nodes", "shared_object_id")}
    if isinstance(config, list):
        return [strip_nodes(v) for v in config]
    return config


def plain(config):
    return json.loads(json.dumps(config))


# -- models ------------------------------------------------------------------------
def tricky(K):
    inp = K.Input((4, 6), name="inp")
    x = K.layers.MultiHeadAttention(2, 3)(inp, inp)
    x = K.layers.LSTM(5, return_sequences=True)(x)
    x = K.layers.Bidirectional(K.layers.GRU(3, return_sequences=True))(x)
    x = K.layers.TimeDistributed(K.layers.Dense(2))(x)
    x = K.layers.BatchNormalization()(x)
    x = K.layers.SimpleRNN(3, return_sequences=True)(x)
    x = K.layers.Flatten()(x)
    return K.Model(inp, K.layers.Dense(1, name="out")(x))


def headline(K):
    main_input = K.Input(shape=(6,), dtype="int32", name="main_input")
    x = K.layers.Embedding(output_dim=8, input_dim=20, mask_zero=True)(main_input)
    lstm_out = K.layers.LSTM(4)(x)
    aux_output = K.layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    aux_input = K.Input(shape=(5,), name="aux_input")
    x = K.layers.concatenate([lstm_out, aux_input])
    x = K.layers.Dense(6, activation="relu")(x)
    x = K.layers.Dense(6, activation="relu")(x)
    main_output = K.layers.Dense(1, activation="sigmoid", name="main_output")(x)
    return K.Model(inputs=[main_input, aux_input], outputs=[main_output, aux_output])


def siamese_and_nested(K):
    a, b = K.Input((3, 4)), K.Input((3, 4))
    shared_lstm = K.layers.LSTM(3)
    inner_in = K.Input((3,))
    inner = K.Model(inner_in, K.layers.Dense(2)(inner_in), name="inner")
    merged = K.layers.concatenate([shared_lstm(a), shared_lstm(b)])
    return K.Model([a, b], [inner(shared_lstm(a)), K.layers.Dense(1)(merged)])


def time_distributed_model(K):
    inner = K.Sequential([K.Input((5,)), K.layers.Dense(3), K.layers.Dense(2, name="d2")])
    return K.Sequential([K.Input((4, 5)), K.layers.TimeDistributed(inner), K.layers.Flatten(),
                         K.layers.Dense(1)])


def inputs_for(builder):
    if builder is headline:
        return [RNG.integers(0, 20, (3, 6)).astype("int32"),
                RNG.standard_normal((3, 5)).astype("float32")]
    if builder is siamese_and_nested:
        return [RNG.standard_normal((3, 3, 4)).astype("float32") for _ in range(2)]
    if builder is time_distributed_model:
        return RNG.standard_normal((3, 4, 5)).astype("float32")
    return RNG.standard_normal((3, 4, 6)).astype("float32")


BUILDERS = [tricky, headline, siamese_and_nested, time_distributed_model]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each builder's model made by both libraries (independent random weights) and
    saved as .keras by each."""
    folder = tmp_path_factory.mktemp("interop")
    out = {}
    for builder in BUILDERS:
        km, lm = builder(keras), builder(lamina)
        kpath, lpath = folder / f"{builder.__name__}_k.keras", folder / f"{builder.__name__}_l.keras"
        km.save(kpath)
        lm.save(lpath)
        out[builder.__name__] = (km, lm, kpath, lpath)
    return out


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_weights_layout_matches_keras(builder, saved, tmp_path):
    km, lm, _, _ = saved[builder.__name__]
    km.save_weights(tmp_path / "k.weights.h5")
    lm.save_weights(tmp_path / "l.weights.h5")
    assert layout(tmp_path / "l.weights.h5") == layout(tmp_path / "k.weights.h5")


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_keras_file_loads_in_lamina(builder, saved):
    km, _, kpath, _ = saved[builder.__name__]
    loaded = lamina.models.load_model(kpath)
    x = inputs_for(builder)
    assert_close(loaded.predict(x, verbose=0), km.predict(x, verbose=0))
    assert strip_nodes(plain(loaded.get_config())) == strip_nodes(plain(km.get_config()))


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_lamina_file_loads_in_keras(builder, saved):
    _, lm, _, lpath = saved[builder.__name__]
    loaded = keras.saving.load_model(lpath)
    x = inputs_for(builder)
    assert_close(loaded.predict(x, verbose=0), lm.predict(x, verbose=0))
    # Keras replays an Embedding's mask_zero as a NotEqual op node of its own when it
    # rebuilds lamina's graph (lamina's nodes do not record `mask=None` kwargs).
    keras_config = strip_nodes(plain(loaded.get_config()))
    keras_config["layers"] = [e for e in keras_config["layers"]
                              if not e["module"].startswith("keras.src.ops")]
    assert keras_config == strip_nodes(plain(lm.get_config()))
    # and lamina reads its own file back to the same config and weights
    again = lamina.models.load_model(lpath)
    assert plain(again.get_config()) == plain(lm.get_config())
    assert_close(again.get_weights(), lm.get_weights())


# -- compiled models keep training -------------------------------------------------
def regressor(K):
    inp = K.Input((4,))
    x = K.layers.Dense(8, activation="tanh")(inp)
    x = K.layers.BatchNormalization()(x)
    return K.Model(inp, K.layers.Dense(2, name="out")(x))


XT = RNG.standard_normal((16, 4)).astype("float32")
YT = RNG.standard_normal((16, 2)).astype("float32")


def _train(model, K, epochs=1):
    model.fit(XT, YT, batch_size=8, epochs=epochs, shuffle=False, verbose=0)


@pytest.mark.parametrize("direction", ["lamina_to_keras", "keras_to_lamina"])
def test_compiled_model_continues_training_like_keras(direction, tmp_path):
    src_lib, dst_lib = (lamina, keras) if direction == "lamina_to_keras" else (keras, lamina)
    model = regressor(src_lib)
    model.compile(optimizer=src_lib.optimizers.Adam(learning_rate=0.05), loss="mse",
                  metrics=["mae"])
    _train(model, src_lib, epochs=2)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = dst_lib.saving.load_model(path)
    assert loaded.optimizer.get_config()["learning_rate"] == pytest.approx(0.05)
    assert int(np.asarray(loaded.optimizer.iterations)) == 4
    assert_close([np.asarray(v) for v in loaded.optimizer.variables],
                 [np.asarray(v.value if hasattr(v, "value") else v)
                  for v in model.optimizer.variables])
    _train(model, src_lib)
    _train(loaded, dst_lib)
    assert_close(loaded.get_weights(), model.get_weights(), rtol=1e-4, atol=1e-5)


def test_optimizer_slots_follow_keras_layout(tmp_path):
    km, lm = regressor(keras), regressor(lamina)
    for m, lib in ((km, keras), (lm, lamina)):
        m.compile(optimizer="adam", loss="mse")
        _train(m, lib)
        m.save_weights(tmp_path / f"{lib.__name__}.weights.h5")
    k_layout = layout(tmp_path / "keras.weights.h5")
    assert layout(tmp_path / "lamina.weights.h5") == k_layout
    assert k_layout["optimizer/vars/0"] == () and "optimizer/vars/13" in k_layout
    with h5py.File(tmp_path / "lamina.weights.h5") as f:
        assert f["optimizer/vars"].attrs["name"] == lm.optimizer.name
        assert f["layers/dense_1/vars"].attrs["name"] == "out"
