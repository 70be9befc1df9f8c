"""The generic RNN layer, user-written cells, StackedRNNCells and stateful RNNs vs Keras 3."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _recurrent_testlib import (
    MASK,
    RNG,
    B,
    D,
    L,
    T,
    U,
    X,
    assert_close,
    compare,
    config_without_names,
    copy_weights,
    keras,
    randomize,
)

import lamina
from lamina.saving import register_keras_serializable


def user_cells(K, ops):
    """Two user-written cells for framework ``K`` (keras or lamina) and its array ops."""

    class MinimalRNNCell(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            h = ops.matmul(inputs, self.kernel.value) + ops.matmul(
                states[0], self.recurrent_kernel.value)
            out = ops.tanh(h)
            return out, [out]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class TwoStateCell(K.layers.Layer):
        """States of different sizes (units and 2); a running sum as second state."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, 2]
            self.output_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

        def call(self, inputs, states, training=None):
            h, total = states
            out = ops.tanh(ops.matmul(inputs, self.kernel.value) + h)
            total = total + ops.mean(inputs, axis=-1, keepdims=True)
            return out, [out, total]

    return MinimalRNNCell, TwoStateCell


K_MIN, K_TWO = user_cells(keras, keras.ops)
L_MIN, L_TWO = user_cells(lamina, jnp)
register_keras_serializable("recurrent_tests")(L_MIN)


def rnn_pair(k_cell, l_cell, x=X, **kwargs):
    k, lam = keras.layers.RNN(k_cell, **kwargs), L.RNN(l_cell, **kwargs)
    k.build(x.shape)
    randomize(k)
    lam.build(x.shape)
    copy_weights(k, lam)
    return k, lam


@pytest.mark.parametrize("go_backwards", [False, True])
def test_user_cell_matches_keras(go_backwards):
    k, lam = rnn_pair(K_MIN(U), L_MIN(U), return_sequences=True, return_state=True,
                      go_backwards=go_backwards)
    compare(k, lam, X, mask=MASK)


def test_user_cell_with_two_state_sizes_and_zero_output_for_mask():
    k, lam = rnn_pair(K_TWO(U), L_TWO(U), return_sequences=True, return_state=True,
                      zero_output_for_mask=True)
    h0 = RNG.normal(size=(B, U)).astype("float32")
    s0 = RNG.normal(size=(B, 2)).astype("float32")
    compare(k, lam, X, mask=MASK, initial_state=[h0, s0])
    out = lam(X, mask=MASK, initial_state=[h0, s0])
    assert [tuple(o.shape) for o in out] == [(B, T, U), (B, U), (B, 2)]


def test_user_cell_gradients_under_jit():
    k, lam = rnn_pair(K_MIN(U), L_MIN(U))
    fn = jax.jit(jax.grad(lambda tv, x: lam.stateless_call(tv, [], x)[0].sum()))
    kfn = jax.grad(lambda tv, x: k.stateless_call(tv, [], x)[0].sum())
    tv = [v.value for v in lam.trainable_variables]
    assert_close(fn(tv, X), kfn([v.value for v in k.trainable_variables], X), rtol=1e-4)


def test_user_cell_config_round_trip():
    lam = L.RNN(L_MIN(U), return_sequences=True)
    lam.build(X.shape)
    randomize(lam)
    config = lam.get_config()
    assert config["cell"]["registered_name"] == "recurrent_tests>MinimalRNNCell"
    clone = L.RNN.from_config(config)
    clone.build(X.shape)
    clone.set_weights(lam.get_weights())
    assert_close(clone(X), lam(X))


def test_cell_without_state_size_raises():
    class NoState(lamina.layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size"):
        L.RNN(NoState())


def _stacked(K):
    cells = [K.layers.LSTMCell(U, name="lstm_cell"), K.layers.GRUCell(3, name="gru_cell")]
    return K.layers.RNN(K.layers.StackedRNNCells(cells, name="stack"),
                        return_sequences=True, return_state=True, name="stacked_rnn")


def test_stacked_cells_match_keras():
    k, lam = _stacked(keras), _stacked(lamina)
    k.build(X.shape)
    randomize(k)
    lam.build(X.shape)
    copy_weights(k, lam)
    assert [(w.path, tuple(w.shape)) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    compare(k, lam, X, mask=MASK)
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())
    assert lam.cell.state_size == k.cell.state_size == [[U, U], 3]
    assert lam.cell.output_size == 3
    clone = L.RNN.from_config(lam.get_config())
    clone.build(X.shape)
    clone.set_weights(lam.get_weights())
    assert_close(clone(X)[0], lam(X)[0])


def test_stack_given_as_list_with_user_cell():
    k = keras.layers.RNN([K_MIN(U), keras.layers.LSTMCell(U)], return_sequences=True)
    lam = L.RNN([L_MIN(U), L.LSTMCell(U)], return_sequences=True)
    assert isinstance(lam.cell, L.StackedRNNCells)
    k.build(X.shape)
    randomize(k)
    lam.build(X.shape)
    copy_weights(k, lam)
    compare(k, lam, X, mask=MASK)


def test_stacks_with_different_user_cells_do_not_share_a_compiled_loop():
    # A stack holding a user cell has no compute key; it used to share one compiled loop
    # (key ``(RNN, None)``) with every other such stack, running the first one's cells.
    L.RNN([L_TWO(U), L.GRUCell(3)])(X)
    k = keras.layers.RNN([K_MIN(U), keras.layers.GRUCell(3)])
    lam = L.RNN([L_MIN(U), L.GRUCell(3)])
    k.build(X.shape)
    randomize(k)
    lam.build(X.shape)
    copy_weights(k, lam)
    compare(k, lam, X)


def test_stacked_cell_standalone_call():
    kc = keras.layers.StackedRNNCells([keras.layers.SimpleRNNCell(U), keras.layers.GRUCell(U)])
    lc = L.StackedRNNCells([L.SimpleRNNCell(U), L.GRUCell(U)])
    kc.build((B, D))
    randomize(kc)
    lc.build((B, D))
    copy_weights(kc, lc)
    states = [[np.ones((B, U), "float32")], [np.zeros((B, U), "float32")]]
    ko, kst = kc(X[:, 0], states)
    lo, lst = lc(X[:, 0], states)
    assert_close(lo, ko)
    assert_close(jax.tree_util.tree_leaves(lst), jax.tree_util.tree_leaves(kst))


def test_rnn_config_matches_keras():
    kwargs = dict(return_sequences=True, go_backwards=True, zero_output_for_mask=True,
                  unroll=True)
    k, lam = keras.layers.RNN(keras.layers.GRUCell(U), **kwargs), L.RNN(L.GRUCell(U), **kwargs)
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())
    k.build(X.shape)
    lam.build(X.shape)
    assert config_without_names(lam.get_config()) == config_without_names(k.get_config())
    # Keras builds its layer from lamina's config.
    rebuilt = keras.layers.RNN.from_config(lam.get_config())
    assert config_without_names(rebuilt.get_config()) == config_without_names(k.get_config())


def test_rnn_wrong_rank_raises_naming_layer():
    with pytest.raises(ValueError, match="my_rnn"):
        L.RNN(L.GRUCell(U), name="my_rnn")(np.zeros((B, D), "float32"))


def test_output_mask_propagation():
    inp = lamina.Input((T,), dtype="int32")
    emb = L.Embedding(5, D, mask_zero=True)(inp)
    seq_layer = L.SimpleRNN(U, return_sequences=True, return_state=True)
    last_layer = L.GRU(U)
    model = lamina.Model(inp, last_layer(seq_layer(emb)[0]))
    tokens = np.array([[1, 2, 0, 3, 0], [0, 4, 4, 1, 2]], "int32")
    emb_values = model.layers[1](tokens)
    masks = seq_layer.compute_mask(emb_values, tokens != 0)
    assert len(masks) == 2 and masks[1] is None
    np.testing.assert_array_equal(np.asarray(masks[0]), tokens != 0)
    seq_out = seq_layer(emb_values, mask=tokens != 0)[0]
    assert_close(model(tokens), last_layer(seq_out, mask=tokens != 0))
    assert last_layer.compute_mask(emb_values, tokens != 0) is None


# -- stateful ---------------------------------------------------------------------------------

def test_stateful_lstm_matches_keras_across_calls():
    k = keras.layers.LSTM(U, stateful=True, return_sequences=True)
    lam = L.LSTM(U, stateful=True, return_sequences=True)
    k.build(X.shape)
    randomize(k)
    lam.build(X.shape)
    copy_weights(k, lam)  # Keras's list has no states: accepted
    assert len(lam.weights) == 5 and [w.name for w in lam.weights[3:]] == ["rnn_state"] * 2
    assert len(lam.trainable_weights) == 3 and len(lam.non_trainable_weights) == 2
    first_k, first_l = k(X), lam(X)
    assert_close(first_l, first_k)
    second_k, second_l = k(X), lam(X)  # starts from the first call's final states
    assert_close(second_l, second_k)
    assert not np.allclose(np.asarray(first_l), np.asarray(second_l))
    assert_close(lam.states[0].value, np.asarray(second_l)[:, -1])
    assert_close([v.value for v in lam.states], [v.value for v in k.states])
    lam.reset_states()
    k.reset_states()
    assert_close(lam(X), first_k)


def test_stateful_states_through_stateless_call_and_model():
    inp = lamina.Input(batch_shape=(B, T, D))
    gru = L.GRU(U, stateful=True)
    model = lamina.Model(inp, gru(inp))
    randomize(gru)
    gru.reset_states()
    tv = [v.value for v in model.trainable_variables]
    nt = [v.value for v in model.non_trainable_variables]
    assert len(nt) == 1 and nt[0].shape == (B, U)
    step = jax.jit(model.stateless_call)
    out1, nt1 = step(tv, nt, X)
    out2, nt2 = step(tv, nt1, X)
    assert_close(nt1[0], out1)  # the new state is the last output
    assert not np.allclose(np.asarray(out1), np.asarray(out2))
    assert_close(model(X), out1)  # eager call writes the new state back
    assert_close(model(X), out2)
    assert_close(gru.states[0].value, out2)


def test_stateful_errors_name_the_layer():
    with pytest.raises(ValueError, match="st_lstm"):
        L.LSTM(U, stateful=True, name="st_lstm")(lamina.Input((T, D)))
    lam = L.LSTM(U, stateful=True, name="st_lstm2")
    lam.build(X.shape)
    with pytest.raises(ValueError, match="st_lstm2"):
        lam(np.zeros((B + 1, T, D), "float32"))
