"""``Model.export``: the model's inference call as a one-endpoint ExportArchive."""

from __future__ import annotations

from lamina.export.export_archive import ExportArchive, check_format
from lamina.export.signature import model_signature
from lamina.models.functional import Functional

DEFAULT_ENDPOINT_NAME = "serve"
_FORMAT_OPTIONS = {"jax": ("platforms",), "onnx": ("opset_version",)}


def export_model(model, filepath, format="jax", verbose=None, input_signature=None,
                 **kwargs) -> None:
    """Writes ``model``'s inference call (``training=False``) as an artifact.

    Args:
        model: a built model.
        filepath: the artifact folder (``"jax"``) or ``.onnx`` file (``"onnx"``).
        format: ``"jax"`` (``jax.export`` programs, the weights beside them in
            ``variables.npz``, and ``serving_loader.py``, which needs only jax and
            numpy) or ``"onnx"`` (through the optional ``jax2onnx``). Keras's
            TensorFlow, OpenVINO, LiteRT and PyTorch formats raise ValueError.
        verbose: print where the artifact was written (None: True, as Keras).
        input_signature: a list with one entry per positional argument of the call,
            each a structure of ``InputSpec``s, ``KerasTensor``s,
            ``jax.ShapeDtypeStruct``s or arrays (default: the model's inputs with a
            free batch size).
        **kwargs: ``platforms`` (``"jax"``: the platforms to lower for, e.g.
            ``("cpu", "cuda")``; default the current backend's) or ``opset_version``
            (``"onnx"``).
    """
    check_format(format)
    unknown = set(kwargs) - set(_FORMAT_OPTIONS[format])
    if unknown:
        raise TypeError(f"model.export(format={format!r}) got unsupported arguments "
                        f"{sorted(unknown)}; it accepts {list(_FORMAT_OPTIONS[format])}.")
    if input_signature is None:
        input_signature = model_signature(model)
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint(DEFAULT_ENDPOINT_NAME,
                         lambda *args: model(*args, training=False), input_signature)
    options = dict(kwargs)
    if format == "onnx" and isinstance(model, Functional):
        names = model.output_names
        if len(set(names)) == len(names):  # ONNX outputs named after the output layers
            options["output_names"] = names
    archive.write_out(filepath, options=options, verbose=True if verbose is None else verbose,
                      format=format)
