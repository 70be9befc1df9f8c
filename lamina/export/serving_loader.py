"""Loads a model exported with ``format="jax"`` and serves it with nothing but JAX.

This module needs only ``jax`` and ``numpy``: ``model.export`` copies it into every
artifact folder, so a serving process runs the model without lamina::

    import sys
    sys.path.insert(0, "path/to/artifact")
    import serving_loader

    artifact = serving_loader.load("path/to/artifact")
    outputs = artifact.serve(inputs)        # one method per endpoint

An artifact folder holds ``manifest.json`` (endpoints, their input signatures and the
variables' layout), one ``<endpoint>.jaxexport`` file per endpoint (a serialized
``jax.export.Exported``: StableHLO with symbolic dimensions for the ``None`` sizes of
the input signature) and ``variables.npz`` (the tracked variables, stored beside the
program rather than baked into it, and any variable collections). Each exported
program takes ``(variables, seed, flat_inputs)``; endpoints pass a fresh ``seed``
(0, 1, 2, ...) on every call, from which random layers draw their keys.

Input structures are described in the manifest as nested ``{"list": [...]}``,
``{"tuple": [...]}``, ``{"dict": {key: ...}}`` and ``{"spec": {"shape", "dtype",
"name"}}`` records; flat inputs follow the structure depth first, dict keys sorted.
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

MANIFEST = "manifest.json"
VARIABLES = "variables.npz"
ENDPOINT_SUFFIX = ".jaxexport"
FORMAT_NAME = "lamina-jax-export"
FORMAT_VERSION = 1


def spec_leaves(description) -> list:
    """The ``spec`` records of an input description, in flat input order."""
    if "spec" in description:
        return [description["spec"]]
    return [leaf for child in _children(description) for leaf in spec_leaves(child)]


def unflatten_inputs(description, leaves):
    """Rebuilds the structure ``description`` describes from its flat ``leaves``."""
    leaves = iter(leaves)

    def build(node):
        if "spec" in node:
            return next(leaves)
        if "dict" in node:
            return {key: build(node["dict"][key]) for key in sorted(node["dict"])}
        items = [build(child) for child in node.get("list", node.get("tuple"))]
        return items if "list" in node else tuple(items)

    return build(description)


def flatten_inputs(description, value, where: str = "inputs") -> list:
    """The arrays of ``value`` in flat input order, checked against ``description``.

    A list and a tuple are interchangeable; a dict must have exactly the described
    keys. Raises TypeError/ValueError naming the input, what was expected and what was
    received.
    """
    if "spec" in description:
        return [_checked_array(description["spec"], value, where)]
    if "dict" in description:
        expected = sorted(description["dict"])
        if not isinstance(value, dict) or sorted(value) != expected:
            received = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"{where}: expected a dict with keys {expected}, received "
                             f"{received}.")
        return [leaf for key in expected
                for leaf in flatten_inputs(description["dict"][key], value[key],
                                           f"{where}[{key!r}]")]
    children = _children(description)
    if not isinstance(value, (list, tuple)) or len(value) != len(children):
        received = (f"{len(value)} items" if isinstance(value, (list, tuple))
                    else type(value).__name__)
        raise ValueError(f"{where}: expected a list of {len(children)} inputs, received "
                         f"{received}.")
    return [leaf for i, (child, item) in enumerate(zip(children, value))
            for leaf in flatten_inputs(child, item, f"{where}[{i}]")]


def _children(description) -> list:
    if "dict" in description:
        return [description["dict"][key] for key in sorted(description["dict"])]
    return description["list"] if "list" in description else description["tuple"]


def _checked_array(spec, value, where):
    name = f"{where} ({spec['name']})" if spec.get("name") else where
    array = value if isinstance(value, jax.Array) else np.asarray(value)
    expected = tuple(spec["shape"])
    shape = tuple(array.shape)
    if len(shape) != len(expected) or any(
            e is not None and e != s for e, s in zip(expected, shape)):
        raise ValueError(f"{name}: expected shape {expected} (None: any size), received "
                         f"{shape}.")
    dtype = jax.numpy.dtype(spec["dtype"])
    if array.dtype != dtype:
        if not np.can_cast(array.dtype, dtype, casting="same_kind"):
            raise TypeError(f"{name}: expected dtype {spec['dtype']}, received "
                            f"{array.dtype} (not convertible without changing its kind).")
        array = array.astype(dtype)
    return array


def _stored_array(array, dtype_name):
    """An array read from variables.npz with its recorded dtype (bfloat16 and other
    dtypes NumPy lacks are stored as same-size unsigned integers)."""
    dtype = jax.numpy.dtype(dtype_name)
    return jax.numpy.asarray(array if array.dtype == dtype else array.view(dtype))


class Endpoint:
    """One exported function: call it with the inputs of its input signature."""

    def __init__(self, name, exported, inputs, variables):
        self.name = name
        self.exported = exported
        self.inputs = inputs
        self._variables = variables
        self._calls = 0

    def __call__(self, *args):
        leaves = flatten_inputs(self.inputs, list(args), where=f"Endpoint '{self.name}'")
        seed = np.uint32(self._calls)
        self._calls += 1
        return self.exported.call(self._variables, seed, leaves)

    def __repr__(self):
        specs = ", ".join(f"{s['dtype']}{list(s['shape'])}" for s in spec_leaves(self.inputs))
        return f"<Endpoint {self.name}({specs})>"


class ServingArtifact:
    """A loaded artifact: each endpoint is a method (``artifact.serve(x)``); the
    tracked variables are in ``variables`` (``trainable_variables`` and
    ``non_trainable_variables`` split them), each variable collection is an attribute
    holding its list of arrays."""

    ATTRIBUTES = ("endpoints", "variables", "trainable_variables", "non_trainable_variables",
                  "collections")

    def __init__(self, endpoints, variables, trainable, collections):
        self.endpoints = endpoints
        self.variables = variables
        self.trainable_variables = [v for v, t in zip(variables, trainable) if t]
        self.non_trainable_variables = [v for v, t in zip(variables, trainable) if not t]
        self.collections = collections

    def __getattr__(self, name):
        for table in ("endpoints", "collections"):
            found = self.__dict__.get(table, {})
            if name in found:
                return found[name]
        raise AttributeError(f"The artifact has no endpoint or variable collection "
                             f"{name!r}; endpoints: {sorted(self.__dict__.get('endpoints', {}))}.")


def load(path) -> ServingArtifact:
    """Reads the artifact folder ``path`` written by ``model.export(path, format="jax")``
    or ``ExportArchive.write_out(path)``."""
    path = os.fspath(path)
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path!r} is not a readable lamina jax export folder: {error}") from None
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path!r}: expected a {FORMAT_NAME} version {FORMAT_VERSION} manifest, "
                         f"received format {manifest.get('format')!r} version "
                         f"{manifest.get('format_version')!r}.")
    with np.load(os.path.join(path, VARIABLES), allow_pickle=False) as stored:
        variables = [_stored_array(stored[f"variables/{i}"], v["dtype"])
                     for i, v in enumerate(manifest["variables"])]
        collections = {
            name: [_stored_array(stored[f"collections/{name}/{i}"], v["dtype"])
                   for i, v in enumerate(entries)]
            for name, entries in manifest["collections"].items()}
    endpoints = {}
    for name, entry in manifest["endpoints"].items():
        if not name.isidentifier():  # a file name inside the folder, nothing else
            raise ValueError(f"{path!r}: invalid endpoint name {name!r} in the manifest.")
        with open(os.path.join(path, name + ENDPOINT_SUFFIX), "rb") as f:
            exported = jax.export.deserialize(bytearray(f.read()))
        endpoints[name] = Endpoint(name, exported, entry["inputs"], variables)
    return ServingArtifact(endpoints, variables, [v["trainable"] for v in manifest["variables"]],
                           collections)
