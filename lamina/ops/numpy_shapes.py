"""Ops that rearrange, combine, split, index and sort tensors (``keras.ops.numpy``)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from lamina import dtypes
from lamina.ops.op_utils import NUMPY, axis_arg, dtype_of, promote, result_type, tensor
from lamina.ops.operation import keras_op


# -- shape ------------------------------------------------------------------------------
@keras_op(NUMPY, init=("newshape",))
def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be -1)."""
    if isinstance(newshape, int):
        newshape = (newshape,)
    return jnp.reshape(tensor(x), tuple(-1 if d is None else d for d in newshape))


@keras_op(NUMPY, init=("axes",))
def transpose(x, axes=None):
    """Permutes the axes (reverses them when ``axes`` is None)."""
    return jnp.transpose(tensor(x), axis_arg(axes))


@keras_op(NUMPY, init=("axis",))
def expand_dims(x, axis):
    """Inserts a size-1 axis (or several) at ``axis``."""
    return jnp.expand_dims(tensor(x), axis_arg(axis))


@keras_op(NUMPY, init=("axis",))
def squeeze(x, axis=None):
    """Removes size-1 axes (all of them when ``axis`` is None)."""
    return jnp.squeeze(tensor(x), axis_arg(axis))


@keras_op(NUMPY)
def ravel(x):
    """``x`` flattened to one axis."""
    return jnp.ravel(tensor(x))


@keras_op(NUMPY, init=("shape",))
def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``."""
    return jnp.broadcast_to(tensor(x), tuple(shape))


@keras_op(NUMPY, init=("source", "destination"))
def moveaxis(x, source, destination):
    """Moves axes ``source`` to positions ``destination``."""
    return jnp.moveaxis(tensor(x), axis_arg(source), axis_arg(destination))


@keras_op(NUMPY, init=("axis1", "axis2"))
def swapaxes(x, axis1, axis2):
    """Exchanges two axes."""
    return jnp.swapaxes(tensor(x), axis1, axis2)


@keras_op(NUMPY, jit=False)
def size(x):
    """The number of elements (a Python int)."""
    return int(np.prod(np.shape(x)))


@keras_op(NUMPY, jit=False)
def ndim(x):
    """The number of axes (a Python int)."""
    return len(np.shape(x))


# -- combining --------------------------------------------------------------------------
def _promoted(xs):
    xs = [tensor(x) for x in xs]
    dtype = result_type(*(dtype_of(x) for x in xs))
    return [x.astype(dtype) for x in xs]


@keras_op(NUMPY, init=("axis",))
def concatenate(xs, axis=0):
    """Joins tensors along an existing axis."""
    return jnp.concatenate(_promoted(xs), axis=axis)


@keras_op(NUMPY, init=("axis",))
def stack(x, axis=0):
    """Joins tensors along a new axis."""
    return jnp.stack(_promoted(x), axis=axis)


@keras_op(NUMPY)
def hstack(xs):
    """Joins tensors along axis 1 (axis 0 for 1-D tensors)."""
    return jnp.hstack(_promoted(xs))


@keras_op(NUMPY)
def vstack(xs):
    """Joins tensors along axis 0 (1-D tensors become rows)."""
    return jnp.vstack(_promoted(xs))


@keras_op(NUMPY)
def dstack(xs):
    """Joins tensors along axis 2."""
    return jnp.dstack(_promoted(xs))


@keras_op(NUMPY, init=("axis",))
def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None)."""
    (a, b), _ = promote(x1, x2)
    return jnp.append(a, b, axis=axis)


@keras_op(NUMPY, init=("repeats",))
def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis."""
    return jnp.tile(tensor(x), repeats)


@keras_op(NUMPY, init=("repeats", "axis"))
def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis``."""
    return jnp.repeat(tensor(x), repeats, axis=axis)


# -- splitting --------------------------------------------------------------------------
def _sections(indices_or_sections):
    if isinstance(indices_or_sections, (list, tuple)):
        return list(indices_or_sections)
    return indices_or_sections


@keras_op(NUMPY, init=("indices_or_sections", "axis"))
def split(x, indices_or_sections, axis=0):
    """Splits into equal sections or at the given indices along ``axis``."""
    return jnp.split(tensor(x), _sections(indices_or_sections), axis=axis)


@keras_op(NUMPY, init=("indices_or_sections", "axis"))
def array_split(x, indices_or_sections, axis=0):
    """Splits into ``indices_or_sections`` nearly equal sections along ``axis``."""
    return jnp.array_split(tensor(x), _sections(indices_or_sections), axis=axis)


@keras_op(NUMPY, init=("indices_or_sections",))
def hsplit(x, indices_or_sections):
    """Splits along axis 1 (axis 0 for 1-D tensors)."""
    return jnp.hsplit(tensor(x), _sections(indices_or_sections))


@keras_op(NUMPY, init=("indices_or_sections",))
def vsplit(x, indices_or_sections):
    """Splits along axis 0."""
    return jnp.vsplit(tensor(x), _sections(indices_or_sections))


@keras_op(NUMPY, init=("indices_or_sections",))
def dsplit(x, indices_or_sections):
    """Splits along axis 2."""
    return jnp.dsplit(tensor(x), _sections(indices_or_sections))


# -- reordering -------------------------------------------------------------------------
@keras_op(NUMPY, init=("axis",))
def flip(x, axis=None):
    """Reverses the order of elements along ``axis`` (all axes when None)."""
    return jnp.flip(tensor(x), axis_arg(axis))


@keras_op(NUMPY)
def fliplr(x):
    """Reverses axis 1."""
    return jnp.fliplr(tensor(x))


@keras_op(NUMPY)
def flipud(x):
    """Reverses axis 0."""
    return jnp.flipud(tensor(x))


@keras_op(NUMPY, init=("shift", "axis"))
def roll(x, shift, axis=None):
    """Rolls elements by ``shift`` along ``axis`` (the flattened tensor when None)."""
    return jnp.roll(tensor(x), axis_arg(shift), axis=axis_arg(axis))


@keras_op(NUMPY, init=("k", "axes"))
def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees ``k`` times in the plane of ``axes``."""
    return jnp.rot90(tensor(array), k=k, axes=tuple(axes))


@keras_op(NUMPY, init=("pad_width", "mode"))
def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads ``x`` by ``pad_width`` (``((before, after), ...)`` per axis)."""
    x = tensor(x)
    pad_width = np.asarray(pad_width, dtype="int64").tolist()
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"constant_values can only be given with mode='constant', "
                             f"received mode={mode!r}.")
        return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode=mode)


@keras_op(NUMPY, init=("axis",))
def sort(x, axis=-1):
    """Sorted values along ``axis``."""
    return jnp.sort(tensor(x), axis=axis)


@keras_op(NUMPY, init=("axis",))
def argsort(x, axis=-1):
    """The indices that sort ``x`` along ``axis``."""
    x = tensor(x)
    if x.ndim == 0:
        return jnp.argsort(x[None], axis=0)[0].astype("int32")
    return jnp.argsort(x, axis=axis).astype("int32")


@keras_op(NUMPY, init=("kth", "axis"))
def argpartition(x, kth, axis=-1):
    """Indices partitioning ``x`` so the ``kth`` element is in its sorted place."""
    return jnp.argpartition(tensor(x), kth, axis=axis).astype("int32")


# -- indexing ---------------------------------------------------------------------------
def _index_key(key):
    """Keras serializes tuple keys as lists: a list key is a tuple of indices."""
    if isinstance(key, list):
        return tuple(_index_key(k) if isinstance(k, list) else k for k in key)
    return key


@keras_op(NUMPY)
def get_item(x, key):
    """``x[key]``."""
    key = _index_key(key)
    if isinstance(key, tuple):
        key = tuple(tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    return tensor(x)[key]


@keras_op(NUMPY, init=("axis",))
def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when
    None); negative indices count from the end."""
    x, indices = tensor(x), tensor(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        indices = indices.astype("int32")
    return jnp.take(x, indices, axis=axis)


@keras_op(NUMPY, init=("axis",))
def take_along_axis(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` matched along ``axis``."""
    x, indices = tensor(x), tensor(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        indices = indices.astype("int32")
    return jnp.take_along_axis(x, indices, axis=axis)


@keras_op(NUMPY, init=("k",))
def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with ``x`` on that diagonal."""
    return jnp.diag(tensor(x), k=k)


@keras_op(NUMPY, init=("k",))
def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return jnp.diagflat(tensor(x), k=k)


@keras_op(NUMPY, init=("offset", "axis1", "axis2"))
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the ``axis1``/``axis2`` planes."""
    return jnp.diagonal(tensor(x), offset=offset, axis1=axis1, axis2=axis2)


@keras_op(NUMPY, init=("k",))
def tril(x, k=0):
    """``x`` with the elements above the ``k``-th diagonal zeroed."""
    return jnp.tril(tensor(x), k=k)


@keras_op(NUMPY, init=("k",))
def triu(x, k=0):
    """``x`` with the elements below the ``k``-th diagonal zeroed."""
    return jnp.triu(tensor(x), k=k)


@keras_op(NUMPY, jit=lambda condition, x1=None, x2=None: x1 is not None or x2 is not None)
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with neither, the indices of the
    true elements (a tuple of arrays, one per axis)."""
    condition = tensor(condition)
    if x1 is None and x2 is None:
        return jnp.nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither.")
    (a, b), _ = promote(x1, x2)
    return jnp.where(condition, a, b)


@keras_op(NUMPY)
def select(condlist, choicelist, default=0):
    """For each element, the first ``choicelist`` entry whose condition holds, else
    ``default``."""
    conds = [tensor(c).astype(bool) for c in condlist]
    choices = _promoted(choicelist)
    return jnp.select(conds, choices, jnp.asarray(default, choices[0].dtype))


@keras_op(NUMPY, jit=False)
def nonzero(x):
    """The indices of the non-zero elements: a tuple of int32 arrays, one per axis."""
    return tuple(i.astype("int32") for i in jnp.nonzero(tensor(x)))


@keras_op(NUMPY, class_name="SearchSorted", init=("side",))
def searchsorted(sorted_sequence, values, side="left"):
    """Indices where ``values`` would be inserted to keep the 1-D ``sorted_sequence``
    sorted."""
    sorted_sequence = tensor(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError(f"searchsorted expects a 1-D sorted_sequence, received shape "
                         f"{tuple(sorted_sequence.shape)}.")
    return jnp.searchsorted(sorted_sequence, tensor(values), side=side).astype("int32")


@keras_op(NUMPY)
def digitize(x, bins):
    """The index of the bin each element falls in (``bins`` increasing)."""
    return jnp.digitize(tensor(x), tensor(bins)).astype("int32")


@keras_op(NUMPY, class_name="IsIn", init=("assume_unique", "invert"))
def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of ``x1`` is in ``x2``."""
    (a, b), _ = promote(x1, x2)
    return jnp.isin(a, b, assume_unique=assume_unique, invert=invert)


@keras_op(NUMPY, init=("shape",))
def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in an array of ``shape`` (a tuple of
    arrays)."""
    indices = tensor(indices)
    return tuple(jnp.unravel_index(indices, tuple(shape)))


@keras_op(NUMPY, init=("sorted", "return_index", "return_inverse", "return_counts", "axis",
                       "size", "fill_value"), jit=False)
def unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
           return_counts=False, axis=None, size=None, fill_value=None):
    """The unique elements (sorted), optionally with their first indices, the inverse
    indices and their counts. Under ``jax.jit`` give ``size``: the output is padded
    (with ``fill_value``) or cut to that many elements."""
    out = jnp.unique(tensor(x), return_index=return_index, return_inverse=return_inverse,
                     return_counts=return_counts, axis=axis, size=size,
                     fill_value=fill_value)
    if not isinstance(out, tuple):
        return out
    return tuple(o if i == 0 else o.astype("int32") for i, o in enumerate(out))


@keras_op(NUMPY, init=("dtype",))
def view(x, dtype=None):
    """The bits of ``x`` reinterpreted as ``dtype``."""
    x = tensor(x)
    if dtype is None:
        return x
    return x.view(dtypes.standardize(dtype))
