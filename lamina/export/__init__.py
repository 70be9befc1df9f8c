"""Export for serving (``keras.export``): ``ExportArchive`` and ``Model.export`` write
``format="jax"`` (``jax.export`` programs plus a loader needing only jax and numpy) or
``format="onnx"`` (through the optional ``jax2onnx``)."""

from lamina.export.export_archive import ExportArchive

__all__ = ["ExportArchive"]
