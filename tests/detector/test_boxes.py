"""Box arithmetic, decoding of the YOLO output, and class-wise NMS."""

import numpy as np
import pytest

from detector.boxes import (
    Detection, activate, decode, detect_from_output, iou, iou_matrix, non_max_suppression, xywh_to_xyxy,
    xyxy_to_xywh,
)


def logit(p):
    return float(np.log(p / (1 - p)))


def test_xywh_and_xyxy_convert_both_ways():
    xywh = np.array([[10.0, 20.0, 4.0, 6.0]], "float32")
    xyxy = np.asarray(xywh_to_xyxy(xywh))
    np.testing.assert_allclose(xyxy, [[8, 17, 12, 23]])
    np.testing.assert_allclose(np.asarray(xyxy_to_xywh(xyxy)), xywh)


def test_iou_of_hand_made_boxes():
    a = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2]], "float32")
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], "float32")
    np.testing.assert_allclose(np.asarray(iou(a, b)), [1 / 7, 1.0, 0.0], rtol=1e-6)


def test_iou_matrix_is_pairwise():
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1]], "float32")
    b = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [0, 0, 1, 2]], "float32")
    m = np.asarray(iou_matrix(a, b))
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[1, 1 / 7, 0.5], [0.25, 0, 0.5]], rtol=1e-6)


def one_box_output(grid=2, boxes=1, classes=2, row=1, col=0, xy=(0.5, 0.5), sqrt_wh=(0.5, 0.5), conf=0.9,
                   class_probs=(0.8, 0.2)):
    """Raw output whose only confident box is in cell (row, col)."""
    out = np.zeros((grid, grid, boxes * 5 + classes), "float32")
    out[..., 4 : boxes * 5 : 5] = logit(1e-4)
    out[row, col, 0:5] = [logit(xy[0]), logit(xy[1]), logit(sqrt_wh[0]), logit(sqrt_wh[1]), logit(conf)]
    out[row, col, boxes * 5 :] = np.log(class_probs)
    return out


def test_activate_shapes_and_ranges():
    raw = np.random.default_rng(0).normal(size=(3, 4, 4, 2 * 5 + 3)).astype("float32") * 5
    act = {k: np.asarray(v) for k, v in activate(raw, 2).items()}
    assert act["xy"].shape == (3, 4, 4, 2, 2) and act["confidence"].shape == (3, 4, 4, 2)
    assert act["classes"].shape == (3, 4, 4, 3)
    np.testing.assert_allclose(act["classes"].sum(-1), 1, rtol=1e-5)
    assert act["xy"].min() >= 0 and act["sqrt_wh"].max() <= 1


def test_decode_puts_the_box_in_image_pixels():
    # Cell (row 1, col 0) of 2×2; centre offset (0.5, 0.5) -> (0.25, 0.75) of the image;
    # sqrt size 0.5 -> 0.25 of the image. In a 200 × 100 image: centre (50, 75), size 50 × 25.
    boxes, scores = decode(one_box_output(), 1, 200, 100)
    best = int(np.argmax(scores.max(axis=1)))
    np.testing.assert_allclose(boxes[best], [25, 62.5, 75, 87.5], atol=1e-3)
    np.testing.assert_allclose(scores[best], [0.9 * 0.8, 0.9 * 0.2], rtol=1e-4)
    assert boxes.shape == (4, 4) and scores.shape == (4, 2)


def test_decode_clips_boxes_to_the_image():
    out = one_box_output(row=0, col=0, xy=(0.1, 0.1), sqrt_wh=(0.9, 0.9))
    boxes, _ = decode(out, 1, 64, 48)
    assert boxes.min() >= 0 and boxes[:, [0, 2]].max() <= 64 and boxes[:, [1, 3]].max() <= 48


def test_nms_keeps_the_best_of_overlapping_boxes_of_one_class():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], "float32")
    scores = np.array([[0.8], [0.9], [0.7]], "float32")
    kept = non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.1)
    assert [(i, c) for i, c, _ in kept] == [(1, 0), (2, 0)]


def test_nms_is_class_wise():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], "float32")
    scores = np.array([[0.9, 0.0], [0.0, 0.8]], "float32")
    kept = non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.1)
    assert sorted((i, c) for i, c, _ in kept) == [(0, 0), (1, 1)]


def test_nms_iou_threshold_is_a_parameter():
    # IoU of these two boxes: 60 / 140 = 0.43
    boxes = np.array([[0, 0, 10, 10], [4, 0, 14, 10]], "float32")
    scores = np.array([[0.9], [0.8]], "float32")
    assert len(non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.1)) == 2
    assert len(non_max_suppression(boxes, scores, iou_threshold=0.4, score_threshold=0.1)) == 1


def test_nms_score_threshold_and_max_detections():
    boxes = np.array([[0, 0, 1, 1], [5, 5, 6, 6], [10, 10, 11, 11]], "float32")
    scores = np.array([[0.9], [0.3], [0.6]], "float32")
    kept = non_max_suppression(boxes, scores, iou_threshold=0.5, score_threshold=0.5)
    assert [i for i, _, _ in kept] == [0, 2]
    assert len(non_max_suppression(boxes, scores, score_threshold=0.0, max_detections=1)) == 1


def test_detections_are_data_with_labels_and_pixel_boxes():
    found = detect_from_output(one_box_output(), 1, ["cat", "dog"], 200, 100, score_threshold=0.5)
    assert len(found) == 1
    detection = found[0]
    assert isinstance(detection, Detection) and detection.label == "cat"
    assert detection.score == pytest.approx(0.72, rel=1e-4)
    assert detection.as_dict()["box"] == [25.0, 62.5, 75.0, 87.5]
