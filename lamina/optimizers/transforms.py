"""Gradient transformations that reproduce Keras 3's gradient pre-processing.

Each function returns an ``optax.GradientTransformation`` acting on a list of
gradients. Keras and optax differ in small ways here (Keras divides by the loss
scale rather than multiplying by its inverse, clips each tensor by its own L2
norm, and scales by ``clip_norm * min(1/norm, 1/clip_norm)`` for the global
norm), so these are written to follow Keras's arithmetic; value clipping is
optax's own ``optax.clip``, which computes the same numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def _map(fn):
    def update(updates, params=None):
        del params
        return jax.tree.map(fn, updates)

    return optax.stateless(update)


def divide_by(factor: float) -> optax.GradientTransformation:
    """Divides every gradient by ``factor`` (undoing a loss scale)."""
    return _map(lambda g: g / factor)


def clip_by_norm(clipnorm: float) -> optax.GradientTransformation:
    """Rescales each gradient tensor whose L2 norm exceeds ``clipnorm`` to that norm."""

    def clip(g):
        sum_sq = jnp.sum(jnp.square(g), keepdims=True)
        positive = sum_sq > 0
        # A zero gradient keeps norm 0 without taking sqrt(0), whose derivative is inf.
        norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, sum_sq, 1.0)), sum_sq)
        return (g * clipnorm) / jnp.maximum(norm, clipnorm)

    return _map(clip)


def clip_by_global_norm(global_clipnorm: float) -> optax.GradientTransformation:
    """Rescales all gradients together so that their joint L2 norm is at most ``global_clipnorm``.

    A non-finite norm turns every gradient into NaN, as in Keras.
    """

    def update(updates, params=None):
        del params
        leaves = jax.tree.leaves(updates)
        norm = jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in leaves])))
        scale = global_clipnorm * jnp.minimum(1.0 / norm, 1.0 / global_clipnorm)
        scale = scale + (norm - norm)
        return jax.tree.map(lambda g: g * scale, updates)

    return optax.stateless(update)


def clip_by_value(clipvalue: float) -> optax.GradientTransformation:
    """Clips every gradient element to ``[-clipvalue, clipvalue]``."""
    return optax.clip(clipvalue)


def keras_gradient_clipping(clipnorm=None, global_clipnorm=None,
                            clipvalue=None) -> optax.GradientTransformation:
    """The clipping Keras applies for the given arguments (at most one takes effect).

    As in Keras, a clipping argument that is None or not positive is ignored,
    and ``clipnorm`` wins over ``global_clipnorm``, which wins over ``clipvalue``.
    """
    if clipnorm and clipnorm > 0:
        return clip_by_norm(clipnorm)
    if global_clipnorm and global_clipnorm > 0:
        return clip_by_global_norm(global_clipnorm)
    if clipvalue and clipvalue > 0:
        return clip_by_value(clipvalue)
    return optax.identity()
