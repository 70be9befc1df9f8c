"""Counting true/false positives/negatives at thresholds, for the confusion metrics.

The counts for ``T`` thresholds are computed in one of two pure ways:

- the general way compares every prediction with every threshold (``T x N``);
- for thresholds evenly spaced over [0, 1] (AUC's default), each prediction is
  dropped into the bucket of the highest threshold it exceeds, buckets are summed
  with one scatter-add, and a reversed cumulative sum gives the count above each
  threshold (``O(N + T)``). Predictions are clipped to [0, 1] on this path.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lamina.metrics.metrics_utils import epsilon, squeeze_or_expand_to_same_rank

# The threshold that makes every top-k prediction count as positive.
NEG_INF = -1e10

TRUE_POSITIVES = "tp"
FALSE_POSITIVES = "fp"
TRUE_NEGATIVES = "tn"
FALSE_NEGATIVES = "fn"
_KINDS = (TRUE_POSITIVES, FALSE_POSITIVES, TRUE_NEGATIVES, FALSE_NEGATIVES)


def to_list(x) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist() if x.ndim else [x.item()]
    return [x]


def parse_init_thresholds(thresholds, default_threshold: float = 0.5) -> list:
    """The list of thresholds a metric counts at, checked to lie in [0, 1]."""
    if thresholds is not None:
        values = to_list(thresholds)
        for t in values:
            if not 0.0 <= float(t) <= 1.0:
                raise ValueError(f"Threshold values must be in [0, 1]. Received: {values}")
        return [float(t) for t in values]
    return [float(default_threshold)]


def is_evenly_distributed_thresholds(thresholds) -> bool:
    """Whether ``thresholds`` are ``i / (n - 1)`` for ``i = 0..n-1`` (with ``n >= 3``)."""
    thresholds = np.asarray(thresholds, dtype="float64")
    n = thresholds.shape[0]
    if n < 3:
        return False
    even = np.arange(n, dtype="float64") / (n - 1)
    return bool(np.allclose(thresholds, even, atol=epsilon()))


def filter_top_k(x, k: int):
    """Keeps the ``k`` largest entries of the last axis; the others become ``NEG_INF``."""
    _, idx = jax.lax.top_k(x, k)
    mask = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * mask + NEG_INF * (1 - mask)


def _weights(y_pred, sample_weight, label_weights, flatten: bool, dtype):
    """Per-prediction weights (sample weights times label weights) or ``None``."""
    weights = None
    if sample_weight is not None:
        weights = jnp.broadcast_to(sample_weight.astype(dtype), y_pred.shape)
    if label_weights is not None:
        lw = jnp.broadcast_to(jnp.expand_dims(jnp.asarray(label_weights, dtype), 0),
                              y_pred.shape)
        weights = lw if weights is None else weights * lw
    if weights is not None and flatten:
        weights = jnp.reshape(weights, (-1,))
    return weights


def _counts_general(y_true, y_pred, thresholds, weights, multi_label: bool):
    """TP/FP/TN/FN at each threshold by comparing all predictions with all thresholds."""
    label = y_true.astype(bool)
    if multi_label:
        # (T, N, L): counts are kept per label.
        pred_pos = y_pred[None] > thresholds.reshape((-1,) + (1,) * y_pred.ndim)
        label = jnp.broadcast_to(label[None], pred_pos.shape)
        w = None if weights is None else weights[None]
    else:
        pred_pos = jnp.reshape(y_pred, (1, -1)) > thresholds[:, None]
        label = jnp.broadcast_to(jnp.reshape(label, (1, -1)), pred_pos.shape)
        w = None if weights is None else jnp.reshape(weights, (1, -1))

    def count(mask):
        mask = mask.astype(y_pred.dtype)
        if w is not None:
            mask = mask * w
        return jnp.sum(mask, axis=1)

    return {
        TRUE_POSITIVES: lambda: count(label & pred_pos),
        FALSE_POSITIVES: lambda: count(~label & pred_pos),
        TRUE_NEGATIVES: lambda: count(~label & ~pred_pos),
        FALSE_NEGATIVES: lambda: count(label & ~pred_pos),
    }


def _counts_evenly(y_true, y_pred, thresholds, weights, multi_label: bool):
    """TP/FP/TN/FN at evenly spaced thresholds by bucketing each prediction once."""
    num_thresholds = thresholds.shape[0]
    dtype = y_pred.dtype
    # Thresholds padded with -eps/1+eps (AUC's) count a prediction of 0 at the first.
    padded = bool(thresholds[0] < 0.0)
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = y_true.astype(bool).astype(dtype)
    if not multi_label:
        y_true = jnp.reshape(y_true, (-1,))
        y_pred = jnp.reshape(y_pred, (-1,))
    w = jnp.ones_like(y_pred) if weights is None else jnp.broadcast_to(weights, y_pred.shape)
    true_w = y_true * w
    false_w = (1.0 - y_true) * w
    # Number of thresholds strictly below the prediction: ceil(p * (T - 1)).
    above = jnp.ceil(y_pred * jnp.asarray(num_thresholds - 1, dtype))
    if padded:
        above = jnp.maximum(above, 1.0)
    bucket = above.astype("int32") - 1
    valid = bucket >= 0
    bucket = jnp.where(valid, bucket, 0)
    true_w = jnp.where(valid, true_w, 0)
    false_w_b = jnp.where(valid, false_w, 0)
    if multi_label:
        num_labels = y_pred.shape[-1]
        flat_idx = jnp.reshape(bucket * num_labels + jnp.arange(num_labels), (-1,))
        shape = (num_thresholds, num_labels)
    else:
        flat_idx = bucket
        shape = (num_thresholds,)
    size = int(np.prod(shape))

    def above_threshold(values):
        buckets = jnp.zeros((size,), dtype).at[flat_idx].add(jnp.reshape(values, (-1,)))
        buckets = jnp.reshape(buckets, shape)
        # Count at threshold j = everything in buckets j and above.
        return jnp.flip(jnp.cumsum(jnp.flip(buckets, 0), axis=0), 0)

    sum_axis = 0 if multi_label else None
    tp = above_threshold(true_w)
    fp = above_threshold(false_w_b)
    total_true = jnp.sum(y_true * w, axis=sum_axis)
    total_false = jnp.sum(false_w, axis=sum_axis)
    return {
        TRUE_POSITIVES: lambda: tp,
        FALSE_POSITIVES: lambda: fp,
        TRUE_NEGATIVES: lambda: total_false - fp,
        FALSE_NEGATIVES: lambda: total_true - tp,
    }


def update_confusion_matrix_variables(variables_to_update: dict, y_true, y_pred, thresholds,
                                      top_k: int | None = None, class_id: int | None = None,
                                      sample_weight=None, multi_label: bool = False,
                                      label_weights=None,
                                      thresholds_distributed_evenly: bool = False) -> None:
    """Adds the weighted confusion counts of one batch to the given variables.

    Args:
        variables_to_update: ``{"tp"|"fp"|"tn"|"fn": Variable}``; each variable
            has shape ``(T,)`` (or ``(T, L)`` when ``multi_label``).
        y_true: labels, read as booleans.
        y_pred: scores, compared with ``> threshold``.
        thresholds: the ``T`` thresholds (floats).
        top_k: keep only the ``top_k`` largest scores per sample as candidates.
        class_id: restrict the counts to this class (last axis index).
        sample_weight: optional weights broadcastable to ``y_pred``.
        multi_label: keep counts per label (last axis) instead of pooling them.
        label_weights: optional per-label weights (not with ``multi_label``).
        thresholds_distributed_evenly: use the bucketing path (see module doc).
    """
    if multi_label and label_weights is not None:
        raise ValueError("`label_weights` cannot be used together with `multi_label=True`.")
    unknown = [k for k in variables_to_update if k not in _KINDS]
    if unknown or not variables_to_update:
        raise ValueError(f"Expected keys among {list(_KINDS)}, received "
                         f"{list(variables_to_update)}.")
    dtype = next(iter(variables_to_update.values())).dtype
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    thresholds_np = np.asarray(thresholds, dtype="float64")
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with "
                             f"shape (num_samples, num_classes), received shape {y_pred.shape}.")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if label_weights is not None and not multi_label:
        lw = label_weights
    else:
        lw = None
    if thresholds_distributed_evenly:
        weights = _weights(y_pred, sample_weight, lw, flatten=not multi_label, dtype=dtype)
        counts = _counts_evenly(y_true, y_pred, thresholds_np, weights, multi_label)
    else:
        weights = _weights(y_pred, sample_weight, lw, flatten=False, dtype=dtype)
        counts = _counts_general(y_true, y_pred, jnp.asarray(thresholds_np, dtype), weights,
                                 multi_label)
    for kind, var in variables_to_update.items():
        var.assign(var.value + counts[kind]().astype(var.dtype))
