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
        (w.path.split("/", 1)[1], tuple(w.shape)) for w in k.weights]
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
    with pytest.raises(ValueError, match="num_heads"):
        L.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="attention_axes"):
        L.MultiHeadAttention(2, 3, attention_axes="time")
    with pytest.raises(ValueError, match="Dropout is not supported"):
        L.MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True)
