"""Bounding boxes for the image layers: format conversion to and from absolute
``xyxy`` (left, top, right, bottom in pixels), clipping to the image, and corner
mapping through projective transforms.

Formats are Keras's: ``xyxy``, ``yxyx``, ``xywh``, ``center_xywh``, ``center_yxhw``
and the relative (``rel_``) forms of ``xyxy``, ``yxyx``, ``xywh``, ``center_xywh``,
whose coordinates are fractions of the image width and height.
"""

from __future__ import annotations

import jax.numpy as jnp

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
           "rel_xywh", "rel_center_xywh")


def check_format(bounding_box_format, layer_name: str):
    if bounding_box_format is None:
        return None
    if str(bounding_box_format).lower() not in FORMATS:
        raise ValueError(f"{layer_name}: `bounding_box_format` must be one of {FORMATS}. "
                         f"Received: bounding_box_format={bounding_box_format!r}")
    return bounding_box_format


def _split(boxes):
    return [boxes[..., i] for i in range(4)]


def to_xyxy(boxes, source: str, height, width):
    """Absolute ``xyxy`` boxes from boxes in ``source`` format on an image of
    ``height`` x ``width``."""
    source = source.lower()
    a, b, c, d = _split(boxes)
    relative = source.startswith("rel_")
    base = source[4:] if relative else source
    if base == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif base == "yxyx":
        y1, x1, y2, x2 = a, b, c, d
    elif base == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    elif base == "center_xywh":
        x1, y1, x2, y2 = a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    else:  # center_yxhw
        x1, y1, x2, y2 = b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0
    if relative:
        x1, x2, y1, y2 = x1 * width, x2 * width, y1 * height, y2 * height
    return jnp.stack([x1, y1, x2, y2], axis=-1)


def from_xyxy(boxes, target: str, height, width):
    """Boxes in ``target`` format from absolute ``xyxy`` boxes on an image of
    ``height`` x ``width``."""
    target = target.lower()
    x1, y1, x2, y2 = _split(boxes)
    if target.startswith("rel_"):
        x1, x2, y1, y2 = x1 / width, x2 / width, y1 / height, y2 / height
        target = target[4:]
    if target == "xyxy":
        parts = (x1, y1, x2, y2)
    elif target == "yxyx":
        parts = (y1, x1, y2, x2)
    elif target == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    elif target == "center_xywh":
        parts = ((x1 + x2) / 2.0, (y1 + y2) / 2.0, x2 - x1, y2 - y1)
    else:  # center_yxhw
        parts = ((y1 + y2) / 2.0, (x1 + x2) / 2.0, y2 - y1, x2 - x1)
    return jnp.stack(parts, axis=-1)


def clip(boxes, labels, height, width):
    """Boxes clipped to the image; boxes left with no area get label -1, as Keras."""
    x1, y1, x2, y2 = _split(boxes)
    boxes = jnp.stack([jnp.clip(x1, 0, width), jnp.clip(y1, 0, height),
                       jnp.clip(x2, 0, width), jnp.clip(y2, 0, height)], axis=-1)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes, jnp.where(area > 0, labels, -1).astype(labels.dtype)


def map_corners(boxes, forward):
    """Boxes ``(batch, n, 4)`` mapped through per-image projective maps ``forward``
    ``(batch, 3, 3)`` (input pixel coordinates to output ones): the bounding box of the
    four mapped corners.

    Box coordinates are continuous (pixel ``i`` spans ``[i, i + 1)``) while the maps
    act on pixel-centre indices, hence the half-pixel shifts.
    """
    x1, y1, x2, y2 = _split(boxes - 0.5)
    xs = jnp.stack([x1, x2, x1, x2], axis=-1)
    ys = jnp.stack([y1, y1, y2, y2], axis=-1)
    points = jnp.stack([xs, ys, jnp.ones_like(xs)], axis=-1)  # (b, n, 4, 3)
    mapped = jnp.einsum("bij,bnkj->bnki", forward, points)
    px = mapped[..., 0] / mapped[..., 2] + 0.5
    py = mapped[..., 1] / mapped[..., 2] + 0.5
    return jnp.stack([px.min(-1), py.min(-1), px.max(-1), py.max(-1)], axis=-1)
