"""lamina.utils.bounding_boxes against keras.utils.bounding_boxes on the same inputs."""

import numpy as np
import pytest
from oracle import assert_close, keras

import lamina
from lamina.utils import bounding_boxes as lbb

kbb = keras.utils.bounding_boxes
RNG = np.random.default_rng(7)
H, W = 48, 64
FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
           "rel_xywh", "rel_center_xywh"]


def _xyxy(*batch, n=6):
    """Random xyxy boxes, some reaching outside the H x W image."""
    x1 = RNG.uniform(-10, W, (*batch, n))
    y1 = RNG.uniform(-10, H, (*batch, n))
    x2 = x1 + RNG.uniform(1, 30, (*batch, n))
    y2 = y1 + RNG.uniform(1, 30, (*batch, n))
    return np.stack([x1, y1, x2, y2], -1).astype("float32")


BOXES = _xyxy(2)  # (2, 6, 4)


def _in(fmt, boxes=BOXES):
    return np.asarray(kbb.convert_format(boxes, "xyxy", fmt, height=H, width=W))


def test_the_namespace_is_keras_s():
    names = sorted(n for n in dir(kbb) if not n.startswith("_"))
    assert all(callable(getattr(lamina.utils.bounding_boxes, n)) for n in names)


@pytest.mark.parametrize("source", FORMATS)
def test_convert_format_like_keras(source):
    """Every format to and from xyxy (lamina converts through it), and to others."""
    boxes = _in(source)
    for target in FORMATS if source == "xyxy" else ["xyxy", "rel_center_xywh", "yxyx"]:
        want = kbb.convert_format(boxes, source, target, height=H, width=W)
        got = lbb.convert_format(boxes, source, target, height=H, width=W)
        assert got.shape == boxes.shape and got.dtype == want.dtype
        assert_close(got, want, rtol=1e-5, atol=1e-4, err_msg=f"{source}->{target}")
    # A relative format needs the image size, even from relative to relative.
    if source.startswith("rel_"):
        with pytest.raises(ValueError, match="height"):
            lbb.convert_format(boxes, source, "rel_yxyx")
        with pytest.raises(ValueError, match="height"):
            kbb.convert_format(boxes, source, "rel_yxyx")


def test_convert_format_dicts_dtypes_and_errors():
    record = {"boxes": BOXES, "labels": np.arange(6)}
    out = lbb.convert_format(record, "xyxy", "xywh")
    assert out is not record and out["labels"] is record["labels"]
    assert_close(out["boxes"], kbb.convert_format(dict(record), "xyxy", "xywh")["boxes"])
    assert lbb.convert_format(BOXES, "XYXY", "YXYX", dtype="float16").dtype == "float16"
    with pytest.raises(ValueError, match="height.*width"):
        lbb.convert_format(BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match="must be one of.*Received: target='xyz'"):
        lbb.convert_format(BOXES, "xyxy", "xyz")
    with pytest.raises(ValueError, match="last dimension is 4.*\\(2, 3\\)"):
        lbb.convert_format(np.zeros((2, 3)), "xyxy", "yxyx")
    for bad in (("xyxy", "rel_xyxy", None, None), ("xyxy", "xyz", H, W)):
        with pytest.raises(ValueError):
            kbb.convert_format(BOXES, bad[0], bad[1], height=bad[2], width=bad[3])


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
def test_clip_to_image_size_like_keras(fmt):
    boxes = _in(fmt, BOXES * np.float32(1.6) - 20)  # many leave the image
    labels = RNG.integers(0, 5, (2, 6)).astype("int32")
    want = kbb.clip_to_image_size({"boxes": boxes, "labels": labels}, H, W, fmt)
    got = lbb.clip_to_image_size({"boxes": boxes, "labels": labels}, H, W, fmt)
    assert_close(got["boxes"], want["boxes"])
    np.testing.assert_array_equal(got["labels"], want["labels"])
    assert (np.asarray(got["labels"]) == -1).any() and got["labels"].dtype == "int32"
    no_labels = lbb.clip_to_image_size({"boxes": boxes}, H, W, fmt)
    assert set(no_labels) == {"boxes"}
    assert_close(no_labels["boxes"], want["boxes"])


def test_clip_to_image_size_in_other_formats_and_errors():
    """Keras clips only xyxy/rel_xyxy (NotImplementedError otherwise); lamina clips any
    format through xyxy."""
    labels = np.arange(12).reshape(2, 6)
    want = lbb.clip_to_image_size({"boxes": BOXES, "labels": labels}, H, W)
    for fmt in ("xywh", "center_yxhw", "rel_center_xywh"):
        got = lbb.clip_to_image_size({"boxes": _in(fmt), "labels": labels}, H, W, fmt)
        assert_close(lbb.convert_format(got["boxes"], fmt, "xyxy", H, W), want["boxes"],
                     atol=1e-4)
        np.testing.assert_array_equal(got["labels"], want["labels"])
    with pytest.raises(NotImplementedError):
        kbb.clip_to_image_size({"boxes": BOXES}, H, W, "xywh")
    with pytest.raises(ValueError, match="height.*width"):
        lbb.clip_to_image_size({"boxes": BOXES})
    with pytest.raises(TypeError, match="dict with 'boxes'"):
        lbb.clip_to_image_size(BOXES, H, W)


def test_crop_and_pad_like_keras():
    assert_close(lbb.crop(BOXES, 5, 7, 30, 40), kbb.crop(BOXES, 5, 7, 30, 40))
    assert_close(lbb.pad(BOXES, 5, 7), kbb.pad(BOXES, 5, 7))
    assert_close(lbb.crop(BOXES[0], 5, 7, 30, 40), kbb.crop(BOXES, 5, 7, 30, 40)[0])
    # Other absolute formats go through xyxy (Keras: NotImplementedError).
    assert_close(lbb.crop(_in("center_yxhw"), 5, 7, 30, 40, "center_yxhw"),
                 _in("center_yxhw", np.asarray(kbb.crop(BOXES, 5, 7, 30, 40))), atol=1e-4)
    assert_close(lbb.pad(_in("xywh"), 3, 2, bounding_box_format="xywh"),
                 _in("xywh", np.asarray(kbb.pad(BOXES, 3, 2))), atol=1e-4)
    with pytest.raises(ValueError, match="relative boxes"):
        lbb.pad(_in("rel_xyxy"), 3, 2, bounding_box_format="rel_xyxy")


def test_affine_transform_like_keras():
    params = {"angle": [30.0, -12.0], "translate_x": [0.1, -0.2], "translate_y": [-0.05, 0.3],
              "scale": [1.2, 0.8], "shear_x": [10.0, -5.0], "shear_y": [-7.0, 4.0]}
    arrays = {k: np.asarray(v, "float32") for k, v in params.items()}
    for center in ({}, {"center_x": np.float32(0.3), "center_y": np.float32(0.6)}):
        want = kbb.affine_transform(BOXES, **arrays, height=H, width=W, **center)
        got = lbb.affine_transform(BOXES, **params, height=H, width=W, **center)
        assert got.shape == BOXES.shape
        assert_close(got, want, rtol=1e-4, atol=2e-4)
    # Scalars broadcast over the batch; unbatched boxes; other formats.
    one = {k: v[0] for k, v in params.items()}
    want = kbb.affine_transform(BOXES, **{k: v[[0, 0]] for k, v in arrays.items()},
                                height=H, width=W)
    assert_close(lbb.affine_transform(BOXES, **one, height=H, width=W), want,
                 rtol=1e-4, atol=2e-4)
    assert_close(lbb.affine_transform(BOXES[0], **one, height=H, width=W), want[0],
                 rtol=1e-4, atol=2e-4)
    assert_close(lbb.affine_transform(_in("rel_yxyx"), **one, height=H, width=W,
                                      bounding_box_format="rel_yxyx"),
                 _in("rel_yxyx", np.asarray(want)), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="one value per image \\(2\\)"):
        lbb.affine_transform(BOXES, **dict(one, angle=[1.0, 2.0, 3.0]), height=H, width=W)


@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
def test_encode_and_decode_deltas_like_keras(encoding):
    anchors = _xyxy(n=6)
    for variance in (None, [0.1, 0.1, 0.2, 0.2]):
        kwargs = {"variance": variance}
        want = kbb.encode_box_to_deltas(anchors, BOXES, "xyxy", "xyxy", encoding, **kwargs)
        got = lbb.encode_box_to_deltas(anchors, BOXES, "xyxy", "xyxy", encoding, **kwargs)
        assert_close(got, want, rtol=1e-5, atol=1e-5)
        for fmt in ("yxyx", "rel_xywh"):
            args = (anchors, got, "xyxy", fmt, encoding)
            decoded = lbb.decode_deltas_to_boxes(*args, image_shape=(H, W, 3), **kwargs)
            assert_close(decoded, kbb.decode_deltas_to_boxes(*args, image_shape=(H, W, 3),
                                                             **kwargs), rtol=1e-5, atol=1e-4)
            assert_close(decoded, _in(fmt), rtol=1e-4, atol=1e-4)  # the round trip
    levels = lbb.decode_deltas_to_boxes({"p3": anchors}, {"p3": got}, "xyxy", "xyxy", encoding,
                                        variance=variance)  # deltas by feature level
    assert_close(levels["p3"], BOXES, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="variance"):
        lbb.encode_box_to_deltas(anchors, BOXES, "xyxy", "xyxy", variance=[1, 2])
    with pytest.raises(ValueError, match="encoded_format"):
        lbb.decode_deltas_to_boxes(anchors, BOXES, "xyxy", "xyxy", encoded_format="xyxy")


def test_compute_iou_like_keras():
    other = np.concatenate([BOXES[:, :3], _xyxy(2, n=3)], axis=1)  # some equal boxes
    other[0, 4] = -1  # a padding box
    for fmt in ("xyxy", "rel_yxyx"):
        a, b = _in(fmt), _in(fmt, other)
        shape = {"image_shape": (H, W, 3)}
        ranks = [(a, b, (2, 6, 6))]
        if fmt == "xyxy":  # unbatched, and batched against unbatched both ways
            ranks += [(a[1], b[0], (6, 6)), (a[0], b, (2, 6, 6)), (a, b[1], (2, 6, 6))]
        for x, y, out_shape in ranks:
            # Keras's masking fails when the ranks differ.
            maskings = [{}] + [{"use_masking": True, "mask_val": -3}] * (x is a and y is b)
            for masking in maskings:
                want = kbb.compute_iou(x, y, fmt, **masking, **shape)
                got = lbb.compute_iou(x, y, fmt, **masking, **shape)
                assert got.shape == out_shape
                assert_close(got, want, atol=1e-5, err_msg=f"{fmt} {x.shape} {y.shape}")
    iou = lbb.compute_iou(BOXES, other, "xyxy", use_masking=True)
    np.testing.assert_allclose(np.diagonal(iou[:, :3, :3], axis1=1, axis2=2), 1.0, rtol=1e-5)
    assert (np.asarray(iou)[0, :, 4] == -1).all()
    with pytest.raises(ValueError, match="image_shape"):
        lbb.compute_iou(BOXES, other, "rel_xyxy")
    with pytest.raises(ValueError, match="boxes1"):
        lbb.compute_iou(BOXES[0, 0], other, "xyxy")


def test_compute_ciou_like_keras():
    other = _xyxy(2)
    other[:, 0] = BOXES[:, 0]
    for fmt in ("xyxy", "center_xywh"):
        want = kbb.compute_ciou(_in(fmt), _in(fmt, other), fmt)
        got = lbb.compute_ciou(_in(fmt), _in(fmt, other), fmt)
        assert got.shape == (2, 6)
        assert_close(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got)[:, 0], 1.0, atol=1e-5)
    # Relative formats with an image shape (Keras refuses them whatever the shape).
    rel = lbb.compute_ciou(_in("rel_xyxy"), _in("rel_xyxy", other), "rel_xyxy",
                           image_shape=(H, W, 3))
    assert_close(rel, want, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="image_shape"):
        lbb.compute_ciou(BOXES, other, "rel_xyxy")
