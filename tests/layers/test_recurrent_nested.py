"""``layers.RNN`` over cells with nested inputs, higher-rank/nested states and nested outputs.

The cell follows the Keras RNN guide's "nested inputs" example: per timestep it takes
``(x1 (batch, I1), x2 (batch, I2, I3))`` (a tuple, list or dict) and has states of
shapes ``(batch, U1)`` and ``(batch, U2, U3)`` (``state_size=[U1, (U2, U3)]``).

The oracles: Keras 3.15.1's own ``keras.layers.RNN`` cannot run such a cell (its build
and call index ``sequences`` as one tensor; ``test_keras_rnn_itself_rejects_nested_inputs``
pins that), but its time loop, ``keras.src.backend.rnn`` (what ``RNN.call`` runs), does
take nested inputs. ``KerasLoopRNN`` drives the Keras-side cell with that loop. The loop
has two limits: it mishandles nested *outputs* (``outputs[-1]`` picks a structure
element, no flip, no masking), and its scan (not unrolled) broadcasts the ``(batch, 1)``
step mask against the trailing axes of a higher-rank state instead of its batch axis, so
the ``(batch, U2, U3)`` state comes out wrong under a mask (its unrolled loop tiles the
mask correctly). ``KerasStepRNN`` is a plain per-timestep loop in ``keras.ops`` with
Keras's rules (masked steps keep the states; the output is the previous first state,
zeros with ``zero_output_for_mask``, or, unrolled / for nested outputs, the previous
output; ``go_backwards`` returns processing order); it is checked against Keras's loop
on everything that loop gets right, and is the oracle for the rest. Both cells have
identical math; weights are copied from the Keras side.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _recurrent_testlib import assert_close, copy_weights, keras
from keras.src import backend as keras_backend

import lamina
import lamina.layers as L
from lamina.saving import register_keras_serializable

B, T, I1, I2, I3, U1, U2, U3 = 2, 4, 3, 2, 2, 4, 2, 3
RNG = np.random.default_rng(7)
X1 = RNG.normal(size=(B, T, I1)).astype("float32")
X2 = RNG.normal(size=(B, T, I2, I3)).astype("float32")
H0 = RNG.normal(size=(B, U1)).astype("float32")
G0 = RNG.normal(size=(B, U2, U3)).astype("float32")
# Row 0: masked in the middle and at the end; row 1: masked first step.
MASK = np.array([[1, 0, 1, 0], [0, 1, 1, 1]], dtype=bool)
STATE_SHAPES = [(U1,), (U2, U3)]


def nested_cell(K, ops):
    """The guide's nested cell for framework ``K`` (keras or lamina) with array ops ``ops``."""

    def unpack(structure):
        if isinstance(structure, dict):
            return structure["a"], structure["b"]
        return structure

    class NestedCell(K.layers.Layer):
        def __init__(self, nested_output=False, **kwargs):
            super().__init__(**kwargs)
            self.nested_output = nested_output
            self.state_size = [U1, (U2, U3)]
            self.output_size = [U1, (U2, U3)] if nested_output else U1

        def build(self, input_shapes):
            shape_1, shape_2 = unpack(input_shapes)
            self.kernel_1 = self.add_weight(shape=(shape_1[-1], U1), name="kernel_1")
            self.recurrent_1 = self.add_weight(shape=(U1, U1), name="recurrent_1")
            self.kernel_2 = self.add_weight(shape=(shape_2[-2], shape_2[-1], U2, U3),
                                            name="kernel_2")
            self.gate_2 = self.add_weight(shape=(U2, U3), name="gate_2")

        def call(self, inputs, states):
            x1, x2 = unpack(inputs)
            h, g = states
            out_1 = ops.tanh(ops.matmul(x1, self.kernel_1.value)
                             + ops.matmul(h, self.recurrent_1.value))
            out_2 = ops.tanh(ops.einsum("bij,ijkl->bkl", x2, self.kernel_2.value)
                             + g * self.gate_2.value)
            if self.nested_output == "list":
                return [out_1, out_2], [out_1, out_2]
            if self.nested_output:
                return {"first": out_1, "second": out_2}, [out_1, out_2]
            return out_1, [out_1, out_2]

        def get_config(self):
            return {**super().get_config(), "nested_output": self.nested_output}

    return NestedCell


K_CELL = nested_cell(keras, keras.ops)
L_CELL = register_keras_serializable("recurrent_nested_tests")(nested_cell(lamina, jnp))


def _first_mask(mask):
    leaves = [m for m in keras.tree.flatten(mask) if m is not None] if mask is not None else []
    return leaves[0] if leaves else None


class _KerasOracleRNN(keras.layers.Layer):
    """A Keras layer running a Keras cell over time (see the module docstring)."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.supports_masking = True

    def build(self, sequences_shape, initial_state_shape=None):
        step = keras.tree.map_shape_structure(lambda s: (s[0],) + tuple(s[2:]),
                                              sequences_shape)
        self.cell.build(step)
        self.cell.built = True

    def call(self, sequences, initial_state=None, mask=None):
        batch = keras.tree.flatten(sequences)[0].shape[0]
        if initial_state is None:
            initial_state = [keras.ops.zeros((batch,) + s) for s in STATE_SHAPES]
        output, states = self.loop(sequences, list(initial_state), _first_mask(mask))
        return (output, *states) if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        mask = _first_mask(mask) if self.return_sequences else None
        nested = getattr(self.cell, "nested_output", False)
        out = [mask, mask] if nested == "list" else {"first": mask, "second": mask} if (
            nested) else mask
        return [out, None, None] if self.return_state else out


def _tuple_step(cell):
    """A step for Keras's loop, which wants the states back in the structure it passed."""
    def step(x, states):
        out, new = cell(x, list(states))
        return out, tuple(new)

    return step


class KerasLoopRNN(_KerasOracleRNN):
    """Keras's own RNN time loop (``keras.src.backend.rnn``) over a Keras cell."""

    def loop(self, sequences, states, mask):
        last, outputs, final = keras_backend.rnn(
            _tuple_step(self.cell), sequences, tuple(states),
            go_backwards=self.go_backwards, mask=mask, unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences)
        return (outputs if self.return_sequences else last), list(final)


class KerasStepRNN(_KerasOracleRNN):
    """A plain per-timestep loop in ``keras.ops`` (see the module docstring)."""

    def loop(self, sequences, states, mask):
        tree, ops = keras.tree, keras.ops
        steps = range(T - 1, -1, -1) if self.go_backwards else range(T)
        outputs, previous = [], None
        for t in steps:
            out, new = self.cell(tree.map_structure(lambda a, t=t: a[:, t], sequences),
                                   states)
            if previous is None:
                previous = tree.map_structure(ops.zeros_like, out)
            if mask is not None:
                def keep(n, o, m=mask[:, t]):
                    return ops.where(ops.reshape(m, (-1,) + (1,) * (n.ndim - 1)), n, o)

                first = keras.tree.flatten(states[-1])[0] if keras.tree.is_nested(
                    states[0]) else states[0]
                if self.unroll:
                    fill = previous
                elif self.zero_output_for_mask:
                    fill = tree.map_structure(ops.zeros_like, out)
                elif not keras.tree.is_nested(out) and first.shape == out.shape:
                    fill = first
                else:
                    fill = previous
                out = tree.map_structure(keep, out, fill)
                new = tree.map_structure(keep, list(new), states)
            outputs.append(out)
            previous, states = out, list(new)
        if not self.return_sequences:
            return previous, states
        return tree.map_structure(lambda *o: ops.stack(o, axis=1), *outputs), states


def _inputs(kind):
    if kind == "dict":
        return {"a": X1, "b": X2}
    return [X1, X2] if kind == "list" else (X1, X2)


def layer_pair(oracle_cls, nested_output=False, kind="tuple", **kwargs):
    """A Keras oracle layer and ``lamina.layers.RNN`` with the same (random) weights."""
    k = oracle_cls(K_CELL(nested_output), **kwargs)
    lam = L.RNN(L_CELL(nested_output), **kwargs)
    shapes = keras.tree.map_structure(lambda a: a.shape, _inputs(kind))
    k.build(shapes)
    rng = np.random.default_rng(3)
    k.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in k.get_weights()])
    lam.build(shapes)
    copy_weights(k, lam)
    return k, lam


def step_twin(k):
    """A ``KerasStepRNN`` sharing ``k``'s (built) cell and options."""
    twin = KerasStepRNN(k.cell, return_sequences=k.return_sequences,
                        return_state=k.return_state, go_backwards=k.go_backwards,
                        unroll=k.unroll, zero_output_for_mask=k.zero_output_for_mask)
    twin.built = True
    return twin


def close_leaves(actual, expected, skip=()):
    """Same structure and values, leaf by leaf (flat indices in ``skip`` are not compared)."""
    assert jax.tree_util.tree_structure(actual) == jax.tree_util.tree_structure(
        jax.tree_util.tree_map(lambda _: 0, expected))
    for i, (a, b) in enumerate(zip(jax.tree_util.tree_leaves(actual),
                                   jax.tree_util.tree_leaves(expected))):
        assert tuple(a.shape) == tuple(b.shape)
        if i not in skip:
            assert_close(a, np.asarray(b), err_msg=f"leaf {i}")


def compare(k, lam, *args, **kwargs):
    lo = lam(*args, **kwargs)
    close_leaves(lo, k(*args, **kwargs))
    return lo


# -- eager layer calls ------------------------------------------------------------------------

def test_keras_rnn_itself_rejects_nested_inputs():
    inputs = (keras.Input((T, I1)), keras.Input((T, I2, I3)))
    # Keras builds the cell on the tuple's first shape: a Python error (not a clean
    # message) whichever cell is used.
    with pytest.raises((ValueError, TypeError, IndexError, AttributeError)):
        keras.layers.RNN(K_CELL())(inputs)


@pytest.mark.parametrize("go_backwards,unroll,zero_output_for_mask", [
    (False, False, False), (True, False, True), (True, True, False)])
def test_nested_inputs_match_keras_loop(go_backwards, unroll, zero_output_for_mask):
    k, lam = layer_pair(KerasLoopRNN, return_sequences=True, return_state=True,
                        go_backwards=go_backwards, unroll=unroll,
                        zero_output_for_mask=zero_output_for_mask)
    args = dict(mask=MASK, initial_state=[H0, G0])
    out = lam((X1, X2), **args)
    assert [tuple(o.shape) for o in out] == [(B, T, U1), (B, U1), (B, U2, U3)]
    step_out = step_twin(k)((X1, X2), **args)
    # Keras's scan mis-broadcasts the mask on the rank-3 state (leaf 2): skip it there.
    skip = () if unroll else (2,)
    keras_out = k((X1, X2), **args)
    close_leaves(out, keras_out, skip=skip)
    close_leaves(step_out, keras_out, skip=skip)
    close_leaves(out, step_out)
    # Without a mask Keras's loop is right on every state.
    compare(k, lam, (X1, X2), initial_state=[H0, G0])


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_list_and_dict_inputs_zero_initial_states(kind):
    k, lam = layer_pair(KerasLoopRNN, kind=kind, return_state=True)
    out = compare(k, lam, _inputs(kind))
    assert [tuple(o.shape) for o in out] == [(B, U1), (B, U1), (B, U2, U3)]
    zeros = lam.get_initial_state(B)
    assert [tuple(z.shape) for z in zeros] == [(B, U1), (B, U2, U3)]


def test_nested_list_outputs_match_keras_loop():
    """Sequences of list outputs: the case Keras's loop gets right for nested outputs."""
    k, lam = layer_pair(KerasLoopRNN, nested_output="list", return_sequences=True,
                        return_state=True)
    out = compare(k, lam, (X1, X2), initial_state=[H0, G0])
    close_leaves(step_twin(k)((X1, X2), initial_state=[H0, G0]), out)
    assert [tuple(o.shape) for o in out[0]] == [(B, T, U1), (B, T, U2, U3)]


@pytest.mark.parametrize("options", [
    dict(),
    dict(return_sequences=True, go_backwards=True),
    dict(return_sequences=True, zero_output_for_mask=True),
    dict(return_sequences=True, unroll=True),
])
def test_nested_outputs_match_step_loop(options):
    k, lam = layer_pair(KerasStepRNN, nested_output=True, kind="dict", return_state=True,
                        **options)
    out = compare(k, lam, {"a": X1, "b": X2}, mask=MASK, initial_state=[H0, G0])
    lead = (B, T) if options.get("return_sequences") else (B,)
    assert tuple(out[0]["first"].shape) == lead + (U1,)
    assert tuple(out[0]["second"].shape) == lead + (U2, U3)


def test_mismatched_time_or_rank_raises_naming_layer():
    lam = L.RNN(L_CELL(), name="nested_rnn")
    with pytest.raises(ValueError, match="nested_rnn.*same number of timesteps"):
        lam((X1, X2[:, :2]))
    with pytest.raises(ValueError, match="nested_rnn.*initial_state"):
        L.RNN(L_CELL(), name="nested_rnn2")((X1, H0))


def test_config_round_trip_with_nested_build_shapes():
    lam = L.RNN(L_CELL(nested_output=True), return_sequences=True)
    out = lam({"a": X1, "b": X2})
    clone = L.RNN.from_config(lam.get_config())
    clone.build_from_config(lam.get_build_config())
    clone.set_weights(lam.get_weights())
    assert_close(clone({"a": X1, "b": X2}), out)


def test_stateful_nested_states_carry_over():
    lam = L.RNN(L_CELL(), stateful=True, return_state=True)
    lam.build(((B, T, I1), (B, T, I2, I3)))
    assert [tuple(v.shape) for v in lam.states] == [(B, U1), (B, U2, U3)]
    first = lam((X1, X2))
    second = lam((X1, X2))
    fresh = L.RNN(L_CELL(), return_state=True)
    fresh.build(((B, T, I1), (B, T, I2, I3)))
    fresh.set_weights(lam.get_weights()[:4])
    assert_close(fresh((X1, X2), initial_state=list(first[1:])), second)


def test_stacked_cells_with_nested_first_cell():
    k = KerasLoopRNN(keras.layers.StackedRNNCells([K_CELL(), keras.layers.GRUCell(3)]),
                     return_sequences=True)
    lam = L.RNN([L_CELL(), L.GRUCell(3)], return_sequences=True)
    shapes = ((B, T, I1), (B, T, I2, I3))
    k.build(shapes)
    lam.build(shapes)
    rng = np.random.default_rng(5)
    k.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in k.get_weights()])
    copy_weights(k, lam)
    states = [[H0, G0], np.zeros((B, 3), "float32")]
    # Keras's StackedRNNCells cannot make zero states for a (U2, U3) state: pass them.
    compare(k, lam, (X1, X2), mask=MASK, initial_state=states)
    assert tuple(lam((X1, X2)).shape) == (B, T, 3)


# -- functional models: symbolic build, masks, one training step -----------------------------

def _fit_one_batch(model, x, y):
    opt = (keras if isinstance(model, keras.Model) else lamina).optimizers.SGD(0.1)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0)


def test_functional_single_output_fit_matches_keras():
    """Tuple inputs, a Masking mask on the first input, a Dense head; one SGD step."""
    x1 = X1.copy()
    x1[0, 1] = 0.0  # masked by Masking(0.0)
    x1[1, 0] = 0.0
    y = RNG.normal(size=(B, 2)).astype("float32")

    def build(K, rnn):
        a, b = K.Input((T, I1)), K.Input((T, I2, I3))
        h = rnn((K.layers.Masking(0.0)(a), b))
        return K.Model([a, b], K.layers.Dense(2)(h))

    k_rnn = KerasStepRNN(K_CELL(), go_backwards=True)
    k_rnn.build(((None, T, I1), (None, T, I2, I3)))
    k_model = build(keras, k_rnn)
    l_model = build(lamina, L.RNN(L_CELL(), go_backwards=True))
    assert l_model.output_shape == (None, 2)
    rng = np.random.default_rng(11)
    k_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                         for w in k_model.get_weights()])
    copy_weights(k_model, l_model)
    assert_close(l_model([x1, X2]), k_model([x1, X2]))
    _fit_one_batch(k_model, [x1, X2], y)
    _fit_one_batch(l_model, [x1, X2], y)
    assert_close(l_model.get_weights(), k_model.get_weights(), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Layer 'reshape'.*does not support masking")
def test_functional_nested_outputs_states_fit_matches_keras():
    """Dict inputs, symbolic initial states, nested sequence outputs (masked losses)."""
    x1 = X1.copy()
    x1[0, 2] = 0.0
    x1[1, 0] = 0.0
    y1 = RNG.normal(size=(B, T, U1)).astype("float32")
    y2 = RNG.normal(size=(B, T, U2 * U3)).astype("float32")
    y3 = RNG.normal(size=(B, U2, U3)).astype("float32")

    def build(K, rnn):
        a, b = K.Input((T, I1)), K.Input((T, I2, I3))
        h0, g0 = K.Input((U1,)), K.Input((U2, U3))
        out, _, g = rnn({"a": K.layers.Masking(0.0)(a), "b": b}, initial_state=[h0, g0])
        # Keras's losses cannot mask a rank-4 output: the second one is reshaped to rank 3.
        second = K.layers.Reshape((T, U2 * U3))(out["second"])
        return K.Model([a, b, h0, g0], [out["first"], second, g])

    options = dict(return_sequences=True, return_state=True, go_backwards=True)
    k_rnn = KerasStepRNN(K_CELL(nested_output=True), **options)
    k_rnn.build({"a": (None, T, I1), "b": (None, T, I2, I3)})
    k_model = build(keras, k_rnn)
    l_model = build(lamina, L.RNN(L_CELL(nested_output=True), **options))
    assert [tuple(s) for s in l_model.output_shape] == [
        (None, T, U1), (None, T, U2 * U3), (None, U2, U3)]
    rng = np.random.default_rng(13)
    k_model.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                         for w in k_model.get_weights()])
    copy_weights(k_model, l_model)
    x = [x1, X2, H0, G0]
    assert_close(l_model(x), k_model(x))
    _fit_one_batch(k_model, x, [y1, y2, y3])
    _fit_one_batch(l_model, x, [y1, y2, y3])
    assert_close(l_model.get_weights(), k_model.get_weights(), rtol=1e-4, atol=1e-5)
