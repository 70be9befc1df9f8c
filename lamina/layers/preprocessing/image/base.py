"""The base of the image preprocessing and augmentation layers.

An image layer is called on images (one image of rank 3 or a batch of rank 4, in
``channels_last`` or ``channels_first`` layout) or on a dict with ``"images"`` and
optionally ``"bounding_boxes"`` (``{"boxes", "labels"}``), ``"segmentation_masks"``
and ``"labels"``. Internally every layer works on a batch in ``channels_last``
layout and on absolute ``xyxy`` boxes; this base converts on the way in and out.

A subclass implements some of:

- ``_transformation(images, key)``: the random parameters for the batch (a pytree),
  from a ``jax.random`` key (None for deterministic layers);
- ``_images(images, t)``, ``_masks(masks, t)``, ``_boxes(boxes, labels, t, size)``,
  ``_labels(labels, t)``: the transformed parts (masks and labels unchanged and
  boxes unsupported by default);
- ``_output_size(height, width)``: the output image size (unchanged by default).

Random layers act only with ``training=True`` (the default of a direct call, as in
Keras); at inference they return their inputs, images cast to the compute dtype.
Their keys come from the current stateless scope's key folded with the layer's
identifier (``lamina.random.draw_key``). A direct (eager) call runs as one compiled
call per training flag and input signature, with a fresh key per call: for a layer
with a ``seed`` that key comes from the seed and a per-layer call count, so two layers
built with the same seed give the same sequence of results.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lamina import random as lrandom
from lamina.layers.cropping_padding import standardize_data_format
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.image import boxes as box_utils
from lamina.saving.saveable import attribute_order
from lamina.state import current_scope
from lamina.utils.naming import to_snake_case


def factor_range(factor, bounds, name: str, layer: str):
    """Keras's reading of a ``factor``: a pair gives ``sorted(pair)``, a number ``f``
    gives ``(max(-f, low), f)``; values outside ``bounds`` raise ValueError."""
    low, high = bounds
    message = (f"{layer}: the `{name}` argument should be a number (or a list of two "
               f"numbers) in the range [{low}, {high}]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > high or factor[1] < low:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < low or factor > high:
            raise ValueError(message)
        factor = abs(factor)
        return max(-factor, low), factor
    raise ValueError(message)


def symmetric_range(factor, name: str, layer: str, low=-1.0, low_inclusive=True):
    """A ``(lower, upper)`` range from a pair or from ``f`` as ``(-f, f)``; every value
    must lie in ``[low, 1]`` (``(low, 1]`` when not ``low_inclusive``)."""

    def check(value):
        below = value < low if low_inclusive else value <= low
        if not isinstance(value, (int, float)) or isinstance(value, bool) or below or value > 1:
            raise ValueError(f"{layer}: `{name}` should be a number (or a list of two numbers) "
                             f"in the range {'[' if low_inclusive else '('}{low}, 1.0]. "
                             f"Received: {name}={factor}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            check(None)
        check(factor[0])
        check(factor[1])
        lower, upper = sorted(factor)
        return lower, upper
    check(factor)
    return -abs(factor), abs(factor)


def value_range_pair(value_range, layer: str):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{layer}: the `value_range` argument should be a list of two "
                         f"numbers. Received: value_range={value_range}")
    return sorted(value_range)


def rescale(images, source, target):
    """Values mapped linearly from the range ``source`` to the range ``target``."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    unit = (images - source[0]) / (source[1] - source[0])
    return unit * (target[1] - target[0]) + target[0]


def uniform(key, shape, low, high, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, minval=low, maxval=high)


class ImageLayer(Layer):
    """Base class of the image layers (see the module docstring).

    Args:
        bounding_box_format: the format of ``"bounding_boxes"`` inputs (e.g.
            ``"xyxy"``); required when they are given.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    # Whether the layer draws random numbers, and whether it transforms at inference.
    _random = True
    _active_at_inference = False
    _supports_boxes = True

    def __init__(self, bounding_box_format=None, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = box_utils.check_format(bounding_box_format,
                                                          type(self).__name__)
        self.data_format = standardize_data_format(data_format)
        self.seed = seed
        self._seeded_draws = 0

    # -- randomness -----------------------------------------------------------
    def _seeded_key(self):
        """The next key of a seeded layer outside a keyed scope: reproducible from the
        seed alone, as Keras's seeded SeedGenerator."""
        key = jax.random.fold_in(jax.random.PRNGKey(int(self.seed)), self._seeded_draws)
        self._seeded_draws += 1
        return key

    def _next_key(self):
        scope = current_scope()
        if self.seed is not None and (scope is None or not scope.has_key):
            return self._seeded_key()
        # Seeded layers fold their seed instead of their identifier, so equal seeds
        # give equal draws.
        owner = self if self.seed is None else int(self.seed) & 0x7FFFFFFF
        return lrandom.draw_key(owner, self.seed)

    def _concrete_call(self, args, kwargs):
        if current_scope() is not None or len(args) != 1 or set(kwargs) - {"training"}:
            return super()._concrete_call(args, kwargs)
        # A direct call: one compiled call per training flag (and input signature)
        # instead of one dispatch per operation.
        training = bool(self._resolve_training(kwargs)["training"])
        (data,), _ = self._convert_inputs(args, {})
        data = jax.tree_util.tree_map(jnp.asarray, data)
        cache = self.__dict__.setdefault("_eager_calls", {})
        run = cache.get(training)
        if run is None:
            def pure(values, key):
                return self.stateless_call([], [], values, training=training, seed=key)[0]

            run = cache[training] = jax.jit(pure)
        key = self._seeded_key() if self.seed is not None else lrandom.next_key()
        return run(data, key)

    # -- the parts a subclass overrides -----------------------------------------
    def _transformation(self, images, key):
        return None

    def _images(self, images, t):
        raise NotImplementedError(f"{type(self).__name__} does not implement _images.")

    def _masks(self, masks, t):
        return masks

    def _labels(self, labels, t):
        return labels

    def _boxes(self, boxes, labels, t, size):
        return boxes, labels

    def _output_size(self, height: int, width: int):
        return height, width

    # -- calling ------------------------------------------------------------------
    def _to_nhwc(self, x, what: str):
        x = jnp.asarray(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} expects {what} of rank 3 (one image) or 4 "
                             f"(a batch). Received: shape={tuple(x.shape)}")
        batched = x.ndim == 4
        x = x if batched else x[None]
        if self.data_format == "channels_first":
            x = jnp.moveaxis(x, 1, -1)
        return x, batched

    def _from_nhwc(self, x, batched: bool):
        if self.data_format == "channels_first":
            x = jnp.moveaxis(x, -1, 1)
        return x if batched else x[0]

    def call(self, data, training=True):
        is_dict = isinstance(data, dict)
        if is_dict and "images" not in data:
            raise ValueError(f"{type(self).__name__} expects a dict input to hold 'images'. "
                             f"Received keys: {sorted(data)}")
        images, batched = self._to_nhwc(data["images"] if is_dict else data, "images")
        images = self._cast_images(images)
        active = bool(training) or self._active_at_inference
        t = None
        if active:
            key = self._next_key() if self._random else None
            t = self._transformation(images, key)
        out_images = self._from_nhwc(self._images(images, t), batched) if active else (
            self._from_nhwc(images, batched))
        if not is_dict:
            return out_images
        out = dict(data)
        out["images"] = out_images
        if not active:
            return out
        if "segmentation_masks" in data:
            masks, mask_batched = self._to_nhwc(data["segmentation_masks"],
                                                "segmentation_masks")
            out["segmentation_masks"] = self._from_nhwc(self._masks(masks, t), mask_batched)
        if "labels" in data:
            labels = jnp.asarray(data["labels"])
            labels = labels if batched else labels[None]
            labels = self._labels(labels, t)
            out["labels"] = labels if batched else labels[0]
        if "bounding_boxes" in data:
            out["bounding_boxes"] = self._call_boxes(data["bounding_boxes"], t, images.shape,
                                                     batched)
        return out

    def _cast_images(self, images):
        return images.astype(self.compute_dtype)

    def _call_boxes(self, bounding_boxes, t, shape, batched: bool):
        name = type(self).__name__
        if not self.bounding_box_format:
            raise ValueError(f"{name} received an input with a 'bounding_boxes' key but no "
                             "bounding box format: pass `bounding_box_format` (e.g. 'xyxy').")
        if not self._supports_boxes:
            raise NotImplementedError(f"{name} does not support bounding boxes (as in Keras).")
        if not isinstance(bounding_boxes, dict) or not {"boxes", "labels"} <= set(
                bounding_boxes):
            raise ValueError(f"{name} expects 'bounding_boxes' to be a dict with 'boxes' and "
                             f"'labels'. Received: {bounding_boxes!r}")
        boxes = jnp.asarray(bounding_boxes["boxes"], jnp.float32)
        labels = jnp.asarray(bounding_boxes["labels"])
        if boxes.shape[-1:] != (4,) or boxes.ndim != (3 if batched else 2):
            raise ValueError(f"{name} expects boxes of shape {'(batch, n, 4)' if batched else '(n, 4)'}"
                             f". Received: shape={tuple(boxes.shape)}")
        if not batched:
            boxes, labels = boxes[None], labels[None]
        height, width = shape[1], shape[2]
        out_h, out_w = self._output_size(height, width)
        fmt = self.bounding_box_format
        xyxy = box_utils.to_xyxy(boxes, fmt, height, width)
        xyxy, labels = self._boxes(xyxy, labels, t, (height, width))
        result = dict(bounding_boxes)
        result["boxes"] = box_utils.from_xyxy(xyxy, fmt, out_h, out_w)
        result["labels"] = labels
        if not batched:
            result["boxes"], result["labels"] = result["boxes"][0], result["labels"][0]
        return result

    def _class_named_sublayers(self) -> list:
        """The list of sublayers Keras holds as one attribute each, named after the
        sublayer's class (RandAugment's operations); weights files name them so.
        Empty by default."""
        return []

    def _saveable_children(self) -> list:
        held = self._class_named_sublayers()
        children = [(n, v) for n, v in super()._saveable_children() if v is not held]
        children += [(to_snake_case(type(layer).__name__), layer) for layer in held]
        return sorted(children, key=lambda kv: attribute_order(kv[0]))

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
