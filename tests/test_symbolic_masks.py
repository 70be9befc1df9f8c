"""Masks while a functional graph is built, when it runs and on eager calls, vs Keras 3.

Keras gives symbolic outputs a ``_keras_mask`` (computed by the layer's compute_mask)
and passes the input tensors' masks to a ``call`` that takes ``mask`` both when the
graph is built and when it runs; eager outputs carry their mask as an attribute.
"""

from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L
from lamina.graph import KerasTensor, Node

RNG = np.random.default_rng(0)
# The two keras.ops functions the custom layers below use, for lamina.
JNP_OPS = SimpleNamespace(expand_dims=jnp.expand_dims, cast=lambda x, dtype: jnp.asarray(x, dtype))
IDS = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 0, 0]])
SEQ = RNG.normal(size=(2, 5, 3)).astype("float32")
SEQ[0, 3:] = 0.0
SEQ[1, 4:] = 0.0


def _mask_spec(t):
    mask = getattr(t, "_keras_mask", None)
    return None if mask is None else (tuple(mask.shape), str(mask.dtype))


# -- symbolic masks on outputs ------------------------------------------------------
def _emb_dense(K):
    x = K.Input((5,), dtype="int32")
    return [K.layers.Dense(3)(K.layers.Embedding(10, 4, mask_zero=True)(x))]


def _masking(K):
    return [K.layers.Masking()(K.Input((5, 3)))]


def _lstm(**kwargs):
    def build(K):
        out = K.layers.LSTM(2, **kwargs)(K.layers.Masking()(K.Input((5, 3))))
        return list(out) if isinstance(out, (list, tuple)) else [out]
    return build


def _flatten(K):
    return [K.layers.Flatten()(K.layers.Masking()(K.Input((5, 3))))]


def _concat(K):
    a = K.layers.Embedding(10, 4, mask_zero=True)(K.Input((5,), dtype="int32"))
    b = K.layers.Dense(4)(K.Input((5, 2)))
    return [K.layers.Concatenate()([a, b])]


def _mha(K):
    q = K.layers.Embedding(10, 4, mask_zero=True)(K.Input((5,), dtype="int32"))
    v = K.layers.Embedding(10, 4, mask_zero=True)(K.Input((3,), dtype="int32"))
    return [K.layers.MultiHeadAttention(2, 2)(q, v)]


@pytest.mark.parametrize("build", [
    _emb_dense, _masking, _lstm(return_sequences=True), _lstm(),
    _lstm(return_sequences=True, return_state=True), _flatten, _concat, _mha,
], ids=["embedding_dense", "masking", "lstm_sequences", "lstm_last", "lstm_states",
        "flatten", "concatenate", "mha"])
def test_symbolic_output_masks_match_keras(build):
    ours, theirs = build(lamina), build(keras)
    assert [_mask_spec(t) for t in ours] == [_mask_spec(t) for t in theirs]


def test_symbolic_masks_are_kerastensors_that_default_to_none():
    x = lamina.Input((5,), dtype="int32")
    assert x._keras_mask is None
    e = L.Embedding(10, 4, mask_zero=True)(x)
    assert isinstance(e._keras_mask, KerasTensor)
    assert e._keras_mask.shape == (None, 5) and e._keras_mask.dtype == "bool"
    # Layers that do not support masking drop it; Dense passes the same mask on.
    d = L.Dense(2)(e)
    assert d._keras_mask is e._keras_mask
    assert L.Lambda(lambda t: t)(e)._keras_mask is None


# -- a custom layer sees the same mask when the graph is built and when it runs -----
def _recording_layer(K, ops, seen):
    class ZeroMasked(K.layers.Layer):
        """Zeroes masked timesteps and keeps the mask (recording what it receives)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            seen.append(None if mask is None else (tuple(mask.shape), str(mask.dtype)))
            if mask is None:
                return inputs
            return inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)

    return ZeroMasked


def _masked_model(K, layer_cls):
    x = K.Input((5,), dtype="int32")
    h = K.layers.Embedding(10, 4, mask_zero=True)(x)
    h = K.layers.Dense(3)(h)
    h = layer_cls()(h)
    return K.Model(x, K.layers.LSTM(2, return_sequences=True)(h))


def test_custom_layer_receives_the_mask_when_built_and_when_run():
    ours, theirs = [], []
    lam = _masked_model(lamina, _recording_layer(lamina, JNP_OPS, ours))
    ker = _masked_model(keras, _recording_layer(keras, keras.ops, theirs))
    # Built: the symbolic mask (abstract, unknown batch as a stand-in size), as in Keras.
    assert ours and all(s is not None and s[0][1:] == (5,) and s[1] == "bool" for s in ours)
    assert theirs and all(s is not None and s[0][1:] == (5,) for s in theirs)
    copy_weights(ker, lam)
    ours.clear()
    theirs.clear()
    assert_close(lam(IDS), ker(IDS))
    # Run: the concrete mask of this batch.
    assert ours[-1] == theirs[-1] == ((2, 5), "bool")
    assert _mask_spec(lam.output) == _mask_spec(ker.output) == ((None, 5), "bool")


def test_model_run_and_build_share_the_mask_rules_for_several_tensor_arguments():
    # With initial_state the LSTM call has two tensor arguments, so Keras does not fill in
    # `mask` (only `<arg>_mask` arguments, which LSTM has none of): the padded steps run.
    def build(K):
        x, s = K.Input((5,), dtype="int32"), K.Input((2,))
        h = K.layers.Embedding(10, 4, mask_zero=True)(x)
        out = K.layers.LSTM(2, return_sequences=True)(h, initial_state=[s, s])
        return K.Model([x, s], out)

    lam, ker = build(lamina), build(keras)
    copy_weights(ker, lam)
    state = RNG.normal(size=(2, 2)).astype("float32")
    assert_close(lam([IDS, state]), ker([IDS, state]))
    assert _mask_spec(lam.output) == _mask_spec(ker.output)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_nested_model_masks_reach_the_outer_graph(kind):
    seen = []

    def build(K, seen):
        if kind == "sequential":
            inner = K.Sequential([K.Input((5,), dtype="int32"),
                                  K.layers.Embedding(10, 4, mask_zero=True), K.layers.Dense(3)])
        else:
            inner_in = K.Input((5,), dtype="int32")
            inner = K.Model(inner_in, K.layers.Dense(3)(
                K.layers.Embedding(10, 4, mask_zero=True)(inner_in)))
        x = K.Input((5,), dtype="int32")
        layer = _recording_layer(K, JNP_OPS if K is lamina else keras.ops, seen)()
        return K.Model(x, layer(inner(x)))

    lam, ker = build(lamina, seen), build(keras, [])
    # Keras gives a nested model's symbolic outputs no mask (only its run does); lamina
    # computes it from the inner graph, so the layer sees the mask in both phases.
    assert seen and all(s is not None and s[0][1:] == (5,) for s in seen)
    copy_weights(ker, lam)
    seen.clear()
    assert_close(lam(IDS), ker(IDS))
    assert seen[-1] == ((2, 5), "bool")


# -- compute_mask is checked when the graph is built ---------------------------------
class _BadMask(L.Layer):
    def __init__(self, mask_fn, **kwargs):
        super().__init__(**kwargs)
        self.mask_fn = mask_fn

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, previous_mask=None):
        return self.mask_fn(inputs)


@pytest.mark.parametrize("mask_fn, match", [
    (lambda x: jnp.ones((7,), bool), r"shape \(7,\)"),
    (lambda x: jnp.ones(x.shape[:1] + (x.shape[1] + 1,), bool), r"shape \(None, 6\)"),
    (lambda x: jnp.ones(x.shape + (2,), bool), r"shape \(None, 5, 3, 2\)"),
    (lambda x: "all", "failed"),
    (lambda x: [x[..., 0] > 0, x[..., 0] > 0], "2 masks for 1 output"),
], ids=["constant", "wrong_steps", "too_many_axes", "not_a_tensor", "too_many_masks"])
def test_ill_formed_compute_mask_raises_naming_the_layer(mask_fn, match):
    x = lamina.Input((5, 3))
    with pytest.raises(ValueError, match=match) as info:
        lamina.Model(x, _BadMask(mask_fn, name="bad_masker")(x))
    assert "bad_masker" in str(info.value)


def test_a_mask_that_fits_its_output_is_accepted():
    x = lamina.Input((5, 3))
    out = _BadMask(lambda t: t[..., 0] > 0)(x)
    assert out._keras_mask.shape == (None, 5)
    full = _BadMask(lambda t: t > 0)(x)
    assert full._keras_mask.shape == (None, 5, 3)


def test_a_call_that_cannot_take_the_symbolic_mask_is_built_without_it_with_a_warning():
    # Softmax over (steps, steps) with a (batch, steps) mask broadcasts only for some batch
    # sizes; Keras infers Softmax's shape without calling it, lamina warns and does so.
    def build(K):
        x = K.Input((4, 4))
        return K.Model(x, K.layers.Softmax()(K.layers.Masking()(x)))

    with pytest.warns(UserWarning, match="softmax"):
        lam = build(lamina)
    x = RNG.normal(size=(1, 4, 4)).astype("float32")
    x[0, 2] = 0.0
    assert_close(lam(x), build(keras)(x))


# -- eager calls: masks travel on the output arrays ---------------------------------
def test_eager_outputs_carry_masks_like_keras():
    k_emb = keras.layers.Embedding(10, 4, mask_zero=True)
    l_emb = L.Embedding(10, 4, mask_zero=True)
    k_h, l_h = k_emb(IDS), l_emb(IDS)
    copy_weights(k_emb, l_emb)
    l_h = l_emb(IDS)
    np.testing.assert_array_equal(np.asarray(l_h._keras_mask), np.asarray(k_h._keras_mask))
    # An eager LSTM reads the mask off its input array, as Keras's does.
    k_lstm, l_lstm = keras.layers.LSTM(2, return_sequences=True), L.LSTM(2,
                                                                          return_sequences=True)
    expected = k_lstm(k_h)
    l_lstm.build((None, 5, 4))
    copy_weights(k_lstm, l_lstm)
    got = l_lstm(l_h)
    assert_close(got, expected)
    np.testing.assert_array_equal(np.asarray(got._keras_mask), np.asarray(expected._keras_mask))


def test_eager_model_outputs_carry_the_graph_mask():
    lam, ker = _emb_dense_model(lamina), _emb_dense_model(keras)
    copy_weights(ker, lam)
    got, expected = lam(IDS), ker(IDS)
    assert_close(got, expected)
    np.testing.assert_array_equal(np.asarray(got._keras_mask), np.asarray(expected._keras_mask))


def test_model_compute_mask_runs_the_graph_for_its_output_masks():
    model = _emb_dense_model(lamina)
    np.testing.assert_array_equal(np.asarray(model.compute_mask(IDS, None)), IDS != 0)
    x = lamina.Input((3,))
    plain = lamina.Model(x, L.Dense(2)(x))
    assert plain.compute_mask(np.ones((2, 3), "float32"), None) is None


def _emb_dense_model(K):
    x = K.Input((5,), dtype="int32")
    return K.Model(x, K.layers.Dense(3)(K.layers.Embedding(10, 4, mask_zero=True)(x)))


# -- Lambda passes mask and training to functions that take them ---------------------
def _lambda_model(K, fn):
    x = K.Input((5,), dtype="int32")
    h = K.layers.Embedding(10, 4, mask_zero=True)(x)
    return K.Model(x, K.layers.Lambda(fn)(h))


def test_lambda_function_receives_the_mask_when_built_and_run():
    seen = []

    def ours(x, mask=None):
        seen.append(None if mask is None else tuple(mask.shape))
        return x * jnp.asarray(mask, x.dtype)[..., None]

    def theirs(x, mask=None):
        # Keras infers a Lambda's output shape without the mask (mask=None when built).
        if mask is None:
            return x
        return x * keras.ops.cast(mask, x.dtype)[..., None]

    lam, ker = _lambda_model(lamina, ours), _lambda_model(keras, theirs)
    assert seen and all(s is not None and s[1:] == (5,) for s in seen)
    copy_weights(ker, lam)
    assert_close(lam(IDS), ker(IDS))
    assert seen[-1] == (2, 5)
    assert _mask_spec(lam.output) == _mask_spec(ker.output) is None


@pytest.mark.parametrize("training", [None, True, False])
def test_lambda_function_receives_training(training):
    def fn(x, training=None):
        return x * (2.0 if training else 1.0) + (0.5 if training is None else 0.0)

    lam, ker = _lambda_model(lamina, fn), _lambda_model(keras, fn)
    copy_weights(ker, lam)
    assert_close(lam(IDS, training=training), ker(IDS, training=training))


def test_lambda_passes_nothing_to_keyword_only_or_absent_parameters():
    # Keras looks for `mask`/`training` among the positional-or-keyword parameters only.
    def fn(x, *, mask="unset", training="unset"):
        assert mask == "unset" and training == "unset"
        return x

    for K in (lamina, keras):
        model = _lambda_model(K, fn)
        model(IDS, training=True)
        model = _lambda_model(K, lambda x: x + 1.0)
        model(IDS, training=True)


def test_lambda_mask_argument_sets_the_output_mask():
    def build(K, any_fn):
        x = K.Input((5, 3))
        return K.layers.Lambda(lambda t: t * 2.0,
                               mask=lambda t, m: any_fn(t > 0, axis=-1))(x)

    ours, theirs = build(lamina, jnp.any), build(keras, keras.ops.any)
    assert _mask_spec(ours) == _mask_spec(theirs) == ((None, 5), "bool")
    assert L.Lambda(lambda t: t).supports_masking is False
    assert L.Lambda(lambda t: t, mask=lambda t, m: m).supports_masking is True


# -- Node.is_input is structural ---------------------------------------------------
def test_input_nodes_are_the_nodes_without_input_tensors():
    x = lamina.Input((3,))
    layer, index, _ = x._keras_history
    assert layer._inbound_nodes[index].is_input
    y = L.Dense(2)(x)
    layer, index, _ = y._keras_history
    assert not layer._inbound_nodes[index].is_input

    class Source(L.Layer):
        """A layer that is not an InputLayer but starts a graph."""

        def call(self, inputs):
            return inputs

    source = Source()
    tensor = KerasTensor((None, 3))
    node = Node(source, (), {}, tensor)
    assert node.is_input


def test_input_layer_subclass_starts_a_model():
    class NamedInput(L.InputLayer):
        pass

    x = NamedInput(shape=(3,), name="features").output_tensor
    model = lamina.Model(x, L.Dense(2)(x))
    assert model(np.ones((4, 3), "float32")).shape == (4, 2)
    other = lamina.Input((3,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(x, L.Add()([L.Dense(3)(x), other]))
