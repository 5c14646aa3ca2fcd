"""Each YOLO loss term on hand-made cases (grid 2, two predictors per cell, two classes)."""

import numpy as np
import pytest

from detector.boxes import activate
from detector.loss import LAMBDA_COORD, LAMBDA_NOOBJ, YoloLoss, loss_terms, yolo_loss


def target_with_one_object():
    """An object of class 1 centred in cell (row 0, col 1): offsets (0.5, 0.5), size 0.25 × 0.25,
    i.e. the box [0.625, 0.125, 0.875, 0.375] of the image."""
    y = np.zeros((1, 2, 2, 5 + 2), "float32")
    y[0, 0, 1, :5] = [1, 0.5, 0.5, 0.25, 0.25]
    y[0, 0, 1, 6] = 1
    return y


def predictions(conf_cell_01=(0.9, 0.2), xy0=(0.6, 0.5), sqrt_wh0=(0.5, 0.5), xy1=(0.5, 0.5), sqrt_wh1=(0.3, 0.3)):
    """Activated predictions: in cell (0, 1) predictor 0 is shifted right by 0.1 of a cell
    (IoU 2/3 with the object), predictor 1 is small inside it (IoU 0.0081 / 0.0625 = 0.1296).
    Cell (1, 1) predictor 0 says 0.5 where nothing is; every other confidence is 0."""
    xy = np.full((1, 2, 2, 2, 2), 0.5, "float32")
    sqrt_wh = np.full((1, 2, 2, 2, 2), 0.5, "float32")
    confidence = np.zeros((1, 2, 2, 2), "float32")
    classes = np.full((1, 2, 2, 2), 0.5, "float32")
    xy[0, 0, 1, 0], sqrt_wh[0, 0, 1, 0] = xy0, sqrt_wh0
    xy[0, 0, 1, 1], sqrt_wh[0, 0, 1, 1] = xy1, sqrt_wh1
    confidence[0, 0, 1] = conf_cell_01
    confidence[0, 1, 1, 0] = 0.5
    classes[0, 0, 1] = [0.3, 0.7]
    classes[0, 1, 0] = [1.0, 0.0]  # a cell without object: its classes cost nothing
    return {"xy": xy, "sqrt_wh": sqrt_wh, "confidence": confidence, "classes": classes}


def terms(y=None, act=None, **kwargs):
    values = loss_terms(target_with_one_object() if y is None else y, act or predictions(), **kwargs)
    return {k: float(v) for k, v in values.items()}


def test_coordinate_term_counts_only_the_responsible_predictor():
    # Predictor 0 (IoU 2/3) is responsible: x is off by 0.1 -> 5 * 0.01.
    assert terms()["coord_xy"] == pytest.approx(LAMBDA_COORD * 0.1**2)


def test_size_term_compares_square_roots():
    # Responsible predictor says sqrt(w) = 0.6 (w = 0.36) where sqrt(0.25) = 0.5: 5 * (0.1² + 0).
    act = predictions(sqrt_wh0=(0.6, 0.5))
    assert terms(act=act)["coord_wh"] == pytest.approx(LAMBDA_COORD * 0.1**2, rel=1e-5)
    assert terms()["coord_wh"] == pytest.approx(0.0, abs=1e-9)


def test_size_errors_weigh_more_on_small_boxes():
    # The same 0.05 width error costs more for a small object than a large one.
    small, large = target_with_one_object(), target_with_one_object()
    small[0, 0, 1, 3:5] = [0.04, 0.04]
    large[0, 0, 1, 3:5] = [0.64, 0.64]
    act_small = predictions(xy0=(0.5, 0.5), sqrt_wh0=(np.sqrt(0.09), 0.2))
    act_large = predictions(xy0=(0.5, 0.5), sqrt_wh0=(np.sqrt(0.69), 0.8))
    assert terms(small, act_small)["coord_wh"] > 5 * terms(large, act_large)["coord_wh"]


def test_the_predictor_with_the_higher_iou_is_responsible():
    # Make predictor 1 the exact box: it becomes responsible, its coordinates are perfect,
    # and predictor 0's confidence 0.9 now counts as no-object.
    act = predictions(xy1=(0.5, 0.5), sqrt_wh1=(0.5, 0.5))
    t = terms(act=act)
    assert t["coord_xy"] == pytest.approx(0.0, abs=1e-9)
    assert t["object"] == pytest.approx((0.2 - 1.0) ** 2, rel=1e-5)  # target: IoU 1
    assert t["no_object"] == pytest.approx(LAMBDA_NOOBJ * (0.9**2 + 0.5**2), rel=1e-5)


def test_object_term_targets_the_iou_of_the_responsible_box():
    assert terms()["object"] == pytest.approx((0.9 - 2 / 3) ** 2, rel=1e-5)


def test_object_term_without_rescore_targets_one():
    assert terms(rescore=False)["object"] == pytest.approx((0.9 - 1.0) ** 2, rel=1e-5)


def test_no_object_term_is_down_weighted_and_includes_the_other_predictor_of_the_cell():
    # Predictor 1 of the object's cell (0.2) and predictor 0 of cell (1, 1) (0.5).
    assert terms()["no_object"] == pytest.approx(LAMBDA_NOOBJ * (0.2**2 + 0.5**2), rel=1e-5)


def test_class_term_counts_only_cells_with_an_object():
    # Cell (0, 1): (0.3 - 0)² + (0.7 - 1)²; cell (1, 0)'s wrong class costs nothing.
    assert terms()["classes"] == pytest.approx(0.3**2 + 0.3**2, rel=1e-5)


def test_empty_image_costs_only_no_object():
    t = terms(y=np.zeros((1, 2, 2, 7), "float32"))
    assert t["coord_xy"] == t["coord_wh"] == t["object"] == t["classes"] == 0
    assert t["no_object"] == pytest.approx(LAMBDA_NOOBJ * (0.9**2 + 0.2**2 + 0.5**2), rel=1e-5)


def test_terms_are_averaged_over_the_batch():
    single = terms()
    act = {k: np.concatenate([v, v]) for k, v in predictions().items()}
    y = np.concatenate([target_with_one_object()] * 2)
    double = terms(y, act)
    for name in single:
        assert double[name] == pytest.approx(single[name], rel=1e-5)


def test_total_loss_of_raw_output_is_the_sum_of_the_terms_and_differentiable():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    raw = tf.Variable(rng.normal(size=(2, 2, 2, 2 * 5 + 2)).astype("float32"))
    y = np.concatenate([target_with_one_object()] * 2)
    with tf.GradientTape() as tape:
        total = yolo_loss(y, raw, boxes=2)
    expected = sum(float(v) for v in loss_terms(y, activate(raw, 2)).values())
    assert float(total) == pytest.approx(expected, rel=1e-5)
    gradient = tape.gradient(total, raw).numpy()
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).sum() > 0


def test_keras_loss_matches_the_function_and_round_trips_its_config():
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(1, 2, 2, 12)).astype("float32")
    y = target_with_one_object()
    loss = YoloLoss(boxes=2, lambda_noobj=0.25)
    assert float(loss(y, raw)) == pytest.approx(float(yolo_loss(y, raw, boxes=2, lambda_noobj=0.25)), rel=1e-5)
    assert YoloLoss.from_config(loss.get_config()).lambda_noobj == 0.25


def test_per_image_values_average_to_the_batch_loss():
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(3, 2, 2, 12)).astype("float32")
    y = np.concatenate([target_with_one_object(), np.zeros((2, 2, 2, 7), "float32")])
    per_image = np.asarray(yolo_loss(y, raw, boxes=2, reduce=False))
    assert per_image.shape == (3,)
    assert float(yolo_loss(y, raw, boxes=2)) == pytest.approx(per_image.mean(), rel=1e-5)
    assert per_image[0] > 0 and per_image[1] > 0  # empty images still pay for their confidences


def test_a_difficult_objects_cell_is_ignored_neither_object_nor_no_object():
    # Cell (1, 1) holds a difficult object (has_object -1): its predictor's 0.5 costs nothing there.
    y = target_with_one_object()
    y[0, 1, 1, 0] = -1
    t = terms(y=y)
    assert t["no_object"] == pytest.approx(LAMBDA_NOOBJ * 0.2**2, rel=1e-5)
    assert t["object"] == pytest.approx(terms()["object"]) and t["classes"] == pytest.approx(terms()["classes"])
