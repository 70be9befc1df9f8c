"""MultiHeadAttention compared with Keras 3: projections, masks, causal and sliding-window
attention, attention axes, scores, gating, dropout, gradients, configs and errors.

Numbers go through ``probe``: one jitted program per library and case giving the
outputs and the gradients w.r.t. the weights and the inputs.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(2)
B, T, S, D = 2, 4, 3, 5
Q = RNG.normal(size=(B, T, D)).astype("float32")
V = RNG.normal(size=(B, S, 6)).astype("float32")
K = RNG.normal(size=(B, S, 7)).astype("float32")
Q4 = RNG.normal(size=(B, 3, 2, D)).astype("float32")
# Row 1 of batch 0 may attend to nothing: a fully masked query row.
ATTN_MASK = np.ones((B, T, S), bool)
ATTN_MASK[0, 1] = False
ATTN_MASK[1, :, 2] = False
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
V_MASK = np.array([[1, 1, 0], [1, 0, 1]], bool)


def _weights_for(shape):
    return jnp.cos(jnp.arange(int(np.prod(shape)), dtype="float32")).reshape(shape)


def probe(layer, args, grads=True, **kwargs):
    """(outputs, grads w.r.t. (trainable values, inputs)) of one jitted stateless_call."""
    nt = [v.value for v in layer.non_trainable_variables]  # Keras: dropout seed state

    def loss(tv, args):
        out, _ = layer.stateless_call(tv, nt, *args, **kwargs)
        total = sum((o * _weights_for(o.shape)).sum() for o in jax.tree_util.tree_leaves(out))
        return total, out

    def f(tv, args):
        if not grads:
            return loss(tv, args)[1], None
        (_, out), g = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, args)
        return out, g

    return jax.jit(f)([v.value for v in layer.trainable_variables], tuple(args))


def _pair(args, **kwargs):
    """Keras and lamina MultiHeadAttention built on ``args`` with the same random weights."""
    kwargs.setdefault("name", "mha")
    k = keras.layers.MultiHeadAttention(**kwargs)
    lam = L.MultiHeadAttention(**kwargs)
    shapes = [a.shape for a in args]
    k.build(*shapes)
    lam.build(*shapes)
    k.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam


# (constructor kwargs, call args, call kwargs, compare gradients). Gradient programs
# are costly to compile, so two cases (fused and einsum paths) compare gradients.
CASES = [
    ({"num_heads": 2, "key_dim": 3}, (Q, V), {}, True),
    ({"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": (2, 3),
      "use_bias": False}, (Q, V, K),
     {"return_attention_scores": True, "value_mask": V_MASK, "key_mask": V_MASK}, False),
    ({"num_heads": 3, "key_dim": 2, "use_gate": True}, (Q, Q), {"use_causal_mask": True},
     False),
    ({"num_heads": 2, "key_dim": 2, "sliding_window": 2}, (Q, Q),
     {"use_causal_mask": True, "return_attention_scores": True}, False),
    ({"num_heads": 2, "key_dim": 3}, (Q, V), {"attention_mask": ATTN_MASK}, False),
    ({"num_heads": 2, "key_dim": 3, "dropout": 0.5}, (Q, V),
     {"attention_mask": ATTN_MASK, "training": False}, False),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2), "use_gate": True}, (Q4, Q4),
     {"return_attention_scores": True}, True),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": 2}, (Q4, Q4), {}, False),
]


@pytest.mark.parametrize("init,args,call_kwargs,grads", CASES)
def test_matches_keras(init, args, call_kwargs, grads):
    k, lam = _pair(args, **init)
    assert [(w.path, w.shape) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    lam_out, lam_grads = probe(lam, args, grads, **call_kwargs)
    k_out, k_grads = probe(k, args, grads, **call_kwargs)
    assert_close(lam_out, k_out)
    if grads:
        assert_close(lam_grads, k_grads, rtol=1e-4, atol=1e-4)
    # Configs once built (attention_axes is resolved by build, as in Keras).
    assert lam.get_config() == k.get_config()


def test_padding_masks_match_keras_masks_from_embeddings():
    """Keras reads query/value masks from Embedding(mask_zero=True) outputs; lamina gets
    the same numbers from the explicit ``query_mask``/``value_mask`` arguments."""
    q_ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    v_ids = np.array([[1, 2, 0], [3, 0, 4]])
    kq, kv = keras.Input((4,), dtype="int32"), keras.Input((3,), dtype="int32")
    emb = keras.layers.Embedding(6, D, mask_zero=True)
    kmha = keras.layers.MultiHeadAttention(2, 3, name="mha")
    kmodel = keras.Model([kq, kv], kmha(emb(kq), emb(kv)))
    kmodel.set_weights([RNG.normal(size=w.shape).astype("float32")
                        for w in kmodel.get_weights()])
    expected = jax.jit(kmodel)([q_ids, v_ids])

    q, v = np.asarray(emb(q_ids)), np.asarray(emb(v_ids))
    lam = L.MultiHeadAttention(2, 3, name="mha")
    lam.build(q.shape, v.shape)
    copy_weights(kmha, lam)
    out, _ = probe(lam, (q, v), False, query_mask=q_ids != 0, value_mask=v_ids != 0)
    assert_close(out, expected)


def test_masks_flow_through_a_functional_model():
    q_ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    v_ids = np.array([[1, 2, 0], [3, 0, 4]])
    lq, lv = lamina.Input((4,), dtype="int32"), lamina.Input((3,), dtype="int32")
    emb = L.Embedding(6, D, mask_zero=True)
    mha = L.MultiHeadAttention(2, 3)
    model = lamina.Model([lq, lv], mha(emb(lq), emb(lv)))
    q, v = np.asarray(emb(q_ids)), np.asarray(emb(v_ids))
    expected, _ = probe(mha, (q, v), False, query_mask=q_ids != 0, value_mask=v_ids != 0)
    assert_close(jax.jit(model)([q_ids, v_ids]), expected)


def test_dropout_only_in_training():
    lam = L.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    lam.build(Q.shape, V.shape)
    tv = [v.value for v in lam.trainable_variables]

    @jax.jit
    def run(seed):
        def call(training):
            return lam.stateless_call(tv, [], Q, V, training=training, seed=seed,
                                      return_attention_scores=True)[0]
        return call(True), call(False)

    (out_a, scores), (inf_out, inf_scores) = run(jax.random.PRNGKey(0))
    (out_b, _), _ = run(jax.random.PRNGKey(1))
    # The returned scores are the probabilities before dropout; the output differs.
    assert_close(scores, inf_scores)
    assert_close(scores.sum(-1), np.ones((B, 2, T)))
    assert not np.allclose(out_a, inf_out)
    assert not np.allclose(out_a, out_b)


def test_symbolic_model_eager_call_and_config_round_trip():
    k, lam = _pair((Q, V), num_heads=2, key_dim=3, output_shape=7)
    expected = probe(k, (Q, V), False)[0]
    assert_close(lam(Q, V), expected)  # eager top-level call
    qi, vi = lamina.Input((None, D)), lamina.Input((S, 6))
    mha = L.MultiHeadAttention(2, 3, output_shape=7)
    out, scores = mha(qi, vi, return_attention_scores=True)
    assert out.shape == (None, None, 7)
    assert scores.shape == (None, 2, None, S)
    model = lamina.Model([qi, vi], out)
    copy_weights(k, mha)
    assert_close(jax.jit(model)([Q, V]), expected)
    assert mha.get_build_config() == {"shapes_dict": {"query_shape": [None, None, D],
                                                      "value_shape": [None, S, 6]}}

    cfg = lam.get_config()
    clone = L.MultiHeadAttention.from_config(cfg)
    clone.build(Q.shape, V.shape)
    assert clone.get_config() == cfg
    assert [w.shape for w in clone.weights] == [w.shape for w in lam.weights]
    assert lam.num_heads == 2 and lam.key_dim == 3 and lam.value_dim == 3
    assert lam.query_dense.kernel.shape == (D, 2, 3)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="mha_rank"):
        L.MultiHeadAttention(2, 3, name="mha_rank")(Q[:, 0], V[:, 0])
    with pytest.raises(ValueError, match="mha_kv"):
        L.MultiHeadAttention(2, 3, name="mha_kv").build(Q.shape, V.shape, (B, S + 1, 7))
    with pytest.raises(ValueError, match="must be equal"):
        L.MultiHeadAttention(2, 3).compute_output_shape(Q.shape, V.shape, (B, S + 1, 7))
    with pytest.raises(ValueError, match="num_heads"):
        L.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="attention_axes"):
        L.MultiHeadAttention(2, 3, attention_axes="time")
    with pytest.raises(ValueError, match="Dropout is not supported"):
        L.MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True)


# -- value_dim / output_shape / attention_axes / key combinations ------------------------
# Regression: with value_dim != key_dim the fused attention kernel refused the projected
# value ("value shape should be [..., 2, 4]"), so the layer could not even be built on
# symbolic inputs. Keras's own fused path has the same limit at call time (it fails
# reshaping), so its outputs are taken from the score-returning path, which is the same
# computation when no query row is fully masked.

SHAPES = {3: ((6, 8), (7, 10), (7, 9)), 4: ((3, 2, 8), (4, 2, 10), (4, 2, 9))}
DATA = {rank: [RNG.normal(size=(B, *s)).astype("float32") for s in shapes]
        for rank, shapes in SHAPES.items()}

# (constructor kwargs beyond num_heads=2, key_dim=4; input rank; key given)
COMBOS = [
    ({}, 3, False),
    ({"value_dim": 4, "output_shape": 5}, 3, True),
    ({"value_dim": 3, "output_shape": 5}, 3, False),
    ({"value_dim": 3, "output_shape": (2, 5)}, 3, True),
    ({"value_dim": 6, "use_bias": False}, 3, False),
    ({"value_dim": 3, "use_bias": False}, 3, True),
    ({"value_dim": 6, "output_shape": [2, 5]}, 3, True),
    ({"value_dim": 3, "output_shape": 5}, 4, False),
    ({"value_dim": 3, "output_shape": (2, 5), "attention_axes": (1,)}, 4, True),
    ({"value_dim": 3, "attention_axes": (1, 2), "use_bias": False}, 4, False),
    ({"output_shape": 5, "attention_axes": 1}, 4, False),
    ({"value_dim": 4, "output_shape": (2, 5), "attention_axes": [1, 2]}, 4, True),
    ({"value_dim": 6, "attention_axes": (-3,)}, 4, True),
]


def _combo_id(combo):
    init, rank, with_key = combo
    return "-".join([f"{k}={v}" for k, v in init.items()] + [f"rank{rank}", f"key={with_key}"])


def _symbolic_pair(init, rank, with_key):
    """Keras and lamina layers called on Inputs, and their symbolic outputs."""
    init = {"num_heads": 2, "key_dim": 4, "name": "mha", **init}
    k, lam = keras.layers.MultiHeadAttention(**init), L.MultiHeadAttention(**init)
    shapes = SHAPES[rank] if with_key else SHAPES[rank][:2]
    k_out = k(*[keras.Input(s) for s in shapes])
    lam_out = lam(*[lamina.Input(s) for s in shapes])
    return k, lam, k_out, lam_out


def _random_weights(k, lam):
    k.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in k.get_weights()])
    copy_weights(k, lam)


@pytest.mark.parametrize("combo", COMBOS, ids=[_combo_id(c) for c in COMBOS])
def test_dims_axes_and_key_combinations_match_keras(combo):
    init, rank, with_key = combo
    unbuilt = L.MultiHeadAttention(2, 4, name="mha", **init).get_config()
    assert unbuilt == keras.layers.MultiHeadAttention(2, 4, name="mha", **init).get_config()

    k, lam, k_sym, lam_sym = _symbolic_pair(init, rank, with_key)
    assert lam_sym.shape == k_sym.shape
    shapes = [(None, *s) for s in SHAPES[rank][:3 if with_key else 2]]
    assert lam.compute_output_shape(*shapes) == k.compute_output_shape(*shapes)
    assert [(w.path, w.shape) for w in lam.weights] == [
        (w.path, tuple(w.shape)) for w in k.weights]
    assert [w.trainable for w in lam.weights] == [w.trainable for w in k.weights]
    assert lam.count_params() == k.count_params()

    _random_weights(k, lam)
    args = DATA[rank] if with_key else DATA[rank][:2]
    k_out, k_scores = k(*args, return_attention_scores=True)
    if rank == 4 or lam.value_dim == lam.key_dim:  # Keras's plain call works here
        assert_close(k(*args), k_out)
    assert_close(lam(*args), k_out)  # the fused path for rank 3
    lam_out, lam_scores = lam(*args, return_attention_scores=True)
    assert lam_scores.shape == k_scores.shape
    assert_close(lam_out, k_out)
    assert_close(lam_scores, k_scores)

    # Configs once built (attention_axes resolved), and round trips both ways.
    config = k.get_config()
    assert lam.get_config() == config
    assert L.MultiHeadAttention.from_config(config).get_config() == config
    assert keras.layers.MultiHeadAttention.from_config(lam.get_config()).get_config() == config


def test_value_dim_differs_from_key_dim_issue_example():
    """The issue's layer: Inputs (6, 8) and (7, 10); Keras weights, count and outputs."""
    init = {"value_dim": 3, "output_shape": 5}
    k, lam, k_sym, lam_sym = _symbolic_pair(init, 3, False)
    assert lam_sym.shape == k_sym.shape == (None, 6, 5)
    assert [(w.path, w.shape) for w in lam.weights] == [
        ("mha/query/kernel", (8, 2, 4)), ("mha/query/bias", (2, 4)),
        ("mha/key/kernel", (10, 2, 4)), ("mha/key/bias", (2, 4)),
        ("mha/value/kernel", (10, 2, 3)), ("mha/value/bias", (2, 3)),
        ("mha/attention_output/kernel", (2, 3, 5)), ("mha/attention_output/bias", (5,))]
    assert lam.count_params() == k.count_params() == 261

    _random_weights(k, lam)
    q, v = DATA[3][:2]
    assert_close(lam(q, v), k(q, v, return_attention_scores=True)[0])
    # In a functional model too.
    qi, vi = lamina.Input((6, 8)), lamina.Input((7, 10))
    model = lamina.Model([qi, vi], lam(qi, vi))
    assert_close(model([q, v]), k(q, v, return_attention_scores=True)[0])


@pytest.mark.parametrize("value_dim", [3, 6])
def test_fused_path_with_other_value_dim_masks_and_gradients(value_dim):
    """The fused path (no scores asked) with value_dim below/above key_dim, under a
    causal or padding mask, against Keras's explicit path: outputs and gradients."""
    init = {"num_heads": 2, "key_dim": 4, "value_dim": value_dim, "name": "mha"}
    k, lam = keras.layers.MultiHeadAttention(**init), L.MultiHeadAttention(**init)
    q, v = DATA[3][:2]
    k.build(q.shape, v.shape)
    lam.build(q.shape, v.shape)
    _random_weights(k, lam)
    v_mask = np.ones((B, 7), bool)
    v_mask[0, 2:] = False
    v_mask[1, ::2] = False
    masks = {"use_causal_mask": True} if value_dim == 3 else {"value_mask": v_mask}

    def grads(layer, **extra):
        tv = [w.value for w in layer.trainable_variables]

        def loss(tv, q, v):
            out, _ = layer.stateless_call(tv, [], q, v, **masks, **extra)
            out = out[0] if isinstance(out, tuple) else out
            return (out * _weights_for(out.shape)).sum(), out

        return jax.jit(jax.value_and_grad(loss, (0, 1, 2), has_aux=True))(tv, q, v)

    (_, lam_out), lam_g = grads(lam)
    (_, k_out), k_g = grads(k, return_attention_scores=True)
    assert_close(lam_out, k_out)
    assert_close(lam_g, k_g, rtol=1e-4, atol=1e-4)


def test_weight_paths_nest_under_the_layer_name_as_optimizer_slots_show():
    """Keras builds the projections inside the layer's name scope: "mha/query/kernel",
    which names an optimizer's slots ("mha_query_kernel_momentum")."""
    paths = []
    for lib in (keras, lamina):
        layer = lib.layers.MultiHeadAttention(2, 4, value_dim=3, use_gate=True, name="mha")
        layer.build((None, 6, 8), (None, 7, 10))
        opt = lib.optimizers.SGD(momentum=0.9, name="sgd")
        opt.build(layer.trainable_variables)
        paths.append(([w.path for w in layer.weights], [v.path for v in opt.variables]))
    assert paths[0] == paths[1]
    assert paths[1][0][4:6] == ["mha/gate/kernel", "mha/gate/bias"]
