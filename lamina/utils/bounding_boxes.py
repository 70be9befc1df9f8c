"""Bounding-box utilities, as ``keras.utils.bounding_boxes``: format conversion,
clipping, cropping and padding, affine maps, anchor deltas and IoU measures.

Boxes are arrays whose last dimension holds the four coordinates of one box, in one
of Keras's formats (case-insensitive): ``xyxy`` (left, top, right, bottom),
``yxyx``, ``xywh`` (left, top, width, height), ``center_xywh``, ``center_yxhw``, and
the relative forms ``rel_xyxy``, ``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh``
(fractions of the image width and height). Everything is ``jax.numpy``, so the
functions also run inside compiled steps; results are JAX arrays.

Where Keras accepts only ``xyxy`` (``affine_transform``, ``crop``, ``pad``) or only
``xyxy``/``rel_xyxy`` (``clip_to_image_size``), lamina converts other formats to
those and back; ``compute_ciou`` also accepts relative formats with an
``image_shape``.

The arithmetic of the affine map, the anchor deltas and the IoU measures is one
compiled program (``jax.jit``) per shape; conversions and clipping run op by op.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from lamina import backend
from lamina.layers.preprocessing.image import boxes as box_lib

_CENTER_FORMATS = ("center_xywh", "center_yxhw")


def _format(name, argument: str) -> str:
    if not isinstance(name, str) or name.lower() not in box_lib.FORMATS:
        raise ValueError(f"`{argument}` must be one of {box_lib.FORMATS}. Received: "
                         f"{argument}={name!r}")
    return name.lower()


def _boxes(boxes, dtype="float32"):
    boxes = jnp.asarray(boxes, dtype)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError("`boxes` must be an array whose last dimension is 4 (one box). "
                         f"Received: boxes.shape={boxes.shape}")
    return boxes


def _image_size(image_shape, function: str):
    """(height, width) from ``image_shape`` ``(height, width[, channels])`` or Nones."""
    if image_shape is None:
        return None, None
    if len(image_shape) not in (2, 3):
        raise ValueError(f"{function}: `image_shape` must be (height, width, channels). "
                         f"Received: image_shape={image_shape!r}")
    return image_shape[0], image_shape[1]


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Boxes converted from format ``source`` to format ``target``.

    Args:
        boxes: array ``(..., 4)``, or a dict whose ``"boxes"`` entry is one (the result
            is then a new dict with the converted boxes and the other entries).
        source: the format of ``boxes``.
        target: the format to convert to.
        height: image height, needed when a format is relative.
        width: image width, likewise.
        dtype: the dtype of the result (``boxes`` are cast to it first).

    Returns:
        The converted boxes (or dict).
    """
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height,
                                                 width, dtype)}
    boxes = _boxes(boxes, dtype)
    source, target = _format(source, "source"), _format(target, "target")
    if (source.startswith("rel_") or target.startswith("rel_")) and (
            height is None or width is None):
        raise ValueError("convert_format() needs `height` and `width` when a format is "
                         f"relative. Received: source={source!r}, target={target!r}, "
                         f"height={height}, width={width}")
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    if source == target:
        return boxes
    if height is not None:
        height, width = jnp.asarray(height, dtype), jnp.asarray(width, dtype)
    return box_lib.from_xyxy(box_lib.to_xyxy(boxes, source, height, width), target, height,
                             width)


def _clip_xyxy(xyxy, labels, height, width):
    """Boxes clipped to ``[0, width] x [0, height]`` and labels set to -1 where no area
    is left (labels may be None)."""
    kept = jnp.zeros(xyxy.shape[:-1], "int32") if labels is None else labels
    clipped, kept = box_lib.clip(xyxy, kept, height, width)
    return clipped, None if labels is None else kept


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes clipped to the image; a box left without area gets label -1.

    Args:
        bounding_boxes: a dict with ``"boxes"`` ``(..., N, 4)`` and optionally
            ``"labels"`` ``(..., N)``.
        height: image height (needed for absolute formats).
        width: image width (needed for absolute formats).
        bounding_box_format: the boxes' format; relative boxes are clipped to
            ``[0, 1]``.

    Returns:
        A new dict with the clipped boxes (in the same format) and updated labels.
    """
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise TypeError("clip_to_image_size() expects a dict with 'boxes' (and optionally "
                        f"'labels'). Received: {type(bounding_boxes).__name__}")
    box_format = _format(bounding_box_format, "bounding_box_format")
    boxes = jnp.asarray(bounding_boxes["boxes"])
    relative = box_format.startswith("rel_")
    if not relative and (height is None or width is None):
        raise ValueError(f"clip_to_image_size() needs `height` and `width` for the absolute "
                         f"format {box_format!r}. Received: height={height}, width={width}")
    # Relative boxes are clipped to [0, 1] in rel_xyxy (a unit image size).
    corners, size = ("rel_xyxy", (1, 1)) if relative else ("xyxy", (height, width))
    xyxy = boxes if box_format == corners else convert_format(
        boxes, box_format, corners, *size, dtype=boxes.dtype)
    labels = bounding_boxes.get("labels")
    clipped, labels = _clip_xyxy(xyxy, None if labels is None else jnp.asarray(labels), *size)
    result = dict(bounding_boxes)
    result["boxes"] = clipped if box_format == corners else convert_format(
        clipped, corners, box_format, *size, dtype=boxes.dtype)
    if labels is not None:
        result["labels"] = labels
    return result


def _pixel_format(bounding_box_format, function: str) -> str:
    box_format = _format(bounding_box_format, "bounding_box_format")
    if box_format.startswith("rel_"):
        raise ValueError(f"{function}() works on pixel coordinates; convert relative boxes "
                         f"first with convert_format(). Received: "
                         f"bounding_box_format={bounding_box_format!r}")
    return box_format


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the coordinates of the crop ``height`` x ``width`` whose top-left
    corner is at ``(top, left)`` of the image, clipped to the crop.

    Returns:
        The boxes, in ``bounding_box_format`` (an absolute format).
    """
    box_format = _pixel_format(bounding_box_format, "crop")
    xyxy = convert_format(boxes, box_format, "xyxy")
    shifted = xyxy - jnp.stack([left, top, left, top]).astype(xyxy.dtype)
    clipped, _ = _clip_xyxy(shifted, None, height, width)
    return convert_format(clipped, "xyxy", box_format)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes moved by the padding ``top`` and ``left`` added to the image.

    ``height`` and ``width`` (the padded image's size) are accepted as in Keras and
    not needed.

    Returns:
        The boxes, in ``bounding_box_format`` (an absolute format).
    """
    box_format = _pixel_format(bounding_box_format, "pad")
    xyxy = convert_format(boxes, box_format, "xyxy")
    moved = xyxy + jnp.stack([left, top, left, top]).astype(xyxy.dtype)
    return convert_format(moved, "xyxy", box_format)


def _per_image(value, batch: int):
    """A transform parameter as a ``(batch,)`` float32 array (scalars broadcast)."""
    value = jnp.asarray(value, "float32")
    if value.ndim > 1 or (value.ndim == 1 and value.shape[0] not in (1, batch)):
        raise ValueError(f"affine_transform(): each transform parameter must be a scalar or "
                         f"have one value per image ({batch}). Received shape {value.shape}")
    return jnp.broadcast_to(value, (batch,))


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y,
                     height, width, center_x=None, center_y=None,
                     bounding_box_format="xyxy"):
    """Boxes moved by an affine map of the image (Keras's convention): the bounding box
    of each box's four mapped corners, not clipped.

    With ``c`` the centre ``(center_x * (width - 1), center_y * (height - 1))``
    (default: the middle) and ``t`` ``(translate_x * (width - 1), translate_y *
    (height - 1))``, a point ``p`` goes to ``c + scale * A @ (p - c + t)``. ``A`` is
    Keras's rotation-shear matrix: with ``a = angle``, ``v = shear_y`` (radians) and
    ``h = tan(shear_x)``, its rows are ``(cos a + s h, sin a + k h)`` and ``(-s, k)``,
    where ``k = cos(v - a) / cos v`` and ``s = sin(a - v) / cos v`` (a rotation by
    ``-angle`` when there is no shear).

    Args:
        boxes: ``(batch, N, 4)`` or ``(N, 4)``.
        angle, translate_x, translate_y, scale, shear_x, shear_y: scalars or one value
            per image ``(batch,)``.
        height, width: the image size.
        center_x, center_y: the centre as fractions of the size (default 0.5).
        bounding_box_format: the boxes' format.

    Returns:
        The boxes, shaped and formatted like ``boxes``.
    """
    box_format = _format(bounding_box_format, "bounding_box_format")
    xyxy = convert_format(boxes, box_format, "xyxy", height, width)
    batched = xyxy.ndim == 3
    if xyxy.ndim not in (2, 3):
        raise ValueError("affine_transform() expects boxes of shape (batch, N, 4) or (N, 4). "
                         f"Received: boxes.shape={xyxy.shape}")
    if not batched:
        xyxy = xyxy[None]
    batch = xyxy.shape[0]
    params = [_per_image(v, batch) for v in (
        angle, translate_x, translate_y, scale, shear_x, shear_y,
        0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y)]
    moved = _affine_corners(xyxy, *params, jnp.float32(height), jnp.float32(width))
    if not batched:
        moved = moved[0]
    return convert_format(moved, "xyxy", box_format, height, width)


@jax.jit
def _affine_corners(xyxy, angle, translate_x, translate_y, scale, shear_x, shear_y,
                    center_x, center_y, height, width):
    theta, shear_v = jnp.deg2rad(angle), jnp.deg2rad(shear_y)
    tan_h = jnp.tan(jnp.deg2rad(shear_x))
    cos_part = jnp.cos(shear_v - theta) / jnp.cos(shear_v)
    sin_part = jnp.sin(theta - shear_v) / jnp.cos(shear_v)
    rows = [[jnp.cos(theta) + sin_part * tan_h, jnp.sin(theta) + cos_part * tan_h],
            [-sin_part, cos_part]]
    linear = scale[:, None, None] * jnp.stack([jnp.stack(r, axis=-1) for r in rows], axis=-2)
    center = jnp.stack([center_x * (width - 1), center_y * (height - 1)], axis=-1)
    shift = jnp.stack([translate_x * (width - 1), translate_y * (height - 1)], axis=-1)
    offset = center - jnp.einsum("bij,bj->bi", linear, center - shift)
    # map_corners works on pixel centres (a half-pixel shift each way); this map acts
    # on the coordinates themselves, so its offset absorbs the shift.
    offset = offset + jnp.einsum("bij,j->bi", linear, jnp.full(2, 0.5)) - 0.5
    forward = jnp.concatenate([
        jnp.concatenate([linear, offset[:, :, None]], axis=-1),
        jnp.broadcast_to(jnp.array([[0.0, 0.0, 1.0]]), (xyxy.shape[0], 1, 3))], axis=1)
    return box_lib.map_corners(xyxy, forward)


def _variance(variance):
    if variance is None:
        return None
    variance = jnp.asarray(variance, "float32")
    if variance.shape[-1:] != (4,):
        raise ValueError(f"`variance` must hold 4 values. Received: variance={variance}")
    return variance


def _center_format(name, argument: str) -> str:
    if name not in _CENTER_FORMATS:
        raise ValueError(f"`{argument}` must be one of {_CENTER_FORMATS}. Received: "
                         f"{argument}={name!r}")
    return name


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format,
                         encoding_format="center_yxhw", variance=None, image_shape=None):
    """The offsets of ``boxes`` from ``anchors``, as a detector's regression head
    predicts them: centre offsets in anchor sizes, then log size ratios.

    Args:
        anchors: ``(N, 4)`` anchor boxes in ``anchor_format``.
        boxes: ``(N, 4)`` or ``(batch, N, 4)`` boxes in ``box_format``.
        encoding_format: ``"center_yxhw"`` (default) or ``"center_xywh"``: the order
            of the deltas.
        variance: optional 4 values the deltas are divided by.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        Deltas shaped like ``boxes``.
    """
    variance = _variance(variance)
    encoding_format = _center_format(encoding_format, "encoding_format")
    height, width = _image_size(image_shape, "encode_box_to_deltas()")
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    return _deltas(anchors, boxes, variance, backend.epsilon())


@jax.jit
def _deltas(anchors, boxes, variance, eps):
    anchor_size = jnp.maximum(anchors[..., 2:], eps)
    box_size = jnp.maximum(boxes[..., 2:], eps)
    deltas = jnp.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              jnp.log(box_size / anchor_size)], axis=-1)
    return deltas if variance is None else deltas / variance


@jax.jit
def _apply_deltas(anchors, deltas, variance):
    if variance is not None:
        deltas = deltas * variance
    size = anchors[..., 2:]
    return jnp.concatenate([deltas[..., :2] * size + anchors[..., :2],
                            jnp.exp(deltas[..., 2:]) * size], axis=-1)


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format,
                           encoded_format="center_yxhw", variance=None, image_shape=None):
    """Boxes from deltas relative to anchors (the inverse of
    :func:`encode_box_to_deltas`).

    Args:
        anchors: ``(N, 4)`` anchors in ``anchor_format``, or a dict of them by feature
            level.
        boxes_delta: ``(N, 4)`` or ``(batch, N, 4)`` deltas in ``encoded_format``
            order, or a dict with the same keys as ``anchors``.
        box_format: the format of the returned boxes.
        encoded_format: ``"center_yxhw"`` (default) or ``"center_xywh"``.
        variance: optional 4 values the deltas are multiplied by.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        Boxes shaped like ``boxes_delta`` (a dict for dict inputs).
    """
    variance = _variance(variance)
    encoded_format = _center_format(encoded_format, "encoded_format")
    height, width = _image_size(image_shape, "decode_deltas_to_boxes()")

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        boxes = _apply_deltas(anchor, jnp.asarray(delta, "float32"), variance)
        return convert_format(boxes, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def _as_xyxy(boxes, bounding_box_format, image_shape, function: str):
    box_format = _format(bounding_box_format, "bounding_box_format")
    if box_format.startswith("rel_") and image_shape is None:
        raise ValueError(f"{function}() needs `image_shape` for the relative format "
                         f"{box_format!r}. Received: image_shape=None")
    height, width = _image_size(image_shape, f"{function}()")
    return convert_format(boxes, box_format, "xyxy", height, width)


def _area(xyxy):
    return (xyxy[..., 2] - xyxy[..., 0]) * (xyxy[..., 3] - xyxy[..., 1])


def _intersection(a, b):
    """The overlap area of boxes ``a`` and ``b`` (xyxy, broadcast together)."""
    overlap = jnp.minimum(a[..., 2:], b[..., 2:]) - jnp.maximum(a[..., :2], b[..., :2])
    overlap = jnp.maximum(overlap, 0)
    return overlap[..., 0] * overlap[..., 1]


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1,
                image_shape=None):
    """Pairwise intersection over union of two sets of boxes.

    Args:
        boxes1: ``(M, 4)`` or ``(batch, M, 4)``.
        boxes2: ``(N, 4)`` or ``(batch, N, 4)``.
        bounding_box_format: the format of both.
        use_masking: give ``mask_val`` to pairs where either box has all four
            coordinates negative (padding boxes).
        mask_val: the value of masked pairs.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        ``(M, N)``, or ``(batch, M, N)`` when either input is batched.
    """
    for name, value in (("boxes1", boxes1), ("boxes2", boxes2)):
        if jnp.ndim(value) not in (2, 3):
            raise ValueError(f"compute_iou() expects {name} of shape (N, 4) or (batch, N, 4). "
                             f"Received: {name}.shape={jnp.shape(value)}")
    a = _as_xyxy(boxes1, bounding_box_format, image_shape, "compute_iou")
    b = _as_xyxy(boxes2, bounding_box_format, image_shape, "compute_iou")
    return _iou_table(a, b, mask_val if use_masking else None, backend.epsilon())


@jax.jit
def _iou_table(a, b, mask_val, eps):
    a, b = a[..., :, None, :], b[..., None, :, :]
    intersection = _intersection(a, b)
    iou = intersection / (_area(a) + _area(b) - intersection + eps)
    if mask_val is None:
        return iou
    padding = (jnp.max(a, axis=-1) < 0) | (jnp.max(b, axis=-1) < 0)
    return jnp.where(padding, jnp.asarray(mask_val, iou.dtype), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of corresponding boxes: IoU minus the squared distance of the
    centres over the squared diagonal of the enclosing box, minus an aspect-ratio
    term (Zheng et al., 2020).

    Args:
        boxes1, boxes2: ``(..., 4)`` arrays that broadcast together.
        bounding_box_format: the format of both.
        image_shape: ``(height, width, channels)``, needed for relative formats.

    Returns:
        The CIoU of each pair, shaped like the broadcast boxes without the last axis.
    """
    a = _as_xyxy(boxes1, bounding_box_format, image_shape, "compute_ciou")
    b = _as_xyxy(boxes2, bounding_box_format, image_shape, "compute_ciou")
    return _ciou(a, b, backend.epsilon())


@jax.jit
def _ciou(a, b, eps):
    width_a, height_a = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1] + eps
    width_b, height_b = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1] + eps
    intersection = _intersection(a, b)
    union = width_a * height_a + width_b * height_b - intersection + eps
    iou = intersection / (union + eps)
    enclosing = jnp.maximum(a[..., 2:], b[..., 2:]) - jnp.minimum(a[..., :2], b[..., :2])
    diagonal = jnp.sum(enclosing ** 2, axis=-1) + eps
    centre_gap = ((a[..., :2] + a[..., 2:]) / 2 - (b[..., :2] + b[..., 2:]) / 2)
    distance = jnp.sum(centre_gap ** 2, axis=-1)
    aspect = (4 / math.pi ** 2) * (jnp.arctan(width_b / height_b)
                                   - jnp.arctan(width_a / height_a)) ** 2
    alpha = aspect / (aspect - iou + (1 + eps))
    return iou - (distance / diagonal + aspect * alpha)
