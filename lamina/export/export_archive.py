"""ExportArchive: several serving endpoints of tracked layers, written in a JAX format.

Keras's ``ExportArchive`` writes TensorFlow SavedModels; lamina's keeps its methods
(``track``, ``add_endpoint``, ``track_and_add_endpoint``, ``add_variable_collection``,
``write_out``) and writes ``format="jax"`` (a folder of ``jax.export`` programs, the
variables beside them and a loader needing only JAX) or ``format="onnx"`` (one
endpoint, through the optional ``jax2onnx``).
"""

from __future__ import annotations

import dataclasses
import os

import jax

from lamina.export.serving_loader import ServingArtifact, unflatten_inputs
from lamina.export.signature import describe_signature
from lamina.layers.layer import Layer
from lamina.state import StatelessScope, Variable
from lamina.utils.io_utils import print_msg

FORMATS = ("jax", "onnx")
# Keras's formats that need TensorFlow, OpenVINO or PyTorch, which lamina does not use.
KERAS_ONLY_FORMATS = {"tf_saved_model": "TensorFlow", "litert": "TensorFlow Lite",
                      "openvino": "OpenVINO", "torch": "PyTorch"}


def check_format(format) -> None:
    """Raises ValueError for a format lamina does not write, naming the ones it does."""
    if format in FORMATS:
        return
    supported = (f"Supported formats are {list(FORMATS)}: 'jax' (a jax.export StableHLO "
                 "artifact with a loader that needs only jax and numpy) and 'onnx' (through "
                 "jax2onnx, `pip install \"lamina[onnx]\"`).")
    if format in KERAS_ONLY_FORMATS:
        raise ValueError(f"format={format!r} needs {KERAS_ONLY_FORMATS[format]}, which lamina "
                         f"does not use. {supported}")
    raise ValueError(f"Unrecognized format={format!r}. {supported}")


@dataclasses.dataclass
class _Endpoint:
    fn: object
    inputs: dict  # the serving_loader description of the positional arguments


class ExportArchive:
    """Collects serving endpoints (functions of tracked layers' variables) and writes
    them as one artifact.

    ```python
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: model(x, training=False),
                         input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")])
    archive.write_out("path/to/folder")                 # format="jax"

    # Elsewhere, with only jax and numpy: path/to/folder/serving_loader.py
    artifact = serving_loader.load("path/to/folder")
    outputs = artifact.serve(x)
    ```
    """

    def __init__(self):
        self._tracked: list[Layer] = []
        self._endpoints: dict[str, _Endpoint] = {}
        self._collections: dict[str, list[Variable]] = {}

    def track(self, resource) -> None:
        """Tracks the variables of ``resource`` (a layer or model): endpoints read them
        as inputs of the exported programs, stored beside them. Variables an endpoint
        reads from untracked layers are baked into its program as constants."""
        if not isinstance(resource, Layer):
            raise TypeError("ExportArchive.track expects a lamina Layer or Model, received "
                            f"{type(resource).__name__}.")
        if all(resource is not tracked for tracked in self._tracked):
            self._tracked.append(resource)

    @property
    def variables(self) -> list[Variable]:
        """The tracked layers' variables (trainable first, per layer), each once."""
        found, seen = [], set()
        for layer in self._tracked:
            for var in layer.trainable_variables + layer.non_trainable_variables:
                if id(var) not in seen:
                    seen.add(id(var))
                    found.append(var)
        return found

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in self.variables if v.trainable]

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return [v for v in self.variables if not v.trainable]

    def add_endpoint(self, name, fn, input_signature=None, **kwargs):
        """Registers ``fn`` as the endpoint ``name``.

        Args:
            name: the endpoint's name, a Python identifier (the loaded artifact's
                method and the program's file name).
            fn: a function of the inputs that computes with tracked layers (e.g.
                ``model.call`` or ``lambda x: model(x, training=False)``).
            input_signature: a list with one entry per positional argument of ``fn``,
                each a structure of ``InputSpec``s, ``KerasTensor``s,
                ``jax.ShapeDtypeStruct``s or arrays; ``None`` sizes stay free in the
                exported program.

        Returns:
            ``fn``.
        """
        self._check_new_name(name, "endpoint")
        if kwargs:
            raise TypeError(f"add_endpoint got unsupported arguments {sorted(kwargs)} (Keras's "
                            "is_static and jax2tf_kwargs belong to its TensorFlow export).")
        if input_signature is None:
            raise ValueError(f"Endpoint '{name}' needs an input_signature: lamina traces fn "
                             "from it (there is no traced tf.function to read one from).")
        if not callable(fn):
            raise TypeError(f"Endpoint '{name}': fn must be callable, received "
                            f"{type(fn).__name__}.")
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, Layer):  # e.g. model.call: track its layer, as Keras does
            self.track(owner)
        self._endpoints[name] = _Endpoint(fn, describe_signature(input_signature))
        return fn

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """Tracks ``resource`` and registers its ``__call__`` as the endpoint ``name``."""
        self.track(resource)
        return self.add_endpoint(name, resource.__call__, input_signature, **kwargs)

    def add_variable_collection(self, name, variables) -> None:
        """Stores ``variables`` (a list/tuple/set of Variables) in the artifact, read
        back as the loaded artifact's attribute ``name`` (a list of arrays)."""
        self._check_new_name(name, "variable collection")
        if not isinstance(variables, (list, tuple, set)) or not all(
                isinstance(v, Variable) for v in variables):
            raise ValueError(f"Variable collection '{name}' must be a list, tuple or set of "
                             f"lamina Variables, received {variables!r}.")
        self._collections[name] = list(variables)

    def _check_new_name(self, name, what: str) -> None:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or (
                name in vars(ServingArtifact) or name in ServingArtifact.ATTRIBUTES):
            raise ValueError(f"The {what} name must be a Python identifier not starting with "
                             "'_' and not a loaded artifact's attribute "
                             f"({sorted(ServingArtifact.ATTRIBUTES)}), received {name!r}.")
        if name in self._endpoints or name in self._collections:
            raise ValueError(f"The name '{name}' is already used by an endpoint or variable "
                             "collection of this archive.")

    def stateless_endpoint(self, name):
        """The endpoint ``name`` as a pure function ``(values, seed, flat_inputs)``:
        ``values`` replace the tracked variables, random layers draw from ``seed``."""
        endpoint, variables = self._endpoints[name], self.variables

        def run(values, seed, flat_inputs):
            args = unflatten_inputs(endpoint.inputs, flat_inputs)
            with StatelessScope(list(zip(variables, values)), key=jax.random.PRNGKey(seed)):
                return endpoint.fn(*args)

        return run

    def write_out(self, filepath, options=None, verbose=True, format="jax") -> None:
        """Writes the artifact.

        Args:
            filepath: a folder for ``format="jax"``; the ``.onnx`` file for
                ``format="onnx"`` (which holds one endpoint).
            options: a dict of format options: ``{"platforms": ("cpu", "cuda")}`` for
                ``"jax"`` (the platforms the programs are lowered for; default the
                current backend's); ``{"opset_version": int, "output_names": [...]}``
                for ``"onnx"``.
            verbose: print where the artifact was written.
            format: ``"jax"`` or ``"onnx"``.
        """
        check_format(format)
        if not self._endpoints:
            raise ValueError("No endpoints have been set yet. Call add_endpoint() first.")
        options = dict(options or {})
        allowed = {"jax": {"platforms"}, "onnx": {"opset_version", "output_names"}}[format]
        if set(options) - allowed:
            raise ValueError(f"write_out options for format={format!r} are {sorted(allowed)}, "
                             f"received {sorted(options)}.")
        filepath = os.fspath(filepath)
        if format == "jax":
            from lamina.export.jax_format import write_jax_artifact

            write_jax_artifact(self, filepath, **options)
        else:
            from lamina.export.onnx_format import write_onnx_artifact

            write_onnx_artifact(self, filepath, **options)
        if verbose:
            print_msg(f"Saved artifact at '{filepath}'.")
