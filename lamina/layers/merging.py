"""Merge layers: combine a list of tensors (Add, Concatenate, Dot, ...)."""

from __future__ import annotations

import jax.numpy as jnp

from lamina.layers.layer import Layer


class _Merge(Layer):
    """Base of the element-wise merges: checks for a list of >= 2 inputs, merges masks."""

    supports_masking = True
    _min_inputs = 2

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
                input_shape[0], (list, tuple)):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects a list of "
                             f"inputs, received a single input of shape {input_shape}.")
        if len(input_shape) < self._min_inputs:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects at least "
                             f"{self._min_inputs} inputs, received {len(input_shape)}.")
        self._check_shapes(input_shape)
        self.built = True

    def _check_shapes(self, shapes):
        ref = shapes[0]
        for s in shapes[1:]:
            a, b = ref[::-1], s[::-1]
            for x, y in zip(a, b):
                if x is not None and y is not None and x != y and 1 not in (x, y):
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) requires inputs with "
                        f"matching shapes except for the batch dimension, received shapes "
                        f"{[tuple(t) for t in shapes]}.")

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = [m for m in previous_mask if m is not None]
        out = masks[0]
        for m in masks[1:]:
            out = jnp.logical_and(out, m)
        return out

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, n):
        return out


class Add(_Merge):
    """Adds a list of inputs element-wise."""

    def _merge(self, a, b):
        return a + b


class Subtract(_Merge):
    """Subtracts the second of exactly two inputs from the first."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Layer '{self.name}' (Subtract) expects exactly 2 inputs, "
                             f"received {len(input_shape)}.")

    def _merge(self, a, b):
        return a - b


class Multiply(_Merge):
    """Multiplies a list of inputs element-wise."""

    def _merge(self, a, b):
        return a * b


class Average(_Merge):
    """Averages a list of inputs element-wise."""

    def _merge(self, a, b):
        return a + b

    def _finish(self, out, n):
        return out / n


class Maximum(_Merge):
    """Element-wise maximum of a list of inputs."""

    def _merge(self, a, b):
        return jnp.maximum(a, b)


class Minimum(_Merge):
    """Element-wise minimum of a list of inputs."""

    def _merge(self, a, b):
        return jnp.minimum(a, b)


class Concatenate(_Merge):
    """Concatenates a list of inputs along ``axis`` (default the last)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(f"Layer '{self.name}' (Concatenate) requires inputs of the same "
                             f"rank, received shapes {[tuple(s) for s in shapes]}.")
        rank = ranks.pop()
        axis = self.axis % rank
        for i in range(rank):
            if i == axis:
                continue
            sizes = {s[i] for s in shapes if s[i] is not None}
            if len(sizes) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) requires inputs with matching shapes "
                    f"except for the concatenation axis {self.axis}, received shapes "
                    f"{[tuple(s) for s in shapes]}.")

    def call(self, inputs):
        dtype = jnp.result_type(*inputs)
        return jnp.concatenate([x.astype(dtype) for x in inputs], axis=self.axis)

    def compute_mask(self, inputs, previous_mask=None):
        if previous_mask is None or all(m is None for m in previous_mask):
            return None
        masks = []
        for x, m in zip(inputs, previous_mask):
            if m is None:
                m = jnp.ones(x.shape[:-1] if self.axis in (-1, x.ndim - 1) else x.shape, bool)
            masks.append(m)
        if self.axis in (-1, inputs[0].ndim - 1):
            # Masks have no feature axis: a position is valid only where all inputs are.
            out = masks[0]
            for m in masks[1:]:
                out = jnp.logical_and(out, m)
            return out
        return jnp.concatenate(masks, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Dot product of two inputs along ``axes`` (optionally L2-normalized first)."""

    supports_masking = False

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, (int, list, tuple)):
            raise TypeError(f"Dot 'axes' must be an int or a pair of ints, received {axes!r}.")
        self.axes = axes
        self.normalize = normalize

    def _check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"Layer '{self.name}' (Dot) expects exactly 2 inputs, received "
                             f"{len(shapes)}.")
        a, b = shapes
        ax = self._axes(len(a), len(b))
        if a[ax[0]] is not None and b[ax[1]] is not None and a[ax[0]] != b[ax[1]]:
            raise ValueError(f"Layer '{self.name}' (Dot): dimension incompatibility "
                             f"{a[ax[0]]} != {b[ax[1]]} for shapes {tuple(a)} and {tuple(b)} "
                             f"along axes {self.axes}.")

    def _axes(self, rank_a, rank_b):
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return (axes[0] % rank_a, axes[1] % rank_b)

    def call(self, inputs):
        a, b = inputs
        ax = self._axes(a.ndim, b.ndim)
        if self.normalize:
            a = a / jnp.maximum(jnp.linalg.norm(a, axis=ax[0], keepdims=True), 1e-12)
            b = b / jnp.maximum(jnp.linalg.norm(b, axis=ax[1], keepdims=True), 1e-12)
        # Batched contraction: axis 0 is shared, a[ax0] is contracted with b[ax1].
        a_idx = list(range(a.ndim))
        b_idx = [0] + list(range(a.ndim, a.ndim + b.ndim - 1))
        b_idx[ax[1]] = a_idx[ax[0]]
        out_idx = [0] + [i for i in a_idx[1:] + b_idx[1:] if i != a_idx[ax[0]]]
        out = jnp.einsum(a, a_idx, b, b_idx, out_idx)
        if out.ndim == 1:
            out = out[:, None]
        return out

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def _merge_fn(cls):
    def fn(inputs, **kwargs):
        return cls(**kwargs)(inputs)

    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = f"Functional interface to the ``{cls.__name__}`` layer."
    return fn


add = _merge_fn(Add)
subtract = _merge_fn(Subtract)
multiply = _merge_fn(Multiply)
average = _merge_fn(Average)
maximum = _merge_fn(Maximum)
minimum = _merge_fn(Minimum)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to the ``Concatenate`` layer."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional interface to the ``Dot`` layer."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
