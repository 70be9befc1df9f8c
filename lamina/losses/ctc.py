"""Connectionist Temporal Classification (CTC) loss."""

from __future__ import annotations

import jax.numpy as jnp
import optax


def ctc(y_true, y_pred):
    """CTC loss between padded integer label sequences and per-frame logits.

    Args:
        y_true: integer labels, shape ``(batch, max_label_length)``. ``0`` is the
            blank / padding index and must not be used as a class; label entries
            equal to 0 are treated as padding.
        y_pred: unnormalized logits, shape ``(batch, frames, num_classes)``; every
            frame counts.

    Returns:
        The negative log-likelihood of each label sequence, shape ``(batch,)``.
    """
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true).astype("int32")
    if labels.ndim != 2 or y_pred.ndim != 3:
        raise ValueError(
            "ctc expects y_true of shape (batch, max_label_length) and y_pred of shape "
            f"(batch, frames, num_classes); received y_true.shape={labels.shape}, "
            f"y_pred.shape={y_pred.shape}")
    frame_paddings = jnp.zeros(y_pred.shape[:2], dtype=y_pred.dtype)
    label_paddings = (labels == 0).astype(y_pred.dtype)
    return optax.ctc_loss(y_pred, frame_paddings, labels, label_paddings, blank_id=0)


ctc._keras_builtin = True
