"""Image layers whose output is fixed (deterministic layers, and random layers at
degenerate factor ranges) give Keras 3's numbers on the same input."""

import jax
import numpy as np
import pytest
from oracle import assert_close, keras

from lamina import layers

RNG = np.random.RandomState(0)
X = (RNG.rand(2, 8, 8, 3) * 255).astype("float32")
WIDE = (RNG.rand(2, 6, 10, 3) * 255).astype("float32")
BOXES = {"boxes": np.array([[[1.0, 1.0, 4.0, 5.0], [2.0, 0.5, 9.0, 6.0]],
                            [[0.0, 0.0, 0.0, 0.0], [3.0, 2.0, 7.0, 4.0]]], "float32"),
         "labels": np.array([[1, 2], [-1, 3]], "int32")}

SLOW = ("Resizing-lanczos5", "Resizing-antialias", "Equalization", "CLAHE", "CLAHE-grid",
        "RandomPosterization-3", "RandomRotation", "RandomSaturation", "Solarization-unit")
# Cases whose single-image (rank 3) call is also checked (and every slow case's).
RANK3 = ("Resizing-bilinear", "Solarization", "RandomGrayscale")

# (name, constructor arguments, input, training)
CASES = [
    *[(f"Resizing-{i}", ("Resizing", (4, 5), {"interpolation": i}), WIDE, None)
      for i in ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")],
    ("Resizing-crop", ("Resizing", (4, 5), {"crop_to_aspect_ratio": True}), WIDE, None),
    ("Resizing-pad", ("Resizing", (4, 5), {"pad_to_aspect_ratio": True, "fill_value": 3.0}),
     WIDE, None),
    ("Resizing-antialias", ("Resizing", (3, 4), {"antialias": True}), WIDE, None),
    ("CenterCrop-smaller", ("CenterCrop", (4, 4), {}), WIDE, None),
    ("CenterCrop-larger", ("CenterCrop", (10, 12), {}), WIDE, None),
    ("Solarization", ("Solarization", (), {}), X, True),
    ("Solarization-unit", ("Solarization", (), {"value_range": (0, 1)}), X / 255, True),
    ("Equalization", ("Equalization", (), {}), X, True),
    ("Equalization-bins", ("Equalization", (), {"bins": 64, "value_range": (0, 1)}),
     X / 255, True),
    ("AutoContrast", ("AutoContrast", (), {}), X * 0.5 + 20, None),
    ("RandomInvert", ("RandomInvert", ((1.0, 1.0),), {}), X, True),
    ("RandomPosterization", ("RandomPosterization", (1,), {}), X, True),
    ("RandomPosterization-3", ("RandomPosterization", ((3, 3),), {}), X, True),
    ("RandomGrayscale", ("RandomGrayscale", (1.0,), {}), X, True),
    ("CLAHE", ("ContrastLimitedAdaptiveHistogramEqualization", (), {}), WIDE, None),
    ("CLAHE-grid", ("ContrastLimitedAdaptiveHistogramEqualization", (),
                    {"tile_grid_size": (3, 3), "clip_limit": 2.0}), WIDE, None),
    ("CLAHE-first", ("ContrastLimitedAdaptiveHistogramEqualization", (),
                     {"tile_grid_size": (2, 4), "data_format": "channels_first"}),
     WIDE.transpose(0, 3, 1, 2), None),
    ("RandomColorDegeneration", ("RandomColorDegeneration", ((1.0, 1.0),), {}), X, True),
    ("RandomBrightness", ("RandomBrightness", ((0.1, 0.1),), {}), X, True),
    ("RandomSaturation", ("RandomSaturation", ((0.3, 0.3),), {}), X, True),
    ("RandomSharpness", ("RandomSharpness", ((0.8, 0.8),), {}), X, True),
    ("RandomRotation", ("RandomRotation", ((0.1, 0.1),), {"fill_mode": "constant"}), X, True),
    ("RandomTranslation", ("RandomTranslation", ((0.25, 0.25), (-0.125, -0.125)), {}), X, True),
    ("RandomZoom", ("RandomZoom", ((0.5, 0.5),), {"fill_mode": "nearest"}), X, True),
    ("RandomGaussianBlur", ("RandomGaussianBlur", ((1.0, 1.0),), {"sigma": (0.7, 0.7)}), X,
     True),
]


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c[0], marks=[pytest.mark.slow] if c[0] in SLOW else []) for c in CASES])
def test_matches_keras(case):
    case_id, (name, args, kwargs), data, training = case
    ours = getattr(layers, name)(*args, **kwargs)
    theirs = getattr(keras.layers, name)(*args, **kwargs)
    kw = {} if training is None else {"training": training}
    expected = np.asarray(theirs(data, **kw))
    actual = ours(data, **kw)
    assert actual.shape == expected.shape
    assert_close(actual, expected, rtol=1e-5, atol=2e-4)
    if case_id not in RANK3 + SLOW:
        return
    # One image (rank 3) as Keras.
    assert_close(ours(data[0], **kw), np.asarray(theirs(data[0], **kw)), rtol=1e-5, atol=2e-4)


def test_integer_images_keep_their_dtype_through_resizing():
    images = (X[:1]).astype("uint8")
    ours, theirs = layers.Resizing(5, 3), keras.layers.Resizing(5, 3)
    out = ours(images)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(theirs(images)))


def test_random_flip_matches_keras_for_the_flips_it_draws():
    for mode in ("horizontal", "vertical", "horizontal_and_vertical"):
        ours = layers.RandomFlip(mode, seed=3)
        out = np.asarray(ours(np.concatenate([X] * 4)))
        flips = np.array([not np.allclose(o, x) for o, x in zip(out, np.concatenate([X] * 4))])
        assert flips.any() and not flips.all()
        theirs = keras.layers.RandomFlip(mode)
        expected = theirs.transform_images(np.concatenate([X] * 4),
                                           {"flips": flips[:, None, None, None]})
        assert_close(out, expected)


@pytest.mark.parametrize("name,args,kwargs", [
    ("Resizing", (4, 5), {}), ("Resizing", (4, 5), {"pad_to_aspect_ratio": True}),
    ("Resizing", (4, 5), {"crop_to_aspect_ratio": True}), ("CenterCrop", (4, 6), {}),
    ("MaxNumBoundingBoxes", (3,), {}), ("MaxNumBoundingBoxes", (1,), {"fill_value": -2}),
])
def test_boxes_match_keras(name, args, kwargs):
    ours = getattr(layers, name)(*args, bounding_box_format="xyxy", **kwargs)
    theirs = getattr(keras.layers, name)(*args, bounding_box_format="xyxy", **kwargs)
    data = {"images": WIDE, "bounding_boxes": BOXES}
    copy = {"images": WIDE, "bounding_boxes": {k: v.copy() for k, v in BOXES.items()}}
    actual, expected = ours(data), theirs(copy)
    assert_close(actual["images"], expected["images"], atol=2e-4)
    assert_close(actual["bounding_boxes"]["boxes"], expected["bounding_boxes"]["boxes"],
                 atol=1e-4)
    np.testing.assert_array_equal(actual["bounding_boxes"]["labels"],
                                  expected["bounding_boxes"]["labels"])


def test_box_formats_match_keras_and_round_trip_through_resizing():
    from lamina.layers.preprocessing.image import boxes as box_utils

    for fmt in box_utils.FORMATS:
        given = box_utils.from_xyxy(BOXES["boxes"], fmt, 6, 10)
        theirs = keras.utils.bounding_boxes.convert_format(BOXES["boxes"], "xyxy", fmt,
                                                           height=6, width=10)
        assert_close(given, theirs, atol=1e-5)
        assert_close(box_utils.to_xyxy(given, fmt, 6, 10), BOXES["boxes"], atol=1e-5)
    xyxy = layers.Resizing(4, 5, bounding_box_format="xyxy")(
        {"images": WIDE, "bounding_boxes": BOXES})["bounding_boxes"]["boxes"]
    given = box_utils.from_xyxy(BOXES["boxes"], "rel_center_xywh", 6, 10)
    out = layers.Resizing(4, 5, bounding_box_format="rel_center_xywh")(
        {"images": WIDE, "bounding_boxes": {"boxes": given, "labels": BOXES["labels"]}})
    assert_close(box_utils.to_xyxy(out["bounding_boxes"]["boxes"], "rel_center_xywh", 4, 5),
                 xyxy, atol=1e-4)


def test_pipeline_of_deterministic_layers_matches_keras():
    ours = layers.Pipeline([layers.Resizing(6, 6), layers.AutoContrast(),
                            layers.CenterCrop(4, 4)])
    theirs = keras.layers.Pipeline([keras.layers.Resizing(6, 6), keras.layers.AutoContrast(),
                                    keras.layers.CenterCrop(4, 4)])
    assert_close(ours(WIDE), np.asarray(theirs(WIDE)), atol=2e-4)
    step = jax.jit(lambda x: ours.stateless_call([], [], x, training=False)[0])
    assert_close(step(WIDE), np.asarray(theirs(WIDE, training=False)), atol=2e-4)
