"""``TensorBoard``: writes logs that the ``tensorboard`` program shows
(``keras.callbacks.TensorBoard``).

Event files go to ``log_dir/train`` and ``log_dir/validation`` with Keras's tags:
``epoch_<metric>`` per epoch (validation metrics without their ``val_`` prefix, in
the validation folder; ``epoch_learning_rate`` and, on request,
``epoch_steps_per_second`` with the training ones), ``batch_<metric>`` every
``update_freq`` batches, ``evaluation_<metric>_vs_iterations`` after each evaluation
(at the optimizer's iteration count), weight histograms
``<weight path>/histogram`` every ``histogram_freq`` epochs (and images
``<weight path>/image`` with ``write_images``), and the model's config as the
``keras`` summary that TensorBoard's graph tab draws. ``profile_batch`` records a
``jax.profiler`` trace of those training batches into ``log_dir/train``.

The events are written with the ``tensorboard`` package's own writer, an optional
dependency: ``pip install 'lamina[tensorboard]'``.
"""

from __future__ import annotations

import os
import struct
import time
import warnings
import zlib

import numpy as np

from lamina.callbacks.callback import Callback

HISTOGRAM_BUCKETS = 30  # as tf.summary.histogram


def _tensorboard_modules():
    try:
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError("The TensorBoard callback writes event files with the `tensorboard` "
                          "package: pip install 'lamina[tensorboard]' (or `tensorboard`).") from e
    return summary_pb2, tensor_pb2, tensor_shape_pb2, Event, EventFileWriter


def _png(image: np.ndarray) -> bytes:
    """A PNG file of an 8-bit (height, width, channels) image, channels 1, 3 or 4."""
    height, width, channels = image.shape
    colour = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


class _SummaryWriter:
    """Scalars, histograms, images and tensors as events in one folder."""

    def __init__(self, logdir: str):
        (self._summary, self._tensor, self._shape, self._event,
         writer_class) = _tensorboard_modules()
        os.makedirs(logdir, exist_ok=True)
        self._writer = writer_class(logdir)

    def _write(self, value, step: int) -> None:
        summary = self._summary.Summary(value=[value])
        self._writer.add_event(self._event(wall_time=time.time(), step=int(step),
                                           summary=summary))

    def scalar(self, tag: str, value, step: int) -> None:
        self._write(self._summary.Summary.Value(tag=tag, simple_value=float(value)), step)

    def histogram(self, tag: str, values, step: int) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            lo = hi = 0.0
            limits, counts = [0.0], [0.0]
        else:
            lo, hi = float(values.min()), float(values.max())
            if lo == hi:
                limits, counts = [hi], [float(values.size)]
            else:
                counts, edges = np.histogram(values, bins=HISTOGRAM_BUCKETS, range=(lo, hi))
                limits, counts = edges[1:].tolist(), counts.astype(float).tolist()
        proto = self._summary.HistogramProto(
            min=lo, max=hi, num=float(values.size), sum=float(values.sum()),
            sum_squares=float(np.square(values).sum()), bucket_limit=limits, bucket=counts)
        self._write(self._summary.Summary.Value(tag=tag, histo=proto), step)

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        """``image``: (height, width, channels) floats, scaled to the full 8-bit range."""
        lo, hi = float(image.min()), float(image.max())
        scaled = np.zeros(image.shape) if hi == lo else (image - lo) / (hi - lo)
        pixels = np.round(scaled * 255).astype(np.uint8)
        proto = self._summary.Summary.Image(height=image.shape[0], width=image.shape[1],
                                            colorspace=image.shape[2],
                                            encoded_image_string=_png(pixels))
        self._write(self._summary.Summary.Value(tag=tag, image=proto), step)

    def text_tensor(self, tag: str, text: str, plugin: str, content: bytes, step: int) -> None:
        """A string tensor summary for TensorBoard plugin ``plugin``."""
        metadata = self._summary.SummaryMetadata(
            plugin_data=self._summary.SummaryMetadata.PluginData(plugin_name=plugin,
                                                                 content=content))
        tensor = self._tensor.TensorProto(dtype=7,  # DT_STRING
                                          tensor_shape=self._shape.TensorShapeProto(),
                                          string_val=[text.encode("utf-8")])
        self._write(self._summary.Summary.Value(tag=tag, metadata=metadata, tensor=tensor), step)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


def _profile_range(profile_batch) -> tuple[int, int]:
    message = ("profile_batch must be a non-negative integer or a 2-tuple of positive integers "
               "(or a string 'start,stop'): the range of batches to profile. "
               f"Received: {profile_batch!r}")
    if isinstance(profile_batch, str):
        try:
            profile_batch = [int(part) for part in profile_batch.split(",")]
        except ValueError:
            raise ValueError(message) from None
    if isinstance(profile_batch, (int, np.integer)) and not isinstance(profile_batch, bool):
        start = stop = int(profile_batch)
    elif isinstance(profile_batch, (list, tuple)) and len(profile_batch) == 2:
        start, stop = (int(b) for b in profile_batch)
    else:
        raise ValueError(message)
    if start < 0 or stop < start:
        raise ValueError(message)
    return start, stop


def _weight_image(value: np.ndarray) -> list:
    """A weight as (height, width, 1) images the way Keras shows them: a bias as one
    row, a kernel with its longer side across, a 1-D convolution kernel as one image
    per input channel; others are not drawn."""
    w = np.squeeze(value)
    if w.ndim == 1:
        return [w.reshape(1, -1, 1)]
    if w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        return [w[:, :, None]]
    if w.ndim == 3:
        return [w[:, :, i][:, :, None] for i in range(w.shape[2])][:3]
    return []


class TensorBoard(Callback):
    """Writes training curves, weight histograms and the model graph for TensorBoard.

    Args:
        log_dir: the folder for the logs (``train`` and ``validation`` below it).
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model's config (TensorBoard's graph tab draws it).
        write_images: with histograms, also write weights as images.
        write_steps_per_second: also log training steps per second.
        update_freq: ``"epoch"``; ``"batch"`` or N: also log batch metrics every N
            training batches (``batch_<metric>``).
        profile_batch: a batch number or a ``(start, stop)`` range of training batches
            (counted from 1 across epochs) to trace with ``jax.profiler``; 0: none.
        embeddings_freq: must be 0 (the embedding projector is not implemented).
        embeddings_metadata: ignored unless ``embeddings_freq`` is set.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if embeddings_freq:
            raise NotImplementedError("TensorBoard(embeddings_freq=...) (the embedding "
                                      "projector) is not implemented in lamina; pass "
                                      "embeddings_freq=0.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int)
                                           and not isinstance(update_freq, bool)
                                           and update_freq > 0):
            raise ValueError("update_freq must be 'epoch', 'batch' or a positive integer; "
                             f"received {update_freq!r}.")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError("histogram_freq must be a non-negative integer; received "
                             f"{histogram_freq!r}.")
        self.log_dir = str(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict = {}
        self._global_train_batch = 0
        self._epoch_first_batch = 0
        self._last_batch_write = 0
        self._batch_start_time = 0.0
        self._epoch_start = (0.0, 0)
        self._training = False
        self._evaluated_this_epoch = False
        self._tracing = False
        self._trace_annotation = None

    # ---- writers ------------------------------------------------------------------

    def _writer(self, which: str) -> _SummaryWriter:
        if which not in self._writers:
            self._writers[which] = _SummaryWriter(
                self._train_dir if which == "train" else self._val_dir)
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model) -> None:
        super().set_model(model)
        self._close_writers()  # new event files for each run, as Keras
        if self.write_graph:
            self._write_model_config()

    def _write_model_config(self) -> None:
        from lamina.models.functional import Functional

        model = self._model
        if not isinstance(model, Functional):
            return  # as Keras: only functional and Sequential models have a config graph
        try:
            config = model.to_json()
        except Exception as e:  # a config that does not serialize must not stop training
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}")
            return
        writer = self._writer("train")
        writer.text_tensor("keras", config, "graph_keras_model", b"1", step=0)
        writer.flush()

    # ---- which hooks matter -------------------------------------------------------

    def _profiling_pending(self) -> bool:
        return bool(self._stop_batch) and self._global_train_batch < self._stop_batch

    def _needs_batch_hooks(self, mode: str) -> bool:
        if mode != "train":
            return False
        return self.update_freq != "epoch" or self._profiling_pending()

    # ---- hooks --------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._training = True
        self._global_train_batch = 0
        self._epoch_first_batch = 0
        self._last_batch_write = 0

    def on_train_end(self, logs=None) -> None:
        self._training = False
        if self._tracing:
            self._stop_trace()
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._evaluated_this_epoch = False
        self._epoch_first_batch = self._global_train_batch
        if self.write_steps_per_second:
            self._epoch_start = (time.time(), self._iterations())

    def on_train_batch_begin(self, batch, logs=None) -> None:
        step = self._epoch_first_batch + batch + 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()
        if self._stop_batch and not self._tracing and self._start_batch <= step <= \
                self._stop_batch:
            self._start_trace()
        if self._tracing:
            import jax

            self._trace_annotation = jax.profiler.TraceAnnotation(f"Profiled batch {batch}")
            self._trace_annotation.__enter__()

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._global_train_batch = self._epoch_first_batch + batch + 1
        step = self._global_train_batch
        if self._trace_annotation is not None:
            self._trace_annotation.__exit__(None, None, None)
            self._trace_annotation = None
        if self._tracing and step >= self._stop_batch:
            self._stop_trace()
        if self.update_freq == "epoch":
            return
        # Fused batches report once for several: write when a multiple of update_freq
        # was reached since the last write.
        if step // self.update_freq <= self._last_batch_write // self.update_freq:
            return
        self._last_batch_write = step
        writer = self._writer("train")
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            if elapsed > 0:
                writer.scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.scalar(f"batch_{name}", value, step)

    def on_test_begin(self, logs=None) -> None:
        self._evaluated_this_epoch = True

    def on_test_end(self, logs=None) -> None:
        self._write_evaluation(logs or {})
        if not self._training:
            self._close_writers()

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = dict(logs or {})
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val_logs and not self._evaluated_this_epoch:
            # The validation loop ran without calling this callback's test hooks.
            self._write_evaluation(val_logs)
        train_logs.update(self._learning_rates())
        if self.write_steps_per_second:
            seconds = time.time() - self._epoch_start[0]
            if seconds > 0:
                train_logs["steps_per_second"] = (
                    self._iterations() - self._epoch_start[1]) / seconds
        writer = self._writer("train")
        for name, value in train_logs.items():
            writer.scalar(f"epoch_{name}", value, epoch)
        if val_logs:
            val_writer = self._writer("validation")
            for name, value in val_logs.items():
                val_writer.scalar(f"epoch_{name}", value, epoch)
            val_writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(writer, epoch)
        writer.flush()

    # ---- pieces -------------------------------------------------------------------

    def _optimizer(self):
        from lamina.optimizers.loss_scale import LossScaleOptimizer

        optimizer = getattr(self._model, "optimizer", None)
        if isinstance(optimizer, LossScaleOptimizer):
            return optimizer.inner_optimizer
        return optimizer

    def _iterations(self) -> int:
        optimizer = self._optimizer()
        return 0 if optimizer is None else int(optimizer.iterations)

    def _learning_rates(self) -> dict:
        from lamina.optimizers.multi_optimizer import MultiOptimizer

        optimizer = self._optimizer()
        if optimizer is None:
            return {}
        if isinstance(optimizer, MultiOptimizer):
            return {f"learning_rate_{opt.name}": float(np.asarray(opt.learning_rate))
                    for opt in optimizer.optimizers}
        return {"learning_rate": float(np.asarray(optimizer.learning_rate))}

    def _write_evaluation(self, logs: dict) -> None:
        if self._optimizer() is None:
            return
        step = self._iterations()
        writer = self._writer("validation")
        for name, value in logs.items():
            if np.ndim(value) == 0:
                writer.scalar(f"evaluation_{name}_vs_iterations", value, step)
        writer.flush()

    def _write_weights(self, writer: _SummaryWriter, epoch: int) -> None:
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                value = np.asarray(weight.value)
                writer.histogram(f"{name}/histogram", value, epoch)
                if self.write_images:
                    images = _weight_image(value)
                    for i, image in enumerate(images):
                        tag = f"{name}/image" if len(images) == 1 else f"{name}/image/{i}"
                        writer.image(tag, image, epoch)

    def _start_trace(self) -> None:
        import jax

        os.makedirs(self._train_dir, exist_ok=True)
        jax.profiler.start_trace(self._train_dir)
        self._tracing = True

    def _stop_trace(self) -> None:
        import jax

        jax.profiler.stop_trace()
        self._tracing = False
