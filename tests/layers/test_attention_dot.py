"""Attention and AdditiveAttention compared with Keras 3: scores, masks, causal masks,
returned scores, dropout, gradients, masks through a functional model, configs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(3)
B, TQ, TV, D = 2, 4, 3, 5
Q = RNG.normal(size=(B, TQ, D)).astype("float32")
V = RNG.normal(size=(B, TV, D)).astype("float32")
K = RNG.normal(size=(B, TV, D)).astype("float32")
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
V_MASK = np.array([[1, 1, 0], [0, 0, 0]], bool)  # batch 1: every value masked


def probe(layer, inputs, grads=True, **kwargs):
    """(outputs, grads w.r.t. (trainable values, inputs)) of one jitted stateless_call."""
    nt = [v.value for v in layer.non_trainable_variables]  # Keras: dropout seed state

    def loss(tv, inputs):
        out, _ = layer.stateless_call(tv, nt, inputs, **kwargs)
        total = sum((o * jnp.cos(jnp.arange(o.size, dtype=o.dtype)).reshape(o.shape)).sum()
                    for o in jax.tree_util.tree_leaves(out))
        return total, out

    def f(tv, inputs):
        if not grads:
            return loss(tv, inputs)[1], None
        (_, out), g = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, inputs)
        return out, g

    return jax.jit(f)([v.value for v in layer.trainable_variables], list(inputs))


def _pair(cls_name, inputs, **kwargs):
    kwargs.setdefault("name", "att")
    k = getattr(keras.layers, cls_name)(**kwargs)
    lam = getattr(L, cls_name)(**kwargs)
    shapes = [x.shape for x in inputs]
    k.build(shapes)
    lam.build(shapes)
    k.set_weights([RNG.normal(size=w.shape).astype("float32") + 1.0 for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam


# (class, constructor kwargs, inputs, call kwargs, compare gradients)
CASES = [
    ("Attention", {}, (Q, V), {}, True),
    ("Attention", {"use_scale": True}, (Q, V, K),
     {"mask": [Q_MASK, V_MASK], "return_attention_scores": True}, False),
    ("Attention", {"use_scale": True, "score_mode": "concat"}, (Q, V),
     {"use_causal_mask": True, "mask": [None, V_MASK]}, True),
    ("Attention", {"score_mode": "concat", "dropout": 0.3}, (Q, V, K),
     {"return_attention_scores": True, "use_causal_mask": True}, False),
    ("AdditiveAttention", {}, (Q, V, K), {"mask": [Q_MASK, V_MASK]}, True),
    ("AdditiveAttention", {"use_scale": False}, (Q, V),
     {"use_causal_mask": True, "return_attention_scores": True}, False),
]


@pytest.mark.parametrize("cls_name,init,inputs,call_kwargs,grads", CASES)
def test_matches_keras(cls_name, init, inputs, call_kwargs, grads):
    k, lam = _pair(cls_name, inputs, **init)
    assert [(w.name, w.shape) for w in lam.weights] == [(w.name, tuple(w.shape))
                                                         for w in k.weights]
    lam_out, lam_grads = probe(lam, inputs, grads, **call_kwargs)
    k_out, k_grads = probe(k, inputs, grads, **call_kwargs)
    assert_close(lam_out, k_out)
    if grads:
        assert_close(lam_grads, k_grads, rtol=1e-4, atol=1e-4)
    assert lam.get_config() == k.get_config()
    clone = type(lam).from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()


def test_dropout_only_in_training():
    lam = L.Attention(dropout=0.5, seed=1)
    lam.build([Q.shape, V.shape])

    @jax.jit
    def run(seed):
        def call(training):
            return lam.stateless_call([], [], [Q, V], training=training, seed=seed,
                                      return_attention_scores=True)[0]
        return call(True), call(False)

    (out, weights), (inf_out, inf_weights) = run(jax.random.PRNGKey(0))
    assert_close(inf_weights.sum(-1), np.ones((B, TQ)))
    # In training, the weights are dropped out (zeros, the rest scaled by 2).
    kept = np.asarray(weights) != 0
    assert 0 < kept.mean() < 1
    assert_close(np.asarray(weights)[kept], 2 * np.asarray(inf_weights)[kept])
    assert not np.allclose(out, inf_out)


def test_masks_flow_through_a_functional_model_and_eager_calls():
    """Query/value masks from Embedding(mask_zero=True) reach ``call`` via ``mask``; the
    output keeps the query's mask."""
    q_ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    v_ids = np.array([[1, 2, 0], [3, 0, 4]])

    def build(lib):
        qi, vi = lib.Input((4,), dtype="int32"), lib.Input((3,), dtype="int32")
        emb = lib.layers.Embedding(6, D, mask_zero=True)
        att = lib.layers.Attention(use_scale=True)
        return lib.Model([qi, vi], att([emb(qi), emb(vi)])), emb, att

    kmodel, kemb, katt = build(keras)
    lmodel, lemb, latt = build(lamina)
    kmodel.set_weights([RNG.normal(size=w.shape).astype("float32")
                        for w in kmodel.get_weights()])
    copy_weights(kmodel, lmodel)
    expected = jax.jit(kmodel)([q_ids, v_ids])
    out, mask = jax.jit(lmodel._run_graph)([q_ids, v_ids])
    assert_close(out, expected)
    np.testing.assert_array_equal(np.asarray(mask), q_ids != 0)
    # Eager call of the layer itself with explicit masks.
    q, v = np.asarray(lemb(q_ids)), np.asarray(lemb(v_ids))
    assert_close(latt([q, v], mask=[q_ids != 0, v_ids != 0]), expected)


def test_symbolic_shapes_and_errors():
    qi, vi = lamina.Input((None, D)), lamina.Input((TV, 7))
    out, scores = L.Attention()([qi, vi, lamina.Input((TV, D))], return_attention_scores=True)
    assert out.shape == (None, None, 7)
    assert scores.shape == (None, None, TV)
    with pytest.raises(ValueError, match="list of inputs"):
        L.Attention(name="att_one")(Q)
    with pytest.raises(ValueError, match="length 2 or 3"):
        L.Attention()([Q])
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="sum")
    with pytest.raises(ValueError, match="mask must be a list"):
        L.AdditiveAttention()([Q, V], mask=Q_MASK)
