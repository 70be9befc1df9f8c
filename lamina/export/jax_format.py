"""Writes an ExportArchive as a ``format="jax"`` folder (layout in ``serving_loader``).

Each endpoint is ``jax.export``-ed as a function of ``(variables, seed, flat_inputs)``
with symbolic sizes for the signature's ``None`` dimensions; the variables are stored
once, beside the programs, in ``variables.npz``, so several endpoints share them and
the programs stay small.
"""

from __future__ import annotations

import io
import json
import os
import shutil

import jax
import numpy as np

from lamina.export import serving_loader
from lamina.export.signature import symbolic_specs
from lamina.saving.atomic import atomic_write, atomic_write_bytes
from lamina.user_frames import add_note_once
from lamina.version import __version__


def _storable(value) -> np.ndarray:
    """A host copy NumPy can store: dtypes it lacks (bfloat16, float8) as unsigned
    integers of the same size (the manifest records the real dtype)."""
    array = np.asarray(value)
    if array.dtype.kind == "V":
        array = array.view(f"u{array.dtype.itemsize}")
    return array


def _variable_record(var) -> dict:
    return {"path": var.path, "trainable": bool(var.trainable), "dtype": var.dtype,
            "shape": list(var.shape)}


def export_endpoint(archive, name, platforms=None) -> jax.export.Exported:
    """``jax.export`` of the archive's endpoint ``name``."""
    endpoint = archive._endpoints[name]
    variables = [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in archive.variables]
    seed = jax.ShapeDtypeStruct((), np.uint32)
    fn = jax.jit(archive.stateless_endpoint(name))
    try:
        return jax.export.export(fn, platforms=platforms)(
            variables, seed, symbolic_specs(endpoint.inputs))
    except Exception as error:  # a shape the symbolic sizes cannot satisfy, a lowering
        add_note_once(error, f"(while exporting endpoint '{name}'; input sizes left None in the "
                       "input signature are symbolic: give fixed sizes where the model "
                       "needs them)")
        raise


def write_jax_artifact(archive, path: str, platforms=None) -> None:
    """Writes the folder ``path``: programs, variables, manifest and the loader."""
    if platforms is not None:
        platforms = tuple(platforms)
    programs = {name: export_endpoint(archive, name, platforms).serialize()
                for name in archive._endpoints}
    variables = archive.variables
    arrays = {f"variables/{i}": _storable(v.value) for i, v in enumerate(variables)}
    for name, members in archive._collections.items():
        arrays.update({f"collections/{name}/{i}": _storable(v.value)
                       for i, v in enumerate(members)})
    manifest = {
        "format": serving_loader.FORMAT_NAME,
        "format_version": serving_loader.FORMAT_VERSION,
        "lamina_version": __version__,
        "jax_version": jax.__version__,
        "endpoints": {name: {"inputs": e.inputs} for name, e in archive._endpoints.items()},
        "variables": [_variable_record(v) for v in variables],
        "collections": {name: [_variable_record(v) for v in members]
                        for name, members in archive._collections.items()},
    }
    os.makedirs(path, exist_ok=True)
    for name, program in programs.items():
        atomic_write_bytes(os.path.join(path, name + serving_loader.ENDPOINT_SUFFIX), program)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(os.path.join(path, serving_loader.VARIABLES), buffer.getvalue())
    with atomic_write(os.path.join(path, "serving_loader.py")) as tmp:
        shutil.copyfile(serving_loader.__file__, tmp)
    # The manifest goes last: a folder with a manifest is complete.
    atomic_write_bytes(os.path.join(path, serving_loader.MANIFEST),
                       json.dumps(manifest, indent=1).encode("utf-8"))
