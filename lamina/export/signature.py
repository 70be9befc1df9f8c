"""Input signatures for export: what an endpoint accepts, as records the loader reads.

An input signature is a list with one entry per positional argument of the endpoint;
each entry is a structure (list, tuple, dict) of ``InputSpec``s, ``KerasTensor``s,
``jax.ShapeDtypeStruct``s or arrays. It becomes a description made of the records
``serving_loader`` defines; ``None`` sizes become symbolic dimensions when exported.
"""

from __future__ import annotations

import jax
import numpy as np

from lamina import dtypes
from lamina.export.serving_loader import spec_leaves
from lamina.graph import KerasTensor
from lamina.layers.input_spec import InputSpec

BATCH = "batch"


def _spec_record(x, where: str) -> dict:
    """The ``spec`` record of one leaf. An ``InputSpec`` is taken as given; a
    KerasTensor, ShapeDtypeStruct or array gets a free (None) batch size, as in Keras."""
    if isinstance(x, InputSpec):
        if x.shape is None or x.dtype is None:
            raise ValueError(f"{where}: an InputSpec in an input signature needs both shape "
                             f"and dtype, received {x!r}.")
        shape = list(x.shape)
    elif isinstance(x, (KerasTensor, jax.ShapeDtypeStruct, jax.Array, np.ndarray)):
        shape = [None, *x.shape[1:]] if len(x.shape) else []
    else:
        raise TypeError(f"{where}: expected an InputSpec, KerasTensor, jax.ShapeDtypeStruct or "
                        f"array in the input signature, received {type(x).__name__}.")
    return {"shape": [None if d is None else int(d) for d in shape],
            "dtype": dtypes.standardize(x.dtype), "name": getattr(x, "name", None)}


def _describe(structure, where: str) -> dict:
    if isinstance(structure, dict):
        return {"dict": {str(k): _describe(v, f"{where}[{k!r}]") for k, v in structure.items()}}
    if isinstance(structure, (list, tuple)):
        kind = "list" if isinstance(structure, list) else "tuple"
        return {kind: [_describe(v, f"{where}[{i}]") for i, v in enumerate(structure)]}
    return {"spec": _spec_record(structure, where)}


def describe_signature(input_signature, where: str = "input_signature") -> dict:
    """The description of an endpoint's positional arguments (a ``tuple`` record)."""
    if not isinstance(input_signature, (list, tuple)):
        raise TypeError(f"{where} must be a list with one entry per positional argument of "
                        f"the endpoint, received {type(input_signature).__name__}.")
    return {"tuple": [_describe(arg, f"{where}[{i}]") for i, arg in enumerate(input_signature)]}


def model_signature(model) -> list:
    """The default input signature of ``model.export``: one argument holding the
    model's input structure (functional and Sequential models), or one per recorded
    build shape (subclassed models)."""
    from lamina.models.functional import Functional

    if not model.built:
        raise ValueError(f"Model '{model.name}' must be built (called on data or given an "
                         "Input) before export, or pass input_signature=.")
    if isinstance(model, Functional):
        return [model._inputs_struct]
    shapes = model._build_shapes
    if not shapes:
        raise ValueError(f"Model '{model.name}' has no recorded input shape; pass "
                         "input_signature= to export it.")
    dtype = model.compute_dtype

    def spec(shape):
        if all(d is None or isinstance(d, int) for d in shape):
            return InputSpec(shape=(None, *shape[1:]), dtype=dtype)
        return [spec(s) for s in shape]

    return [spec(shape) for shape in shapes.values()]


def _dimension_names(description) -> list[list]:
    """Per flat input, each dimension: an int, or the name of its symbolic size (the
    batch axis shares one name, as every input has the same batch size)."""
    return [[d if d is not None else (BATCH if axis == 0 else f"dim_{i}_{axis}")
             for axis, d in enumerate(spec["shape"])]
            for i, spec in enumerate(spec_leaves(description))]


def symbolic_specs(description) -> list:
    """Flat ``jax.ShapeDtypeStruct``s with ``jax.export`` symbolic sizes for None."""
    scope = jax.export.SymbolicScope()
    specs = []
    for dims, spec in zip(_dimension_names(description), spec_leaves(description)):
        text = ", ".join(str(d) for d in dims)
        shape = jax.export.symbolic_shape(f"({text})" if dims else "()", scope=scope)
        specs.append(jax.ShapeDtypeStruct(shape, dtypes.standardize(spec["dtype"])))
    return specs


def named_specs(description) -> list:
    """Flat ``jax.ShapeDtypeStruct``s with string sizes for None (jax2onnx's form)."""
    return [jax.ShapeDtypeStruct(tuple(dims), dtypes.standardize(spec["dtype"]))
            for dims, spec in zip(_dimension_names(description), spec_leaves(description))]


def input_names(description) -> list[str]:
    """Flat input names: each spec's name, else ``input_<i>`` (Keras's ONNX names)."""
    return [spec.get("name") or f"input_{i}" for i, spec in enumerate(spec_leaves(description))]
