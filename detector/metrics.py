"""PASCAL VOC detection metrics: AP per class at IoU 0.5 with all-point interpolation, and mAP.

As the VOC devkit (2010 on) computes it: detections of a class, all images together, sorted by
score; each is a true positive when its best-overlapping ground-truth box of that class in its
image has IoU >= 0.5 and was not matched before, else a false positive. Ground truths marked
`difficult` are not counted, and a detection matching one is neither true nor false. AP is the
area under the precision-recall curve after making precision monotonically decreasing
(all points, not VOC 2007's 11 points). A class with no ground truth gets no AP and is left out of
the mean.
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class GroundTruth:
    """One image's ground truth of one class: (N, 4) xyxy boxes and (N,) difficult flags."""

    boxes: np.ndarray
    difficult: np.ndarray = None

    def __post_init__(self):
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        if self.difficult is None:
            self.difficult = np.zeros(len(self.boxes), dtype=bool)
        self.difficult = np.asarray(self.difficult, dtype=bool).reshape(-1)


@dataclass
class ClassResult:
    """AP of one class and its precision-recall curve (in detection order)."""

    ap: float
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    n_ground_truth: int = 0
    n_detections: int = 0


def _iou_one_to_many(box, boxes):
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.maximum(hi - lo, 0), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return inter / np.maximum(area + areas - inter, 1e-12)


def average_precision(recall, precision):
    """All-point interpolated AP: Σ (r[i+1] - r[i]) · max precision at recall >= r[i+1]."""
    r = np.concatenate([[0.0], np.asarray(recall, float), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, float), [0.0]])
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    steps = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def evaluate_class(detections, ground_truth, iou_threshold=0.5):
    """AP of one class.

    detections: list of (image_key, score, box xyxy); ground_truth: {image_key: GroundTruth}.
    Returns ClassResult, with ap = nan when the class has no (non-difficult) ground truth.
    """
    n_positive = int(sum((~gt.difficult).sum() for gt in ground_truth.values()))
    order = sorted(range(len(detections)), key=lambda i: -detections[i][1])
    used = {key: np.zeros(len(gt.boxes), dtype=bool) for key, gt in ground_truth.items()}
    tp, fp = [], []
    for i in order:
        key, _, box = detections[i]
        gt = ground_truth.get(key)
        box = np.asarray(box, dtype=np.float64)
        if gt is None or len(gt.boxes) == 0:
            tp.append(0), fp.append(1)
            continue
        overlaps = _iou_one_to_many(box, gt.boxes)
        best = int(np.argmax(overlaps))
        if overlaps[best] >= iou_threshold:
            if gt.difficult[best]:
                continue  # neither true nor false
            if not used[key][best]:
                used[key][best] = True
                tp.append(1), fp.append(0)
            else:
                tp.append(0), fp.append(1)
        else:
            tp.append(0), fp.append(1)
    tp_cum, fp_cum = np.cumsum(tp, dtype=float), np.cumsum(fp, dtype=float)
    recall = tp_cum / n_positive if n_positive else np.zeros_like(tp_cum)
    precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(float).eps)
    ap = average_precision(recall, precision) if n_positive else float("nan")
    return ClassResult(ap, precision, recall, n_positive, len(tp))


def evaluate(detections, ground_truths, class_names, iou_threshold=0.5):
    """VOC mAP over classes.

    detections: {image_key: [Detection-like with .box, .label, .score]};
    ground_truths: {image_key: [(label, box xyxy, difficult)]}.
    Returns (map50, {class: ClassResult}) for the classes with ground truth; mAP is the mean of
    their APs (nan when none has any).
    """
    results = {}
    for name in class_names:
        per_image = {}
        for key, objects in ground_truths.items():
            mine = [(box, difficult) for label, box, difficult in objects if label == name]
            per_image[key] = GroundTruth([b for b, _ in mine], [d for _, d in mine])
        dets = [(key, d.score, d.box) for key, found in detections.items() for d in found if d.label == name]
        result = evaluate_class(dets, per_image, iou_threshold)
        if result.n_ground_truth:
            results[name] = result
    aps = [r.ap for r in results.values()]
    return (float(np.mean(aps)) if aps else float("nan")), results

