"""Box arithmetic for the YOLO head, in `keras.ops` (runs on TensorFlow and JAX alike).

Formats, as the functions' docstrings repeat:
- xyxy: (x_min, y_min, x_max, y_max); xywh: (x_centre, y_centre, width, height).
- "normalised" coordinates are fractions of the image (0..1); "pixels" are the image's own pixels,
  continuous, so a box covering a whole W×H image is (0, 0, W, H).
- The network's output is (batch, S, S, B*5 + C): for each of the B predictors of a cell the raw
  (x, y, w, h, confidence), then C class logits. `activate` turns them into x, y offsets within the
  cell (sigmoid), sqrt(width), sqrt(height) as fractions of the image (sigmoid, squared later),
  confidence (sigmoid) and class probabilities (softmax).

Detections are data (`Detection(box, label, score)`); drawing them is someone else's job.
"""

from dataclasses import dataclass

import numpy as np
from keras import ops


@dataclass(frozen=True)
class Detection:
    """One detected object: `box` is (x_min, y_min, x_max, y_max) in image pixels."""

    box: tuple[float, float, float, float]
    label: str
    score: float

    def as_dict(self, digits=1):
        return {
            "label": self.label,
            "score": round(float(self.score), 4),
            "box": [round(float(v), digits) for v in self.box],
        }


def xywh_to_xyxy(boxes):
    """(..., 4) xywh -> (..., 4) xyxy, in whatever units the input uses."""
    xy, wh = boxes[..., :2], boxes[..., 2:4]
    return ops.concatenate([xy - wh / 2.0, xy + wh / 2.0], axis=-1)


def xyxy_to_xywh(boxes):
    """(..., 4) xyxy -> (..., 4) xywh, in whatever units the input uses."""
    lo, hi = boxes[..., :2], boxes[..., 2:4]
    return ops.concatenate([(lo + hi) / 2.0, hi - lo], axis=-1)


def box_area(boxes):
    """(..., 4) xyxy -> (...) area (0 for inverted boxes)."""
    wh = ops.maximum(boxes[..., 2:4] - boxes[..., :2], 0.0)
    return wh[..., 0] * wh[..., 1]


def iou(boxes_a, boxes_b, eps=1e-9):
    """Element-wise IoU of two broadcastable (..., 4) xyxy arrays -> (...)."""
    lo = ops.maximum(boxes_a[..., :2], boxes_b[..., :2])
    hi = ops.minimum(boxes_a[..., 2:4], boxes_b[..., 2:4])
    wh = ops.maximum(hi - lo, 0.0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(boxes_a) + box_area(boxes_b) - inter
    return inter / ops.maximum(union, eps)


def iou_matrix(boxes_a, boxes_b):
    """(N, 4) xyxy and (M, 4) xyxy -> (N, M) pairwise IoU."""
    return iou(ops.expand_dims(boxes_a, 1), ops.expand_dims(boxes_b, 0))


def split_output(output, boxes):
    """(batch, S, S, B*5 + C) raw -> (box part (batch, S, S, B, 5), class logits (batch, S, S, C))."""
    grid = ops.shape(output)[1]
    box_part = ops.reshape(output[..., : boxes * 5], (-1, grid, grid, boxes, 5))
    return box_part, output[..., boxes * 5 :]


def activate(output, boxes):
    """Raw network output -> dict of activated tensors.

    output: (batch, S, S, B*5 + C). Returns
      xy (batch, S, S, B, 2): centre offset within the cell, 0..1
      sqrt_wh (batch, S, S, B, 2): square root of width, height as fractions of the image, 0..1
      confidence (batch, S, S, B)
      classes (batch, S, S, C): class probabilities, summing to 1
    """
    output = ops.cast(output, "float32")
    box_part, class_logits = split_output(output, boxes)
    return {
        "xy": ops.sigmoid(box_part[..., 0:2]),
        "sqrt_wh": ops.sigmoid(box_part[..., 2:4]),
        "confidence": ops.sigmoid(box_part[..., 4]),
        "classes": ops.softmax(class_logits, axis=-1),
    }


def cell_offsets(grid):
    """(S, S, 1, 2) with [..., 0] the column and [..., 1] the row of each cell."""
    rows, cols = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
    return ops.convert_to_tensor(np.stack([cols, rows], axis=-1)[:, :, None, :].astype("float32"))


def cell_boxes_to_xyxy(xy, wh, grid):
    """Cell-relative centres (..., S, S, B, 2) and image-fraction sizes (..., S, S, B, 2)
    -> (..., S, S, B, 4) normalised xyxy."""
    centres = (xy + cell_offsets(grid)) / float(grid)
    return xywh_to_xyxy(ops.concatenate([centres, wh], axis=-1))


def decode(output, boxes, image_width, image_height):
    """One image's raw output (S, S, B*5 + C) -> candidate boxes and per-class scores, as NumPy.

    Returns (xyxy (S*S*B, 4) in pixels of a image_width × image_height image, clipped to it;
    scores (S*S*B, C) = confidence × class probability, YOLO's class-specific confidence).
    """
    act = activate(ops.expand_dims(output, 0), boxes)
    grid = ops.shape(act["xy"])[1]
    xyxy = cell_boxes_to_xyxy(act["xy"], ops.square(act["sqrt_wh"]), grid)[0]
    scale = ops.convert_to_tensor(np.array([image_width, image_height] * 2, dtype="float32"))
    xyxy = ops.clip(xyxy * scale, 0.0, scale)
    scores = ops.expand_dims(act["confidence"][0], -1) * ops.expand_dims(act["classes"][0], -2)
    n_classes = ops.shape(scores)[-1]
    return (
        ops.convert_to_numpy(ops.reshape(xyxy, (-1, 4))),
        ops.convert_to_numpy(ops.reshape(scores, (-1, n_classes))),
    )


def non_max_suppression(boxes, scores, *, iou_threshold=0.5, score_threshold=0.25, max_detections=100):
    """Class-wise greedy NMS.

    boxes: (N, 4) xyxy (any units); scores: (N, C), one score per class.
    Keeps, for each class separately, the highest-scoring boxes with score >= score_threshold and
    IoU <= iou_threshold with every kept box of that class. Returns a list of
    (box_index, class_index, score), best first, at most max_detections.
    """
    boxes = np.asarray(boxes, dtype="float32").reshape(-1, 4)
    scores = np.asarray(scores, dtype="float32").reshape(len(boxes), -1)
    kept = []
    for class_index in range(scores.shape[1]):
        candidates = np.flatnonzero(scores[:, class_index] >= score_threshold)
        if candidates.size == 0:
            continue
        order = candidates[np.argsort(-scores[candidates, class_index], kind="stable")]
        overlaps = ops.convert_to_numpy(iou_matrix(boxes[order], boxes[order]))
        suppressed = np.zeros(len(order), dtype=bool)
        for i in range(len(order)):
            if suppressed[i]:
                continue
            kept.append((int(order[i]), class_index, float(scores[order[i], class_index])))
            suppressed |= overlaps[i] > iou_threshold
    kept.sort(key=lambda item: -item[2])
    return kept[:max_detections]


def detect_from_output(output, boxes, class_names, image_width, image_height, *, iou_threshold=0.5,
                       score_threshold=0.25, max_detections=100):
    """One image's raw output -> [Detection] in the image's pixels, best first."""
    xyxy, scores = decode(output, boxes, image_width, image_height)
    return [
        Detection(tuple(float(v) for v in xyxy[i]), class_names[c], score)
        for i, c, score in non_max_suppression(
            xyxy, scores, iou_threshold=iou_threshold, score_threshold=score_threshold,
            max_detections=max_detections,
        )
    ]
