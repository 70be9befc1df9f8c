"""IoU metrics against Keras 3."""

import numpy as np
import pytest
from _metrics_testlib import N, assert_close, check_against_keras, check_stateless_jit, keras

import lamina.metrics as lm

CASES = [
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, "classes", (N,), True),
    ("IoU", {"num_classes": 3, "target_class_ids": [1], "dtype": "float32"}, "classes", (N,),
     False),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 1, 2], "ignore_class": 1},
     "segmentation", (N, 2, 2), True),
    ("IoU", {"num_classes": 3, "target_class_ids": [0, 1], "sparse_y_true": False,
             "sparse_y_pred": False}, "onehot_scores", (N,), True),
    ("MeanIoU", {"num_classes": 3}, "segmentation", (N, 2, 2), True),
    ("BinaryIoU", {}, "binary1", (N,), True),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3, "dtype": "float32"}, "binary",
     (N, 4), False),
    ("OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 2]}, "onehot_scores", (N,), True),
    ("OneHotMeanIoU", {"num_classes": 3}, "onehot_scores", (N,), True),
]


@pytest.mark.parametrize("cls_name,kwargs,kind,sw_shape,integer_weights", CASES)
def test_matches_keras(cls_name, kwargs, kind, sw_shape, integer_weights):
    m = check_against_keras(cls_name, kwargs, kind, sw_shape, integer_weights=integer_weights)
    assert m.variables[0].dtype == kwargs.get("dtype", "int32")


def test_stateless_jit():
    check_stateless_jit(lambda: lm.MeanIoU(num_classes=3), "segmentation", (N, 2, 2),
                        integer_weights=True)


def test_out_of_range_and_float_weights_like_keras():
    yt, yp = np.array([0, 5, 1, -1]), np.array([0, 2, -1, 1])
    ours, theirs = lm.IoU(3, [0, 1]), keras.metrics.IoU(3, [0, 1])
    ours.update_state(yt, yp)
    theirs.update_state(yt, yp)
    np.testing.assert_array_equal(np.asarray(ours.total_cm.value), theirs.total_cm.numpy())
    with pytest.warns(UserWarning, match="truncated"):
        ours.update_state(yt, yp, sample_weight=np.array([1.5, 1, 1, 1]))
    with pytest.raises(ValueError, match="out of range"):
        lm.IoU(3, [3])
    assert_close(ours.result(), 1.0 / (1.0 + 1e-7) / (1 + 1e-7))
