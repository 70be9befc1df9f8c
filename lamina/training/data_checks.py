"""Checks of ``fit``/``evaluate``/``predict`` data against the model, with messages that
say what to change.

The mistakes Keras users make most are caught before the first step, where the
message can name the input or output, both shapes, the fix, and the user's line that
made the layer behind it (``lamina.user_frames``): data of the wrong rank or size, a
missing batch dimension, targets the loss cannot take (integer labels with
categorical cross-entropy, one-hot labels with the sparse one, a wrong number of
classes), and NaN in the data (a warning: Keras trains on NaN, and a custom loss may
use NaN to mark missing labels).
"""

from __future__ import annotations

import difflib
import warnings

import jax
import numpy as np

from lamina import losses as losses_mod
from lamina import user_frames
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer

_CATEGORICAL = (losses_mod.categorical_crossentropy, losses_mod.categorical_focal_crossentropy)
_SPARSE = (losses_mod.sparse_categorical_crossentropy,)


def origin(tensor) -> str:
    """Which layer made a model's KerasTensor and where the user's code did it, e.g.
    ``"the Dense layer 'probs' (created at model.py:12)"``; empty when unknown."""
    history = tensor._keras_history
    if history is None:
        return ""
    operation, node_index, _ = history
    called = operation._inbound_nodes[node_index].called_at
    created = operation._created_at if isinstance(operation, Layer) else None
    places = []
    if created is not None:
        places.append(f"created at {created}")
    if called is not None and called != created:
        places.append(f"called at {called}")
    where = f" ({', '.join(places)})" if places else ""
    return f"{_maker(tensor)}{where}"


def _maker(tensor) -> str:
    """``"the Dense layer 'probs'"`` for the layer (or op) that made ``tensor``."""
    operation = tensor._keras_history[0]
    if isinstance(operation, InputLayer):
        return f"the Input '{operation.name}'"
    return f"the {type(operation).__name__} layer '{operation.name}'"


def check_input(tensor, name: str, shape: tuple, what: str) -> None:
    """Raises ValueError when data of ``shape`` cannot feed the model input ``tensor``
    (a KerasTensor named ``name``); ``what`` names the data ("x", "the first batch")."""
    want = tensor.shape
    rank, want_rank = len(shape), len(want)
    # A trailing axis of 1 may be added or dropped, as Keras does.
    if rank == want_rank - 1 and want[-1] == 1 or rank == want_rank + 1 and shape[-1] == 1:
        return
    if rank == want_rank and all(w is None or w == s for w, s in zip(want[1:], shape[1:])):
        return
    message = (f"Input '{name}' of the model expects data of shape {_batched(want)}, but "
               f"{what} for it has shape {shape}.")
    per_sample = want_rank - 1
    if rank == want_rank - 1 and all(w is None or w == s for w, s in zip(want[1:], shape)):
        message += (" This looks like one sample without its batch dimension: pass a batch "
                    "of one, `x[None]` (or `np.expand_dims(x, 0)`).")
    elif rank != want_rank:
        message += (f" The model takes {per_sample} {'axis' if per_sample == 1 else 'axes'} "
                    f"per sample, the data has {rank - 1}: reshape the data to "
                    f"{_batched(('num_samples',) + tuple(want[1:]))}, or change the Input's "
                    "`shape`.")
    else:
        axis = next(i for i, (w, s) in enumerate(zip(want, shape))
                    if i > 0 and w is not None and w != s)
        message += (f" Axis {axis} has size {shape[axis]} in the data but {want[axis]} in "
                    f"the model: change the Input's `shape` to {tuple(shape[1:])}, or the data.")
    made = origin(tensor)
    if made:
        message += f" The input is {made}."
    raise ValueError(message)


def check_target(loss, y, output, name: str, tensor, what: str) -> None:
    """Raises ValueError when ``loss`` cannot compare targets ``y`` (an array or its
    shape/dtype) with the output ``output`` (shape/dtype with a batch size): the loss is
    evaluated abstractly, so exactly the targets its step would refuse are refused.

    Args:
        loss: the output's compiled Loss.
        y, output: objects with ``shape`` and ``dtype`` (batch sizes may differ).
        name: the output's name; ``tensor``: its KerasTensor, or None (subclassed models).
        what: names the data ("y", "the first batch").
    """
    y_tail, out_tail = tuple(y.shape)[1:], tuple(output.shape)[1:]
    sparse = isinstance(loss, losses_mod.LossFunctionWrapper) and loss.fn in _SPARSE
    if y_tail in ((out_tail[:-1], out_tail[:-1] + (1,)) if sparse else (out_tail,)):
        return  # the shapes every built-in loss of this kind takes: no need to trace it
    batch = y.shape[0]
    y_spec = jax.ShapeDtypeStruct((batch,) + tuple(y.shape)[1:], y.dtype)
    out_spec = jax.ShapeDtypeStruct((batch,) + tuple(output.shape)[1:], output.dtype)
    try:
        jax.eval_shape(lambda t, p: loss(t, p), y_spec, out_spec)
    except (ValueError, TypeError) as error:
        y_shape, out_shape = tuple(y.shape), (None,) + tuple(output.shape)[1:]
        message = (f"Targets for output '{name}' do not fit its loss {_loss_name(loss)}: "
                   f"{what} for it has shape {y_shape}, the output has shape {out_shape}. "
                   f"{_target_hint(loss, y_shape, out_shape, tensor)} (The loss said: {error}.)")
        made = "" if tensor is None else origin(tensor)
        if made:
            message += f" The output is {made}."
        raise ValueError(message) from None


def _loss_name(loss) -> str:
    fn = loss.fn if isinstance(loss, losses_mod.LossFunctionWrapper) else None
    return fn.__name__ if fn is not None else type(loss).__name__


def _target_hint(loss, y_shape: tuple, out_shape: tuple, tensor) -> str:
    fn = loss.fn if isinstance(loss, losses_mod.LossFunctionWrapper) else None
    classes = out_shape[-1]
    labels = y_shape[1:] in (tuple(out_shape[1:-1]), tuple(out_shape[1:-1]) + (1,))
    if fn in _CATEGORICAL and labels:
        return ("These look like integer class labels (one per sample), but "
                f"{fn.__name__} needs one-hot targets shaped like the output. Compile with "
                "loss='sparse_categorical_crossentropy', or one-hot encode the labels: "
                f"`keras.utils.to_categorical(y, num_classes={classes})`.")
    if fn in _SPARSE and len(y_shape) == len(out_shape) and y_shape[-1] == classes:
        return ("These look like one-hot labels (one column per class), but "
                "sparse_categorical_crossentropy needs one integer class index per sample, "
                f"shape {(y_shape[0],) + tuple(out_shape[1:-1])}. Compile with "
                "loss='categorical_crossentropy', or pass `y.argmax(axis=-1)`.")
    if len(y_shape) == len(out_shape) and y_shape[-1] != classes:
        layer = "the output layer" if tensor is None else _maker(tensor)
        return (f"The targets have {y_shape[-1]} values per sample where the output has "
                f"{classes}: give {layer} {y_shape[-1]} units, or give the targets "
                f"{classes} values per sample.")
    return ("Reshape the targets to the output's shape (one row per sample), or change "
            "the output layer.")


def _batched(shape: tuple) -> str:
    """``(batch, 4)`` for ``(None, 4)``."""
    dims = ["batch" if i == 0 and d is None else str(d) for i, d in enumerate(shape)]
    return f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"


def unknown_key(kind: str, key, names: list, what: str) -> ValueError:
    """The error for a data dict key that names no model input or output (``kind``)."""
    close = difflib.get_close_matches(str(key), [str(n) for n in names], n=1)
    guess = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"{what} has the key {key!r}, which names no {kind} of the model; its {kind}s are "
        f"{names}.{guess} Keys must be the {kind}s' names: rename the key, or name the "
        f"{'Input' if kind == 'input' else 'output layer'} `name={key!r}` when building "
        "the model.")


class PendingChecks:
    """Checks of the data left to run (functions of no arguments), run together on the
    first call; later calls do nothing."""

    def __init__(self, checks):
        self._checks = list(checks)

    def __call__(self) -> None:
        checks, self._checks = self._checks, []
        for check in checks:
            check()


def warn_about_nan(arrays: dict, what: str) -> None:
    """Warns about NaN in host arrays (``{label: array}``), naming the first sample
    that holds one and how to drop such samples.

    One pass over each floating-point NumPy array (a sum, NaN if any entry is NaN); the
    per-sample search runs only then. Device (JAX) arrays are not checked: that would
    wait for them and compile a reduction per shape.
    """
    for label, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc" or array.size == 0:
            continue
        if not np.isnan(array.sum()):
            continue
        rows = np.flatnonzero(np.isnan(array.reshape(len(array), -1)).any(axis=1))
        if not rows.size:  # the sum was inf - inf, not a NaN entry
            continue
        warnings.warn(
            f"{label} in {what} holds NaN in {rows.size} of {len(array)} samples (the first "
            f"is sample {rows[0]}); the loss and weights become NaN once one reaches a "
            "step. Drop or fill those samples first, e.g. `keep = ~np.isnan(a).reshape("
            "len(a), -1).any(axis=1)`, then index every array with `[keep]` (or use "
            "`np.nan_to_num`).", stacklevel=user_frames.user_stacklevel())


def labelled(kind: str, structure, names) -> dict:
    """The arrays of ``structure`` by label (``"input 'feat'"``, or ``"input 0"`` where
    no names line up), for messages."""
    leaves = jax.tree_util.tree_leaves(structure)
    aligned = names is not None and len(names) == len(leaves)
    return {f"{kind} '{names[i]}'" if aligned else f"{kind} {i}": leaf
            for i, leaf in enumerate(leaves)}
