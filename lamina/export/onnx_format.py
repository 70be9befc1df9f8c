"""Writes an ExportArchive's endpoint as an ONNX file through ``jax2onnx`` (optional).

The variables' current values are baked into the graph as initializers; ``None``
sizes of the input signature become named dynamic dimensions (``batch`` for the
first axis, ``dim_<input>_<axis>`` otherwise, as Keras names them).
"""

from __future__ import annotations

import functools
import importlib
import os

from lamina.export.signature import input_names, named_specs
from lamina.user_frames import add_note_once


def _jax2onnx():
    try:
        return importlib.import_module("jax2onnx")
    except ImportError:
        raise ImportError("format='onnx' needs the jax2onnx package: "
                          "`pip install \"lamina[onnx]\"` (jax2onnx and onnxruntime).") from None


def write_onnx_artifact(archive, path: str, opset_version=None, output_names=None) -> None:
    """Converts the archive's one endpoint to the ONNX file ``path``."""
    if len(archive._endpoints) != 1:
        raise ValueError("An ONNX file holds one graph, but the archive has "
                         f"{len(archive._endpoints)} endpoints "
                         f"({sorted(archive._endpoints)}): write each with its own archive, "
                         "or use format='jax', which keeps several endpoints.")
    if archive._collections:
        raise ValueError("format='onnx' cannot store variable collections "
                         f"({sorted(archive._collections)}); use format='jax'.")
    jax2onnx = _jax2onnx()
    (name, endpoint), = archive._endpoints.items()
    values = [v.value for v in archive.variables]
    run = functools.partial(archive.stateless_endpoint(name), values, 0)
    kwargs = {"input_names": input_names(endpoint.inputs), "return_mode": "file",
              "output_path": os.fspath(path), "model_name": name}
    if opset_version is not None:
        kwargs["opset"] = int(opset_version)
    if output_names is not None:
        kwargs["output_names"] = list(output_names)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        jax2onnx.to_onnx(lambda *flat: run(list(flat)), inputs=named_specs(endpoint.inputs),
                         **kwargs)
    except Exception as error:  # an operation jax2onnx cannot convert (e.g. a reverse scan)
        add_note_once(error, f"(jax2onnx could not convert endpoint '{name}' to ONNX; "
                             "format='jax' exports any model lamina runs)")
        raise
