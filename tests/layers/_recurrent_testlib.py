"""Shared data and helpers for the recurrent-layer tests (tiny shapes, Keras 3 oracle)."""

from __future__ import annotations

import jax
import numpy as np
from oracle import assert_close, copy_weights, keras

import lamina.layers as L

B, T, D, U = 2, 5, 3, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, D)).astype("float32")
# Row 0: masked in the middle and at the end; row 1: masked first step (left padding).
MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], dtype=bool)


def randomize(layer, seed: int = 1) -> None:
    """Gives every weight random values, so zero biases and default inits prove nothing."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                       for w in layer.get_weights()])


def pair(cls_name: str, *args, x=X, **kwargs):
    """Builds ``keras.layers.<name>`` and ``lamina.layers.<name>`` on ``x`` with Keras's weights."""
    k = getattr(keras.layers, cls_name)(*args, **kwargs)
    lam = getattr(L, cls_name)(*args, **kwargs)
    # build() rather than a first call: every eager call of a scan costs a compile.
    k.build(x.shape)
    randomize(k)
    lam.build(x.shape)
    copy_weights(k, lam)
    return k, lam


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def compare(k, lam, *args, **kwargs) -> None:
    """Same outputs (every returned tensor) from both layers."""
    ko, lo = k(*args, **kwargs), lam(*args, **kwargs)
    ko_flat = jax.tree_util.tree_leaves(ko)
    lo_flat = jax.tree_util.tree_leaves(lo)
    assert len(ko_flat) == len(lo_flat)
    for a, b in zip(lo_flat, ko_flat):
        assert tuple(a.shape) == tuple(b.shape)
    assert_close(lo_flat, [np.asarray(v) for v in ko_flat])


def grads_vs_keras(k, lam, x, mask=None) -> None:
    """d sum(outputs) / d (weights, inputs) through both layers' stateless_call."""
    kw = {} if mask is None else {"mask": mask}
    k_nt = [v.value for v in k.non_trainable_variables]

    def k_loss(tv, xx):
        out, _ = k.stateless_call(tv, k_nt, xx, **kw)
        return sum(o.sum() for o in jax.tree_util.tree_leaves(out))

    def l_loss(tv, xx):
        out, _ = lam.stateless_call(tv, [v.value for v in lam.non_trainable_variables], xx,
                                    **kw)
        return sum(o.sum() for o in jax.tree_util.tree_leaves(out))

    kg = jax.grad(k_loss, argnums=(0, 1))([v.value for v in k.trainable_variables], x)
    lg = jax.grad(l_loss, argnums=(0, 1))([v.value for v in lam.trainable_variables], x)
    assert_close(lg[0], kg[0], rtol=1e-4, atol=1e-5)
    assert_close(lg[1], kg[1], rtol=1e-4, atol=1e-5)


def config_without_names(cfg):
    """A config with every auto-generated ``name`` removed (recursively)."""
    if isinstance(cfg, dict):
        return {k: config_without_names(v) for k, v in cfg.items() if k != "name"}
    if isinstance(cfg, (list, tuple)):
        return [config_without_names(v) for v in cfg]
    return cfg


__all__ = ["B", "T", "D", "U", "X", "MASK", "RNG", "pair", "compare", "grads_vs_keras",
           "randomize", "as_list", "config_without_names", "keras", "copy_weights",
           "assert_close", "L"]
