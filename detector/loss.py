"""The YOLO v1 loss (Redmon et al. 2016, eq. 3), term by term, in `keras.ops`.

Targets are (batch, S, S, 5 + C) per cell: [has_object, x, y, w, h, one-hot class], with x, y the
object's centre offset within the cell (0..1) and w, h its size as fractions of the image (see
`detector.data.encode_targets`). has_object is 1 (an object), 0 (none) or -1 (a VOC "difficult"
object: ignored, its cell's predictors are neither rewarded nor penalised). Predictions are the raw network output (batch, S, S, B*5 + C),
activated by `detector.boxes.activate`.

Of a cell's B predictors, the one whose box has the highest IoU with the object is "responsible"
for it. The terms, summed over cells and predictors and averaged over the batch:

- coord_xy:  lambda_coord · Σ resp · ((x - x̂)² + (y - ŷ)²)
- coord_wh:  lambda_coord · Σ resp · ((√w - √ŵ)² + (√h - √ĥ)²)
- object:    Σ resp · (C - Ĉ)², Ĉ the IoU of the predicted box with the object (or 1 without rescore)
- no_object: lambda_noobj · Σ (1 - resp) · (1 - ignored) · C²   (every predictor not responsible
             for an object, outside ignored cells)
- classes:   Σ has_object(cell) · Σ_c (p(c) - p̂(c))²
"""

import keras
from keras import ops

from .boxes import activate, cell_boxes_to_xyxy, iou

LAMBDA_COORD = 5.0
LAMBDA_NOOBJ = 0.5
TERMS = ("coord_xy", "coord_wh", "object", "no_object", "classes")


def loss_terms(y_true, act, *, lambda_coord=LAMBDA_COORD, lambda_noobj=LAMBDA_NOOBJ, rescore=True, reduce=True):
    """Each loss term, averaged over the batch, as a dict of scalars (reduce=False: per image, (batch,)).

    y_true: (batch, S, S, 5 + C) targets. act: activated predictions, a dict as `boxes.activate`
    returns (xy, sqrt_wh (batch, S, S, B, 2), confidence (batch, S, S, B), classes (batch, S, S, C)).
    """
    y_true = ops.cast(y_true, "float32")
    has_object = ops.maximum(y_true[..., 0], 0.0)  # (batch, S, S)
    counted = 1.0 - ops.cast(y_true[..., 0] < 0, "float32")  # 0 in ignored (difficult) cells
    true_xy = y_true[..., 1:3]
    true_wh = y_true[..., 3:5]
    true_classes = y_true[..., 5:]
    grid = ops.shape(y_true)[1]

    # Responsible predictor: highest IoU with the cell's object (the first one on ties).
    pred_boxes = cell_boxes_to_xyxy(act["xy"], ops.square(act["sqrt_wh"]), grid)  # (b, S, S, B, 4)
    true_boxes = cell_boxes_to_xyxy(
        ops.expand_dims(true_xy, -2), ops.expand_dims(true_wh, -2), grid
    )  # (b, S, S, 1, 4)
    overlaps = ops.stop_gradient(iou(pred_boxes, true_boxes))  # (b, S, S, B)
    n_boxes = ops.shape(overlaps)[-1]
    responsible = ops.one_hot(ops.argmax(overlaps, axis=-1), n_boxes) * ops.expand_dims(has_object, -1)

    xy_error = ops.sum(ops.square(act["xy"] - ops.expand_dims(true_xy, -2)), axis=-1)
    wh_error = ops.sum(ops.square(act["sqrt_wh"] - ops.sqrt(ops.expand_dims(true_wh, -2))), axis=-1)
    target_confidence = overlaps if rescore else ops.ones_like(overlaps)
    object_error = ops.square(act["confidence"] - target_confidence)
    no_object_error = ops.square(act["confidence"])
    class_error = ops.sum(ops.square(act["classes"] - true_classes), axis=-1)

    per_image = {
        "coord_xy": lambda_coord * ops.sum(responsible * xy_error, axis=(1, 2, 3)),
        "coord_wh": lambda_coord * ops.sum(responsible * wh_error, axis=(1, 2, 3)),
        "object": ops.sum(responsible * object_error, axis=(1, 2, 3)),
        "no_object": lambda_noobj * ops.sum(
            (1.0 - responsible) * ops.expand_dims(counted, -1) * no_object_error, axis=(1, 2, 3)),
        "classes": ops.sum(has_object * class_error, axis=(1, 2)),
    }
    if not reduce:
        return per_image
    return {name: ops.mean(value) for name, value in per_image.items()}


def yolo_loss(y_true, y_pred, *, boxes, lambda_coord=LAMBDA_COORD, lambda_noobj=LAMBDA_NOOBJ, rescore=True,
              reduce=True):
    """The total YOLO loss of raw predictions (batch, S, S, B*5 + C) against targets: the batch
    mean, or (reduce=False) one value per image."""
    terms = loss_terms(
        y_true, activate(y_pred, boxes), lambda_coord=lambda_coord, lambda_noobj=lambda_noobj, rescore=rescore,
        reduce=False,
    )
    per_image = sum(terms.values())
    return ops.mean(per_image) if reduce else per_image


@keras.saving.register_keras_serializable(package="detector")
class YoloLoss(keras.losses.Loss):
    """YOLO v1 loss as a Keras loss: one value per image, averaged by Keras (which also divides
    by the replicas under a tf.distribute strategy, so gradients sum to the global batch mean)."""

    def __init__(self, boxes=2, lambda_coord=LAMBDA_COORD, lambda_noobj=LAMBDA_NOOBJ, rescore=True,
                 name="yolo_loss", **kwargs):
        kwargs.pop("reduction", None)
        super().__init__(name=name, reduction="sum_over_batch_size", **kwargs)
        self.boxes = boxes
        self.lambda_coord = lambda_coord
        self.lambda_noobj = lambda_noobj
        self.rescore = rescore

    def call(self, y_true, y_pred):
        return yolo_loss(
            y_true, y_pred, boxes=self.boxes, lambda_coord=self.lambda_coord,
            lambda_noobj=self.lambda_noobj, rescore=self.rescore, reduce=False,
        )

    def get_config(self):
        return {
            "name": self.name, "boxes": self.boxes, "lambda_coord": self.lambda_coord,
            "lambda_noobj": self.lambda_noobj, "rescore": self.rescore,
        }


def make_loss(boxes, *, lambda_coord=LAMBDA_COORD, lambda_noobj=LAMBDA_NOOBJ, rescore=True):
    """The Keras loss for a network predicting `boxes` boxes per cell."""
    return YoloLoss(boxes=boxes, lambda_coord=lambda_coord, lambda_noobj=lambda_noobj, rescore=rescore)
