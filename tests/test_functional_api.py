"""The symbolic graph and functional models, compared with Keras 3."""

import json

import jax
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)


def mlp(K):
    inputs = K.layers.Input(shape=(784,))
    x = K.layers.Dense(64, activation="relu")(inputs)
    x = K.layers.Dense(64, activation="relu")(x)
    outputs = K.layers.Dense(10, activation="softmax")(x)
    return K.models.Model(inputs=inputs, outputs=outputs)


@pytest.fixture(scope="module")
def mlp_pair():
    km, lm = mlp(keras), mlp(lamina)
    copy_weights(km, lm)
    return km, lm


def test_mlp_params_and_outputs(mlp_pair):
    km, lm = mlp_pair
    assert lm.count_params() == km.count_params() == 55050
    assert [type(x).__name__ for x in lm.layers] == [type(x).__name__ for x in km.layers]
    x = RNG.random((5, 784), dtype="float32")
    assert_close(lm(x), km(x))
    assert_close(lm.predict(x, verbose=0), km.predict(x, verbose=0))


def test_symbolic_shapes_and_dtypes():
    x = lamina.Input(shape=(None, 8), dtype="float32", name="seq")
    assert x.shape == (None, None, 8) and x.dtype == "float32"
    y = L.Dense(3)(x)
    assert y.shape == (None, None, 3)
    z = L.Flatten()(lamina.Input((2, 3, 4)))
    assert z.shape == (None, 24)
    t = lamina.Input((7,), dtype="int32")
    e = L.Embedding(10, 4)(t)
    assert e.shape == (None, 7, 4) and e.dtype == "float32"


def test_model_reapplied_to_new_input_shares_weights(mlp_pair):
    _, lm = mlp_pair
    x = lamina.Input(shape=(784,))
    y = lm(x)
    assert y.shape == (None, 10)
    outer = lamina.Model(x, y)
    assert len(outer.weights) == len(lm.weights)
    assert all(a is b for a, b in zip(outer.weights, lm.weights))
    data = RNG.random((3, 784), dtype="float32")
    assert_close(outer(data), lm(data))


def test_time_distributed_model_matches_keras(mlp_pair):
    km, lm = mlp_pair
    kseq = keras.Input((20, 784))
    kout = keras.layers.TimeDistributed(km)(kseq)
    lseq = lamina.Input((20, 784))
    lout = L.TimeDistributed(lm)(lseq)
    assert lout.shape == tuple(kout.shape) == (None, 20, 10)
    k2, l2 = keras.Model(kseq, kout), lamina.Model(lseq, lout)
    assert l2.count_params() == k2.count_params() == 55050
    data = RNG.random((2, 20, 784), dtype="float32")
    assert_close(l2(data), k2(data))


def test_shared_layer_weights_counted_once():
    a, b = lamina.Input((4,)), lamina.Input((4,))
    shared = L.Dense(3)
    out = L.concatenate([shared(a), shared(b)])
    model = lamina.Model([a, b], out)
    assert len(model.weights) == 2 and model.count_params() == 15
    assert len(shared._inbound_nodes) == 2
    xa, xb = RNG.random((2, 4), dtype="float32"), RNG.random((2, 4), dtype="float32")
    y = np.asarray(model([xa, xb]))
    assert_close(y[:, :3], shared(xa))
    assert_close(y[:, 3:], shared(xb))


def test_nested_model_weights_are_the_inner_models():
    inner_in = lamina.Input((3,))
    inner = lamina.Model(inner_in, L.Dense(2, name="inner_dense")(inner_in), name="inner")
    x = lamina.Input((3,))
    outer = lamina.Model(x, L.Dense(1)(inner(x)))
    assert outer.weights[0] is inner.weights[0]
    assert outer.count_params() == inner.count_params() + 3
    inner.layers[1].set_weights([np.ones((3, 2)), np.zeros(2)])
    assert_close(outer.weights[0].numpy(), np.ones((3, 2)))


def headline(K):
    main_input = K.Input(shape=(100,), dtype="int32", name="main_input")
    x = K.layers.Embedding(output_dim=512, input_dim=10000)(main_input)
    lstm_out = K.layers.Dense(32, activation="tanh", name="stand_in_for_lstm")(
        K.layers.Flatten()(x))
    aux_output = K.layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
    auxiliary_input = K.Input(shape=(5,), name="aux_input")
    x = K.layers.concatenate([lstm_out, auxiliary_input])
    x = K.layers.Dense(64, activation="relu")(x)
    main_output = K.layers.Dense(1, activation="sigmoid", name="main_output")(x)
    return K.Model(inputs=[main_input, auxiliary_input], outputs=[main_output, aux_output])


def test_multi_input_multi_output_names_and_dict_inputs():
    km, lm = headline(keras), headline(lamina)
    assert lm.input_names == ["main_input", "aux_input"]
    assert lm.output_names == ["main_output", "aux_output"]
    assert lm.count_params() == km.count_params()
    copy_weights(km, lm)
    tokens = RNG.integers(1, 10000, (3, 100)).astype("int32")
    aux = RNG.random((3, 5), dtype="float32")
    assert_close(lm([tokens, aux]), km([tokens, aux]))
    assert_close(lm({"main_input": tokens, "aux_input": aux}), km([tokens, aux]))


def test_dict_outputs_come_back_as_dicts():
    i = lamina.Input((4,), name="x")
    model = lamina.Model({"x": i}, {"b": L.Dense(1, name="b")(i), "a": L.Dense(2, name="a")(i)})
    out = model({"x": np.ones((2, 4), "float32")})
    assert set(out) == {"a", "b"} and out["a"].shape == (2, 2) and out["b"].shape == (2, 1)
    pred = model.predict({"x": np.ones((3, 4), "float32")}, verbose=0)
    assert isinstance(pred, dict) and pred["a"].shape == (3, 2)


def test_get_layer(mlp_pair):
    _, lm = mlp_pair
    assert lm.get_layer(index=1) is lm.layers[1]
    assert lm.get_layer(name=lm.layers[2].name) is lm.layers[2]
    with pytest.raises(ValueError, match="No such layer"):
        lm.get_layer("nope")
    with pytest.raises(ValueError, match="exactly one"):
        lm.get_layer()


# -- config ------------------------------------------------------------------------

def _named_model(K):
    a = K.Input((4,), name="in_a")
    b = K.Input((3,), name="in_b")
    shared = K.layers.Dense(5, activation="relu", name="shared")
    x = K.layers.concatenate([shared(a), K.layers.Dense(5, name="side")(b)], name="cat")
    y = shared(K.layers.Dense(4, name="back")(x))
    out = K.layers.Dense(1, activation="sigmoid", name="out")(y)
    return K.Model([a, b], out, name="named")


def _strip(cfg):
    """Removes the fields where the two libraries legitimately differ (none so far)."""
    return json.loads(json.dumps(cfg))


def test_config_matches_keras_structure():
    kcfg, lcfg = _named_model(keras).get_config(), _named_model(lamina).get_config()
    assert [x["name"] for x in lcfg["layers"]] == [x["name"] for x in kcfg["layers"]]
    assert lcfg["input_layers"] == kcfg["input_layers"]
    assert lcfg["output_layers"] == kcfg["output_layers"]
    for kl, ll in zip(kcfg["layers"], lcfg["layers"]):
        assert ll["class_name"] == kl["class_name"]
        assert _strip(ll["config"]) == _strip(kl["config"]), ll["name"]
        assert len(ll["inbound_nodes"]) == len(kl["inbound_nodes"])
        for kn, ln in zip(kl["inbound_nodes"], ll["inbound_nodes"]):
            assert _strip(ln["args"]) == _strip(kn["args"])


def test_from_config_round_trip_gives_identical_outputs():
    model = _named_model(lamina)
    clone = lamina.Model.from_config(model.get_config())
    assert [x.name for x in clone.layers] == [x.name for x in model.layers]
    clone.set_weights(model.get_weights())
    xa, xb = RNG.random((2, 4), dtype="float32"), RNG.random((2, 3), dtype="float32")
    assert_close(clone([xa, xb]), model([xa, xb]))
    assert len(clone.get_layer("shared")._inbound_nodes) == 2


def test_keras_config_loads_in_lamina_and_back():
    km = _named_model(keras)
    lm = lamina.Model.from_config(km.get_config())
    copy_weights(km, lm)
    xa, xb = RNG.random((2, 4), dtype="float32"), RNG.random((2, 3), dtype="float32")
    assert_close(lm([xa, xb]), km([xa, xb]))
    back = keras.Model.from_config(lm.get_config())
    copy_weights(lm, back)
    assert_close(back([xa, xb]), km([xa, xb]))


def test_nested_model_config_round_trip(mlp_pair):
    _, lm = mlp_pair
    x = lamina.Input((784,))
    outer = lamina.Model(x, L.Dense(2)(lm(x)))
    clone = lamina.Model.from_config(outer.get_config())
    clone.set_weights(outer.get_weights())
    data = RNG.random((2, 784), dtype="float32")
    assert_close(clone(data), outer(data))


# -- errors ------------------------------------------------------------------------

def test_graph_errors():
    a, b = lamina.Input((3,), name="ga"), lamina.Input((3,), name="gb")
    out = L.add([a, b])
    with pytest.raises(ValueError, match="Graph disconnected.*gb"):
        lamina.Model(a, out)
    with pytest.raises(ValueError, match="Input"):
        lamina.Model(L.Dense(2)(a), out)
    with pytest.raises(TypeError, match="KerasTensor"):
        lamina.Model(np.ones((1, 3)), out)
    x = lamina.Input((3,))
    y = L.Dense(2, name="dup")(x)
    with pytest.raises(ValueError, match="dup"):
        lamina.Model(x, L.Dense(2, name="dup")(y))


def test_call_errors_name_the_input(mlp_pair):
    _, lm = mlp_pair
    with pytest.raises(ValueError, match=r"expected shape \(None, 784\), received shape \(2, 783\)"):
        lm(np.ones((2, 783), "float32"))
    a, b = lamina.Input((3,), name="p"), lamina.Input((2,), name="q")
    model = lamina.Model([a, b], L.concatenate([a, b]))
    with pytest.raises(ValueError, match="expects 2 input"):
        model(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="missing input 'q'"):
        model({"p": np.ones((1, 3), "float32")})
    ints = lamina.Input((4,), dtype="int32", name="tokens")
    emb = lamina.Model(ints, L.Embedding(10, 2)(ints))
    with pytest.raises(ValueError, match="'tokens'.*expects dtype int32, received dtype float32"):
        emb(np.ones((1, 4), "float32"))


def test_layer_build_errors_name_the_layer():
    dense = L.Dense(2, name="d_err")
    dense(lamina.Input((4,)))
    with pytest.raises(ValueError, match="d_err.*axis -1.*value 4.*\\(None, 5\\)"):
        dense(lamina.Input((5,)))
    with pytest.raises(ValueError, match="cat_err"):
        L.Concatenate(name="cat_err")([lamina.Input((2, 3)), lamina.Input((4, 3))])
    with pytest.raises(ValueError, match="reshape_err"):
        L.Reshape((5,), name="reshape_err")(lamina.Input((2, 3)))


def test_set_weights_checks_shapes():
    d = L.Dense(2, name="shape_err")
    d(lamina.Input((3,)))
    with pytest.raises(ValueError, match="shape_err.*expects 2 weights"):
        d.set_weights([np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"shape_err/kernel.*\(3, 2\).*\(2, 2\)"):
        d.set_weights([np.ones((2, 2)), np.zeros(2)])


# -- the single execution path --------------------------------------------------------

def test_stateless_call_jit_matches_and_does_not_retrace(mlp_pair):
    _, lm = mlp_pair
    traces = []

    @jax.jit
    def forward(tv, ntv, x):
        traces.append(1)
        out, _ = lm.stateless_call(tv, ntv, x)
        return out

    tv = [v.value for v in lm.trainable_variables]
    x = RNG.random((4, 784), dtype="float32")
    assert_close(forward(tv, [], x), lm(x))
    forward(tv, [], RNG.random((4, 784), dtype="float32"))
    assert len(traces) == 1
    with pytest.raises(ValueError, match="expects 6 trainable"):
        lm.stateless_call(tv[:2], [], x)


def test_stateless_call_does_not_touch_variables(mlp_pair):
    _, lm = mlp_pair
    before = lm.get_weights()
    zeros = [np.zeros(v.shape, "float32") for v in lm.trainable_variables]
    out, _ = lm.stateless_call(zeros, [], np.ones((1, 784), "float32"))
    assert_close(out, np.full((1, 10), 0.1))
    assert all(np.array_equal(a, b) for a, b in zip(before, lm.get_weights()))


def test_trainable_flag_freezes():
    x = lamina.Input((3,))
    d1, d2 = L.Dense(2), L.Dense(1)
    model = lamina.Model(x, d2(d1(x)))
    d1.trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4


def test_summary_totals_match_keras(capsys):
    lm = headline(lamina)
    lines = []
    lm.summary(print_fn=lines.append)
    text = "\n".join(lines)
    km = headline(keras)
    assert f"Total params: {km.count_params():,}" in text
    assert "main_output (Dense)" in text and "aux_input[0][0]" in text


def test_eager_model_calls_are_compiled_once_and_stay_stateful():
    inputs = lamina.Input((4,))
    x = L.Dropout(0.5)(L.Dense(8)(inputs))
    out = lamina.layers.BatchNormalization()(x)
    model = lamina.Model(inputs, out)
    data = RNG.standard_normal((16, 4)).astype("float32")
    a = np.asarray(model(data, training=True))
    b = np.asarray(model(data, training=True))
    assert not np.allclose(a, b)  # a fresh dropout mask on every call
    moving_mean = model.layers[-1].moving_mean.numpy()
    assert not np.allclose(moving_mean, 0.0)  # training calls update the statistics
    inference = np.asarray(model(data))
    assert_close(model(data), inference)
    assert_close(inference, model.stateless_call([v.value for v in model.trainable_variables],
                                                 [v.value for v in model.non_trainable_variables],
                                                 data)[0])
    fn = model._eager_call_cache[None]
    model(RNG.standard_normal((16, 4)).astype("float32"))
    assert fn._cache_size() == 1  # same shapes: no new compilation
