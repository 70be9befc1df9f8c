"""Sequential models built later (by a call, predict, build) and nested Sequential models,
compared with Keras 3."""

import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X4 = RNG.random((4, 5), dtype="float32")
X7 = RNG.random((7, 5), dtype="float32")
Y4 = RNG.random((4, 2), dtype="float32")


def mlp(K, *head):
    return K.Sequential([*head, K.layers.Dense(3, name="d1"), K.layers.Dense(2, name="d2")])


def pair(*build):
    """An unbuilt lamina MLP, and a Keras one built with ``build`` for reference weights."""
    km = mlp(keras)
    km.build(*build or ((None, 5),))
    return mlp(lamina), km


def summary_rows(model) -> list:
    chunks = []
    model.summary(print_fn=lambda text, **kwargs: chunks.append(text))
    rows = [line for line in "\n".join(chunks).splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]


# -- item 1: a deferred build leaves the batch dimension free ------------------
def test_predict_on_unbuilt_model_takes_the_whole_batch():
    lm, km = pair()
    out = lm.predict(X4, verbose=0)  # was: "expected shape (1, 5), received (4, 5)"
    copy_weights(km, lm)
    assert_close(lm.predict(X4, verbose=0), km.predict(X4, verbose=0))
    assert_close(lm.predict(X7, verbose=0), km.predict(X7, verbose=0))
    assert out.shape == (4, 2)
    # Keras records the batch size of the first batch here, (4, 5); lamina keeps it free.
    assert lm.inputs[0].shape == (None, 5) and lm.output_shape == (None, 2)


def test_call_on_two_samples_then_seven():
    lm, km = pair()
    assert lm(X4[:2]).shape == (2, 2)
    copy_weights(km, lm)
    assert_close(lm(X7), km(X7))
    assert_close(lm.predict(X7, verbose=0), km.predict(X7, verbose=0))
    assert lm.inputs[0].shape == (None, 5)
    assert lm.get_build_config() == {"input_shape": [None, 5]}


def test_build_with_free_batch_matches_keras():
    lm, km = pair((None, 5))
    lm.build((None, 5))
    copy_weights(km, lm)
    assert lm.inputs[0].shape == km.inputs[0].shape == (None, 5)
    assert lm.input_shape == km.input_shape and lm.output_shape == km.output_shape
    assert summary_rows(lm) == summary_rows(km)
    assert_close(lm.predict(X7, verbose=0), km.predict(X7, verbose=0))


def test_build_with_fixed_batch_shows_it_but_runs_any_batch():
    lm, km = pair((1, 5))
    lm.build((1, 5))
    copy_weights(km, lm)
    # Keras keeps the batch size given to build in the model's shapes...
    assert lm.inputs[0].shape == km.inputs[0].shape == (1, 5)
    assert lm.output_shape == km.output_shape == (1, 2)
    assert summary_rows(lm) == summary_rows(km)
    assert lm.get_config()["build_input_shape"] == [1, 5]
    # ...but does not restrict calls to it.
    assert_close(lm.predict(X4, verbose=0), km.predict(X4, verbose=0))
    assert_close(lm(X4), km(X4))


def test_input_with_fixed_batch_runs_any_batch():
    km = keras.Sequential([keras.Input(batch_shape=(1, 5)), keras.layers.Dense(3)])
    lm = lamina.Sequential([lamina.Input(batch_shape=(1, 5)), L.Dense(3)])
    copy_weights(km, lm)
    assert lm.inputs[0].shape == km.inputs[0].shape == (1, 5)
    assert_close(lm(X4), km(X4))
    assert_close(lm.predict(X4, verbose=0), km.predict(X4, verbose=0))


def test_symbolic_call_keeps_the_given_shape():
    lm, km = mlp(lamina), mlp(keras)
    assert lm(lamina.Input(batch_shape=(3, 5))).shape == km(keras.Input(batch_shape=(3, 5))).shape
    assert lm.inputs[0].shape == km.inputs[0].shape == (3, 5)


def test_evaluate_on_unbuilt_compiled_model():
    lm, km = pair()
    lm.compile(optimizer="sgd", loss="mse")
    km.compile(optimizer="sgd", loss="mse")
    lm.evaluate(X4, Y4, batch_size=3, verbose=0)  # builds the model
    copy_weights(km, lm)
    assert np.isclose(lm.evaluate(X4, Y4, batch_size=3, verbose=0),
                      km.evaluate(X4, Y4, batch_size=3, verbose=0), rtol=1e-5)
    assert lm.inputs[0].shape == (None, 5)


def test_fit_on_unbuilt_model():
    lm, km = mlp(lamina), mlp(keras)
    lm.compile(optimizer="sgd", loss="mse")
    lm.fit(X4, Y4, batch_size=3, epochs=1, verbose=0)  # builds the model on its first batch
    assert lm.inputs[0].shape == (None, 5)
    km.build((None, 5))
    copy_weights(lm, km)
    km.compile(optimizer="sgd", loss="mse")
    lm.fit(X4, Y4, batch_size=3, epochs=1, shuffle=False, verbose=0)
    km.fit(X4, Y4, batch_size=3, epochs=1, shuffle=False, verbose=0)
    assert_close(lm.get_weights(), km.get_weights())


def test_unbuilt_sequential_inside_a_subclassed_model():
    class Wrapper(lamina.Model):
        def __init__(self):
            super().__init__()
            self.body = mlp(lamina)

        def call(self, x):
            return self.body(x)

    model = Wrapper()
    assert model(X4[:2]).shape == (2, 2)
    assert model.body.inputs[0].shape == (None, 5)
    assert model(X7).shape == (7, 2)


def test_compute_output_shape():
    lm, km = pair((1, 5))
    assert lm.compute_output_shape((None, 5)) == km.compute_output_shape((None, 5)) == (None, 2)
    lm.build((1, 5))
    assert lm.compute_output_shape((7, 5)) == km.compute_output_shape((7, 5)) == (7, 2)


def test_unbuilt_model_has_no_inputs_and_build_errors():
    lm = mlp(lamina)
    with pytest.raises(AttributeError, match="no defined inputs"):
        lm.inputs  # noqa: B018 - the property raises
    with pytest.raises(AttributeError, match="no defined output shape"):
        lm.output_shape  # noqa: B018
    lm.build()  # no shape: stays unbuilt, as in Keras
    assert not lm.built
    with pytest.raises(ValueError, match="no layers"):
        lamina.Sequential().build((None, 5))
    lm.build((None, 5))
    lm.build((2, 5))  # agrees with (None, 5)
    with pytest.raises(ValueError, match="already been configured"):
        lm.build((None, 6))


def test_config_round_trip_keeps_the_build_shape():
    lm = mlp(lamina)
    lm.build((1, 5))
    clone = lamina.Sequential.from_config(lm.get_config())
    assert clone.inputs[0].shape == (1, 5)
    clone.set_weights(lm.get_weights())
    assert_close(clone(X4), lm(X4))


def test_pop_and_add_do_not_reuse_the_old_compiled_call():
    model = lamina.Sequential([lamina.Input((3,)),
                               L.Dense(2, use_bias=False, kernel_initializer="ones")])
    x = -np.ones((1, 3), "float32")
    assert_close(model(x), [[-3.0, -3.0]])
    assert_close(model.predict(x, verbose=0), [[-3.0, -3.0]])
    model.pop()
    model.add(L.Dense(2, use_bias=False, kernel_initializer="ones", activation="relu"))
    assert_close(model(x), [[0.0, 0.0]])
    assert_close(model.predict(x, verbose=0), [[0.0, 0.0]])


# -- item 2: masks flow through nested Sequential models ----------------------
IDS = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]], dtype="int32")
FEATS = RNG.random((3, 4, 2), dtype="float32")
FEATS[0, 2:] = 0.0
FEATS[1, 1:] = 0.0


def _emb_then_nested(K, nested):
    inp = K.Input((4,), dtype="int32")
    x = K.layers.Embedding(10, 3, mask_zero=True)(inp)
    return K.Model(inp, nested(K)(x))


MASK_CASES = {
    # Sequential([LSTM]) after a masking Embedding: the mask goes into the nested model.
    "into_nested": (lambda K: _emb_then_nested(
        K, lambda K: K.Sequential([K.layers.LSTM(2)])), IDS),
    # The nested model's output mask reaches the LSTM after it.
    "through_nested": (lambda K: (lambda inp: K.Model(inp, K.layers.LSTM(2)(K.Sequential(
        [K.layers.LSTM(2, return_sequences=True)])(K.layers.Embedding(
            10, 3, mask_zero=True)(inp)))))(K.Input((4,), dtype="int32")), IDS),
    # A mask made inside the nested model (Masking) leaves it.
    "made_in_nested": (lambda K: (lambda inp: K.Model(inp, K.layers.LSTM(2)(K.Sequential(
        [K.layers.Masking(), K.layers.LSTM(2, return_sequences=True)])(inp))))(
        K.Input((4, 2))), FEATS),
    # A Sequential inside a Sequential, deferred build.
    "sequential_in_sequential": (lambda K: K.Sequential([
        K.layers.Embedding(10, 3, mask_zero=True),
        K.Sequential([K.layers.LSTM(2, return_sequences=True)]),
        K.layers.LSTM(2)]), IDS),
    "masking_in_inner_sequential": (lambda K: K.Sequential([
        K.Input((4, 2)), K.Sequential([K.layers.Masking()]), K.layers.LSTM(2)]), FEATS),
}


# Keras warns that a Sequential "does not support masking", yet passes masks through it.
@pytest.mark.filterwarnings("ignore:.*does not support masking")
@pytest.mark.parametrize("case", sorted(MASK_CASES))
def test_masks_flow_through_nested_sequential(case):
    make, x = MASK_CASES[case]
    km, lm = make(keras), make(lamina)
    km(x)
    lm(x)
    copy_weights(km, lm)
    expected = km.predict(x, verbose=0)
    assert_close(lm(x), expected)
    assert_close(lm.predict(x, verbose=0), expected)
