"""Metric-learning losses on embeddings: Circle loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def circle_and_mask(y_true, y_pred, ref_labels=None, ref_embeddings=None,
                    remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4):
    """Circle loss per anchor and the mask of anchors it is defined for.

    Returns ``(loss, valid)``: ``valid`` is True for anchors with at least one
    positive and one negative reference; the others have loss 0 and, through the
    Loss classes, are left out of the averaging.
    """
    y_pred = jnp.asarray(y_pred)
    labels = jnp.reshape(jnp.asarray(y_true).astype("int32"), (-1,))
    if ref_embeddings is None:
        ref_embeddings = y_pred
    else:
        ref_embeddings = jnp.asarray(ref_embeddings, dtype=y_pred.dtype)
    if ref_labels is None:
        ref_labels = labels
    else:
        ref_labels = jnp.reshape(jnp.asarray(ref_labels).astype("int32"), (-1,))
    similarity = y_pred @ ref_embeddings.T
    same = labels[:, None] == ref_labels[None, :]
    positive = same
    if remove_diagonal:
        positive = positive & ~jnp.eye(similarity.shape[0], similarity.shape[1], dtype=bool)
    negative = ~same
    alpha_pos = jnp.maximum(1.0 + margin - similarity, 0.0)
    alpha_neg = jnp.maximum(similarity + margin, 0.0)
    logit_pos = -gamma * alpha_pos * (similarity - (1.0 - margin))
    logit_neg = gamma * alpha_neg * (similarity - margin)
    # Masked log-sum-exp: an empty set gives -inf, so softplus of the sum gives 0.
    lse_pos = jax.nn.logsumexp(jnp.where(positive, logit_pos, -jnp.inf), axis=1)
    lse_neg = jax.nn.logsumexp(jnp.where(negative, logit_neg, -jnp.inf), axis=1)
    valid = jnp.any(positive, axis=1) & jnp.any(negative, axis=1)
    return jax.nn.softplus(lse_pos + lse_neg), valid


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal: bool = True,
           gamma: float = 80, margin: float = 0.4):
    """Circle loss (Sun et al., 2020) between integer labels and L2-normalized embeddings.

    Each embedding is an anchor; its cosine similarities to reference embeddings
    with the same label (positives) are pushed towards ``1 - margin`` and those to
    other labels (negatives) towards ``margin``, each similarity weighted by how
    far it is from its optimum.

    Args:
        y_true: integer labels, shape ``(batch,)`` (or ``(batch, 1)``).
        y_pred: unit-norm embeddings, shape ``(batch, dim)``.
        ref_labels: labels of the reference embeddings; ``y_true`` by default.
        ref_embeddings: unit-norm reference embeddings; ``y_pred`` by default.
        remove_diagonal: whether an anchor is not its own positive.
        gamma: scale of the similarity logits.
        margin: relaxation margin.

    Returns:
        One loss per anchor, shape ``(batch,)``; 0 for an anchor without any
        positive or without any negative (such anchors are masked out of the mean
        when the loss is used through ``Circle`` or ``LossFunctionWrapper``).
    """
    return circle_and_mask(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma,
                           margin)[0]


circle._keras_builtin = True
circle._with_mask = circle_and_mask
