"""Cross-entropy losses (binary, categorical, sparse, focal) as plain functions.

Probabilities are clipped to ``[epsilon(), 1 - epsilon()]`` before taking logs,
so confident wrong predictions give a large finite loss rather than ``inf``.
With ``from_logits=True`` the numerically stable log-sigmoid / log-softmax forms
are used instead and no clipping happens.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from lamina.losses._utils import as_pred_and_true, check_same_shape, epsilon


def _smooth_binary(y_true, label_smoothing):
    # Pulls hard 0/1 labels towards 0.5 by `label_smoothing`.
    if label_smoothing:
        return y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def _smooth_categorical(y_true, label_smoothing, num_classes):
    # Moves `label_smoothing` of the mass of each one-hot label evenly onto all classes.
    if label_smoothing:
        return y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return y_true


def _warn_single_class(name, y_pred):
    # One class makes categorical cross-entropy constant; Keras warns with this category.
    if jnp.ndim(y_pred) >= 1 and jnp.shape(y_pred)[-1] == 1:
        warnings.warn(
            f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1. Received: y_pred.shape={jnp.shape(y_pred)}. Consider using "
            "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


def _elementwise_binary_crossentropy(y_true, y_pred, from_logits):
    if from_logits:
        return -(y_true * jax.nn.log_sigmoid(y_pred)
                 + (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred))
    eps = epsilon()
    y_pred = jnp.clip(y_pred, eps, 1.0 - eps)
    return -(y_true * jnp.log(y_pred) + (1.0 - y_true) * jnp.log(1.0 - y_pred))


def _log_probabilities(y_pred, from_logits, axis):
    # Log class probabilities along `axis`; probabilities are renormalized to sum to 1 first.
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    eps = epsilon()
    y_pred = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(y_pred, eps, 1.0 - eps))


def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1):
    """Binary cross-entropy, averaged over ``axis``.

    Args:
        y_true: targets in ``[0, 1]``, same shape as ``y_pred``.
        y_pred: predicted probabilities, or logits when ``from_logits``.
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; targets become
            ``y_true * (1 - label_smoothing) + 0.5 * label_smoothing``.
        axis: the axis to average over.

    Returns:
        One loss per sample (``y_pred``'s shape without ``axis``).
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    check_same_shape(y_true, y_pred)
    return jnp.mean(_elementwise_binary_crossentropy(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1):
    """Binary focal cross-entropy: cross-entropy scaled down for well-classified examples.

    Args:
        y_true: targets in ``[0, 1]``, same shape as ``y_pred``.
        y_pred: predicted probabilities, or logits when ``from_logits``.
        apply_class_balancing: whether to weight positives by ``alpha`` and
            negatives by ``1 - alpha``.
        alpha: the class-balancing weight of positives.
        gamma: focusing exponent; the cross-entropy of each element is scaled by
            ``(1 - p_t) ** gamma`` with ``p_t`` the probability given to the target.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: as in :func:`binary_crossentropy` (applied before ``p_t``).
        axis: the axis to average over.

    Returns:
        One loss per sample.
    """
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    check_same_shape(y_true, y_pred)
    bce = _elementwise_binary_crossentropy(y_true, y_pred, from_logits)
    prob = jax.nn.sigmoid(y_pred) if from_logits else y_pred
    p_t = y_true * prob + (1.0 - y_true) * (1.0 - prob)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1):
    """Categorical cross-entropy between one-hot targets and class probabilities.

    Args:
        y_true: one-hot (or soft) targets, same shape as ``y_pred``.
        y_pred: class probabilities (renormalized to sum to 1 along ``axis``), or
            logits when ``from_logits``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: in ``[0, 1]``; targets become
            ``y_true * (1 - label_smoothing) + label_smoothing / num_classes``.
        axis: the class axis.

    Returns:
        One loss per sample (``y_pred``'s shape without ``axis``).
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be an int, received axis={axis!r}")
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    _warn_single_class("categorical_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing,
                                     jnp.asarray(jnp.shape(y_pred)[-1], y_pred.dtype))
    check_same_shape(y_true, y_pred)
    if jnp.ndim(y_pred) < 1:
        raise ValueError("categorical_crossentropy expects predictions of rank >= 1, "
                         f"received shape {jnp.shape(y_pred)}")
    return -jnp.sum(y_true * _log_probabilities(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy_and_mask(y_true, y_pred, from_logits: bool = False,
                                             ignore_class: int | None = None, axis: int = -1):
    """Sparse categorical cross-entropy and the mask of labels that count.

    Returns ``(loss, valid)``: ``loss`` has one value per label (0 where the label
    equals ``ignore_class``); ``valid`` is a boolean array of the same shape, or
    ``None`` when ``ignore_class`` is None.
    """
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        labels = labels.astype("int32")
    axis = axis % jnp.ndim(y_pred) if jnp.ndim(y_pred) else axis
    if axis != jnp.ndim(y_pred) - 1:
        y_pred = jnp.moveaxis(y_pred, axis, -1)
    if jnp.ndim(labels) == jnp.ndim(y_pred) and jnp.shape(labels)[-1] == 1:
        labels = jnp.squeeze(labels, -1)
    if jnp.shape(labels) != jnp.shape(y_pred)[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last "
            f"dimension: target.shape={jnp.shape(labels)}, output.shape={jnp.shape(y_pred)}")
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = jnp.where(valid, labels, 0)
    log_prob = _log_probabilities(y_pred, from_logits, -1)
    num_classes = jnp.shape(y_pred)[-1]
    # Labels outside [0, num_classes) pick no class and so contribute zero, as a one-hot would.
    in_range = (labels >= 0) & (labels < num_classes)
    picked = jnp.take_along_axis(log_prob, jnp.clip(labels, 0, num_classes - 1)[..., None],
                                 axis=-1)[..., 0]
    loss = -jnp.where(in_range, picked, 0.0)
    if valid is not None:
        loss = jnp.where(valid, loss, 0.0)
    return loss, valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1):
    """Categorical cross-entropy with integer class labels.

    Args:
        y_true: integer class indices, shape ``y_pred.shape[:-1]`` (a trailing
            dimension of 1 is accepted).
        y_pred: class probabilities, or logits when ``from_logits``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value whose positions give zero loss (and are left
            out of the averaging when used through ``SparseCategoricalCrossentropy``).
        axis: the class axis of ``y_pred``.

    Returns:
        One loss per label (shape of the labels without a trailing 1).
    """
    return sparse_categorical_crossentropy_and_mask(y_true, y_pred, from_logits,
                                                    ignore_class, axis)[0]


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1):
    """Categorical focal cross-entropy: each class term is scaled by ``alpha * (1 - p) ** gamma``.

    Args:
        y_true: one-hot (or soft) targets.
        y_pred: class probabilities (renormalized along ``axis``), or logits when
            ``from_logits``.
        alpha: overall weight of the loss.
        gamma: focusing exponent; confident correct predictions are down-weighted.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: as in :func:`categorical_crossentropy`.
        axis: the class axis.

    Returns:
        One loss per sample.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be an int, received axis={axis!r}")
    y_true, y_pred = as_pred_and_true(y_true, y_pred)
    _warn_single_class("categorical_focal_crossentropy", y_pred)
    if label_smoothing:
        y_true = _smooth_categorical(y_true, label_smoothing,
                                     jnp.asarray(jnp.shape(y_true)[-1], y_pred.dtype))
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    eps = epsilon()
    prob = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    prob = jnp.clip(prob, eps, 1.0 - eps)
    cross_entropy = -y_true * jnp.log(prob)
    weight = alpha * jnp.power(1.0 - prob, gamma)
    return jnp.sum(weight * cross_entropy, axis=axis)


for _fn in (binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
            sparse_categorical_crossentropy, categorical_focal_crossentropy):
    _fn._keras_builtin = True
del _fn
# Lets LossFunctionWrapper (and so SparseCategoricalCrossentropy) mask ignored labels.
sparse_categorical_crossentropy._with_mask = sparse_categorical_crossentropy_and_mask


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy ``(1 - p ** q) / q`` (Zhang & Sabuncu, 2018), robust to label noise.

    Args:
        y_true: integer class labels, shape ``y_pred.shape[:-1]``.
        y_pred: class probabilities.
        q: in ``(0, 1)``; towards 0 the loss approaches cross-entropy, at 1 it is
            the mean absolute error.

    Returns:
        One loss per sample; ``p`` is the probability given to the true class.
    """
    y_pred = jnp.asarray(y_pred)
    labels = jnp.asarray(y_true).astype("int32")
    one_hot = jax.nn.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype)
    prob = jnp.sum(y_pred * one_hot, axis=-1)
    return (1.0 - jnp.power(prob, q)) / q


categorical_generalized_cross_entropy._keras_builtin = True
