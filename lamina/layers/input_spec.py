"""InputSpec: what a layer accepts, checked when it is called."""

from __future__ import annotations

from lamina import dtypes


class InputSpec:
    """Constraints on a layer input: rank, dtype and the size of given axes.

    Args:
        dtype: expected dtype, or None for any.
        shape: expected shape (None entries match anything).
        ndim, max_ndim, min_ndim: constraints on the rank.
        axes: ``{axis: size}`` for axes that must have a given size.
        allow_last_axis_squeeze: accept a rank one lower/higher when the last axis is 1.
        name: the input's name, used in messages.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = dtypes.standardize(dtype) if dtype is not None else None
        self.shape = tuple(shape) if shape is not None else None
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                         ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                         ("min_ndim", self.min_ndim), ("axes", self.axes))
                 if v]
        return f"InputSpec({', '.join(parts)})"


def assert_input_compatibility(input_spec, inputs, layer_name: str) -> None:
    """Raises ValueError naming the layer, the expectation and the received shape."""
    if input_spec is None:
        return
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    flat = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if isinstance(inputs, dict):
        flat = list(inputs.values())
    if len(specs) != len(flat):
        raise ValueError(f"Layer '{layer_name}' expects {len(specs)} input(s), but it received "
                         f"{len(flat)} input tensors.")
    for i, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None or x is None:
            continue
        shape = tuple(getattr(x, "shape", ()))
        where = f"Input {i} of layer '{layer_name}' is incompatible with the layer:"
        rank = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(f"{where} expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                             f"Full shape received: {shape}")
        if spec.dtype is not None and hasattr(x, "dtype"):
            got = dtypes.standardize(x.dtype)
            if got != spec.dtype:
                raise ValueError(f"{where} expected dtype={spec.dtype}, found dtype={got}. "
                                 f"Full shape received: {shape}")
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if axis >= rank or axis < -rank:
                raise ValueError(f"{where} expected axis {axis} of input shape to have value "
                                 f"{value}, but the input has rank {rank}. Full shape received: "
                                 f"{shape}")
            if shape[axis] is not None and shape[axis] != value:
                raise ValueError(f"{where} expected axis {axis} of input shape to have value "
                                 f"{value}, but received input with shape {shape}")
        if spec.shape is not None and not spec.allow_last_axis_squeeze:
            for want, got in zip(spec.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{where} expected shape={spec.shape}, found "
                                     f"shape={shape}")
