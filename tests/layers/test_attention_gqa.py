"""GroupedQueryAttention compared with Keras 3: shared key/value heads, masks, causal and
sliding-window attention, scores, gating, gradients, configs and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from oracle import assert_close, copy_weights, keras

import lamina
from lamina import layers as L

RNG = np.random.default_rng(4)
B, T, S, D = 2, 4, 3, 6
Q = RNG.normal(size=(B, T, D)).astype("float32")
V = RNG.normal(size=(B, S, D)).astype("float32")
K = RNG.normal(size=(B, S, 5)).astype("float32")
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
V_MASK = np.array([[1, 1, 0], [1, 0, 1]], bool)


def probe(layer, args, grads=True, **kwargs):
    """(outputs, grads w.r.t. (trainable values, inputs)) of one jitted stateless_call."""
    nt = [v.value for v in layer.non_trainable_variables]

    def loss(tv, args):
        out, _ = layer.stateless_call(tv, nt, *args, **kwargs)
        total = sum((o * jnp.cos(jnp.arange(o.size, dtype=o.dtype)).reshape(o.shape)).sum()
                    for o in jax.tree_util.tree_leaves(out))
        return total, out

    def f(tv, args):
        if not grads:
            return loss(tv, args)[1], None
        (_, out), g = jax.value_and_grad(loss, (0, 1), has_aux=True)(tv, args)
        return out, g

    return jax.jit(f)([v.value for v in layer.trainable_variables], tuple(args))


def _pair(args, **kwargs):
    kwargs.setdefault("name", "gqa")
    k = keras.layers.GroupQueryAttention(**kwargs)
    lam = L.GroupQueryAttention(**kwargs)
    shapes = [a.shape for a in args]
    k.build(*shapes)
    lam.build(*shapes)
    k.set_weights([RNG.normal(scale=0.5, size=w.shape).astype("float32")
                   for w in k.get_weights()])
    copy_weights(k, lam)
    return k, lam


BASE = {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}
# (constructor kwargs, call args, call kwargs, compare gradients)
CASES = [
    (BASE, (Q, V), {}, True),
    ({**BASE, "use_gate": True, "use_bias": False}, (Q, V, K),
     {"return_attention_scores": True, "query_mask": Q_MASK, "value_mask": V_MASK}, False),
    ({**BASE, "num_key_value_heads": 1, "sliding_window": 2}, (Q, Q),
     {"use_causal_mask": True}, False),
    ({**BASE, "dropout": 0.2}, (Q, Q),
     {"use_causal_mask": True, "return_attention_scores": True, "training": False}, False),
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
    assert lam.get_config() == k.get_config()
    clone = L.GroupedQueryAttention.from_config(lam.get_config())
    assert clone.get_config() == lam.get_config()


def test_symbolic_model_and_names():
    assert L.GroupQueryAttention is L.GroupedQueryAttention
    k, lam = _pair((Q, V), **BASE)
    qi, vi = lamina.Input((None, D)), lamina.Input((S, D))
    gqa = L.GroupedQueryAttention(**BASE)
    out, scores = gqa(qi, vi, return_attention_scores=True)
    assert out.shape == (None, None, D) and scores.shape == (None, 4, None, S)
    model = lamina.Model([qi, vi], out)
    copy_weights(k, gqa)
    assert_close(jax.jit(model)([Q, V]), probe(k, (Q, V), False)[0])


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="divisible"):
        L.GroupedQueryAttention(3, 4, 3)
    with pytest.raises(ValueError, match="gqa_rank"):
        L.GroupedQueryAttention(**BASE, name="gqa_rank").build((B, 2, T, D), V.shape)
    with pytest.raises(ValueError, match="gqa_dim"):
        L.GroupedQueryAttention(**BASE, name="gqa_dim").build(Q.shape, (B, S, D + 1))
    with pytest.raises(ValueError, match="sliding_window"):
        L.GroupedQueryAttention(**BASE, sliding_window=0)
