"""VOC AP / mAP against cases worked out by hand."""

import math

import numpy as np
import pytest

from detector.boxes import Detection
from detector.metrics import GroundTruth, average_precision, evaluate, evaluate_class


def test_all_point_ap_of_a_perfect_ranking_is_one():
    assert average_precision([0.5, 1.0], [1.0, 1.0]) == pytest.approx(1.0)


def test_all_point_ap_uses_the_precision_envelope_not_eleven_points():
    # recall 0.5 at precision 1, then a false positive, then recall 1 at precision 2/3.
    # Envelope: p=1 on (0, 0.5], p=2/3 on (0.5, 1] -> 0.5 + 0.5 * 2/3 = 0.8333…
    # (VOC2007's 11-point AP would give (6 * 1 + 5 * 2/3) / 11 = 0.8484…)
    assert average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(5 / 6)


def test_precision_is_made_monotone_before_integrating():
    # TP, FP, FP, TP over 2 objects: precisions 1, 1/2, 1/3, 1/2 -> envelope 1 up to 0.5, 1/2 up to 1.
    assert average_precision([0.5, 0.5, 0.5, 1.0], [1.0, 0.5, 1 / 3, 0.5]) == pytest.approx(0.75)


def test_duplicate_detection_of_one_object_is_a_false_positive():
    gt = {"a": GroundTruth([[0, 0, 10, 10]])}
    detections = [("a", 0.9, [0, 0, 10, 10]), ("a", 0.8, [0, 0, 10, 9])]
    result = evaluate_class(detections, gt)
    assert list(result.precision) == [1.0, 0.5]
    assert result.ap == pytest.approx(1.0)  # the object was found first; the duplicate only costs later


def test_iou_below_half_is_a_miss_and_the_object_stays_unfound():
    gt = {"a": GroundTruth([[0, 0, 10, 10]])}
    # IoU of [0,0,10,10] and [5,0,15,10] = 50 / 150 = 1/3
    result = evaluate_class([("a", 0.9, [5, 0, 15, 10])], gt)
    assert result.ap == 0.0
    assert list(result.recall) == [0.0]


def test_iou_of_exactly_half_counts_as_a_hit():
    gt = {"a": GroundTruth([[0, 0, 10, 10]])}
    # [0,0,10,5] inside the box: IoU = 50 / 100 = 0.5
    assert evaluate_class([("a", 0.9, [0, 0, 10, 5])], gt).ap == pytest.approx(1.0)


def test_hand_computed_ap_over_two_images():
    # 3 objects (2 in image a, 1 in b). Detections by score:
    # 0.9 a hit, 0.8 b miss (FP), 0.7 b hit, 0.6 a FP (duplicate), 0.5 a hit.
    # precision 1, 1/2, 2/3, 2/4, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1.
    # Envelope: 1 on (0,1/3], 2/3 on (1/3,2/3], 3/5 on (2/3,1] -> (1 + 2/3 + 3/5) / 3 = 34/45.
    gt = {"a": GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]]), "b": GroundTruth([[0, 0, 20, 20]])}
    detections = [
        ("a", 0.9, [0, 0, 10, 10]),
        ("b", 0.8, [50, 50, 60, 60]),
        ("b", 0.7, [1, 1, 20, 20]),
        ("a", 0.6, [0, 0, 10, 10]),
        ("a", 0.5, [20, 20, 30, 31]),
    ]
    result = evaluate_class(detections, gt)
    assert result.ap == pytest.approx(34 / 45)
    np.testing.assert_allclose(result.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])


def test_difficult_objects_neither_count_nor_penalise():
    gt = {"a": GroundTruth([[0, 0, 10, 10], [20, 20, 30, 30]], difficult=[False, True])}
    detections = [("a", 0.9, [20, 20, 30, 30]), ("a", 0.8, [0, 0, 10, 10])]
    result = evaluate_class(detections, gt)
    assert result.n_ground_truth == 1
    assert result.n_detections == 1  # the one on the difficult object is ignored
    assert result.ap == pytest.approx(1.0)


def test_detection_in_an_image_without_that_class_is_false():
    gt = {"a": GroundTruth([[0, 0, 10, 10]]), "b": GroundTruth(np.zeros((0, 4)))}
    result = evaluate_class([("b", 0.9, [0, 0, 10, 10]), ("a", 0.5, [0, 0, 10, 10])], gt)
    assert result.ap == pytest.approx(0.5)


def test_map_is_the_mean_over_classes_with_ground_truth():
    ground_truths = {
        "a": [("cat", [0, 0, 10, 10], False), ("dog", [20, 20, 40, 40], False)],
    }
    detections = {
        "a": [
            Detection((0, 0, 10, 10), "cat", 0.9),
            Detection((60, 60, 70, 70), "dog", 0.8),  # a miss: dog AP 0
            Detection((0, 0, 10, 10), "bird", 0.7),   # no bird anywhere: not in the mean
        ]
    }
    map50, per_class = evaluate(detections, ground_truths, ["cat", "dog", "bird"])
    assert set(per_class) == {"cat", "dog"}
    assert per_class["cat"].ap == pytest.approx(1.0)
    assert per_class["dog"].ap == 0.0
    assert map50 == pytest.approx(0.5)


def test_no_ground_truth_at_all_gives_nan():
    map50, per_class = evaluate({"a": []}, {"a": []}, ["cat"])
    assert math.isnan(map50) and per_class == {}

