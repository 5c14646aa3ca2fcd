"""Scoring a detector: its detections on (some images of) a VOC folder, the VOC mAP@0.5 against the
annotations (detector/metrics.py), the pictures that show it (PR curves, boxes on the first
images), the report as JSON, the serving latency, and the validation mAP after each training epoch.
No Django: the commands pass in the model file, the data and where to write.

    evaluation = evaluate_data(load_model(path), data, class_names, pr_png=..., detections_png=...)
    evaluation.as_json()      # {"map50", "ap", "n_images", "n_objects", "split", ...}
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import voc
from .augment import resize_for_model
from .data import DetectionData

IOU_THRESHOLD = 0.5  # a detection matches a ground truth at this IoU (VOC)
TEST_REPORT = "evaluation.json"


def predict_detections(model, data, class_names, *, indices=None, batch_size=16, score_threshold=0.01,
                       iou_threshold=0.5, max_detections=100):
    """{image_id: [Detection]} for images of a DetectionData, boxes in each image's own pixels
    (xyxy). iou_threshold is the NMS one."""
    from .boxes import detect_from_output
    from .networks import boxes_per_cell

    size = int(model.input_shape[1])
    boxes = boxes_per_cell(model, len(class_names))
    indices = list(range(len(data))) if indices is None else list(indices)
    found = {}
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        pixels = np.zeros((batch_size, size, size, 3), dtype=np.float32)  # one shape: one trace, and
        for row, i in enumerate(chunk):  # every replica of a distributed model gets images
            pixels[row] = resize_for_model(data.image(i), size)
        outputs = np.asarray(model.predict_on_batch(pixels), dtype=np.float32)[: len(chunk)]
        for i, output in zip(chunk, outputs):
            annotation = data.annotations[i]
            found[annotation.image_id] = detect_from_output(
                output, boxes, class_names, annotation.width, annotation.height,
                iou_threshold=iou_threshold, score_threshold=score_threshold, max_detections=max_detections,
            )
    return found


def ground_truths(data, indices=None):
    """{image_id: [(label, box xyxy in pixels, difficult)]} of a DetectionData, for the mAP."""
    indices = range(len(data)) if indices is None else indices
    return {
        data.annotations[i].image_id: [(o.name, o.box, o.difficult) for o in data.annotations[i].objects]
        for i in indices
    }


def evaluate_model(model, data, class_names, *, indices=None, score_threshold=0.01, iou_threshold=0.5,
                   examples_png=None, examples=8, example_threshold=0.25):
    """(map50, {class: ClassResult}, n_images) of a model on (some images of) a DetectionData.

    examples_png: also save the first `examples` images with their detections (score >=
    example_threshold) drawn, as a PNG grid."""
    from .draw import detection_grid
    from .metrics import evaluate

    indices = list(range(len(data))) if indices is None else list(indices)
    found = predict_detections(
        model, data, class_names, indices=indices, score_threshold=score_threshold, iou_threshold=iou_threshold
    )
    map50, per_class = evaluate(found, ground_truths(data, indices), class_names, iou_threshold=IOU_THRESHOLD)
    if examples_png is not None:
        shown = indices[:examples]
        detection_grid(
            [data.image(i) for i in shown],
            [[d for d in found[data.annotations[i].image_id] if d.score >= example_threshold] for i in shown],
            class_names, examples_png,
        )
    return map50, per_class, len(indices)


@dataclass
class Evaluation:
    """A model scored on one split of a VOC folder, and the pictures made of it."""

    map50: float
    per_class: dict  # {class: metrics.ClassResult}, the classes with ground truth
    n_images: int
    split: str
    data: Path
    seconds: float
    pr_png: Path
    detections_png: Path
    latency_ms: float | None = None
    report_json: Path | None = None  # where the report was written, if it was

    def as_json(self, **extra):
        """The report `evaluate_detector --json` writes (and training's evaluation.json)."""
        return {
            "map50": round(self.map50, 6),
            "ap": {name: round(result.ap, 6) for name, result in self.per_class.items()},
            "n_images": self.n_images,
            "n_objects": sum(result.n_ground_truth for result in self.per_class.values()),
            "split": self.split,
            "data": str(self.data),
            **extra,
            "iou_threshold": IOU_THRESHOLD,
            "interpolation": "all-point",
            "seconds": round(self.seconds, 2),
            "pr_png": str(self.pr_png),
            "detections_png": str(self.detections_png),
            **({"latency_ms": round(self.latency_ms, 2)} if self.latency_ms is not None else {}),
        }

    def class_lines(self):
        """One line per class: its AP, objects and detections."""
        return [f"  {name:>14}: AP {r.ap:.4f}  ({r.n_ground_truth} objects, {r.n_detections} detections)"
                for name, r in self.per_class.items()]


def evaluate_data(model, data, class_names, *, pr_png, detections_png, title, score_threshold=0.01):
    """An Evaluation of `model` on a DetectionData: the mAP, the PR curves at `pr_png` (titled
    `title` and the mAP) and the first images with their boxes at `detections_png`."""
    from .plots import plot_precision_recall

    for path in (pr_png, detections_png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    map50, per_class, n_images = evaluate_model(model, data, class_names, score_threshold=score_threshold,
                                                examples_png=detections_png)
    seconds = time.monotonic() - started
    plot_precision_recall(per_class, pr_png, f"{title}: mAP@0.5 {map50:.3f}")
    return Evaluation(map50, per_class, n_images, data.split, Path(data.root), seconds, Path(pr_png),
                      Path(detections_png))


def evaluate_test_split(model_path, data_root, class_names, out_dir, title, say=print):
    """The saved model on the test split of its VOC folder, as it will be served: the PR curves
    (pr_test.png), the boxes on the first test images (detections_test.png) and the report
    (evaluation.json) in `out_dir`, and the latency on one image. None (after saying why) when the
    folder has no test split."""
    from .networks import load_model

    try:
        data = DetectionData.load(data_root, "test", class_names=class_names)
    except voc.VocError as exc:
        say(f"No test split to evaluate on ({exc}); the registry keeps the validation mAP.")
        return None
    model = load_model(model_path)
    out_dir = Path(out_dir)
    evaluation = evaluate_data(model, data, class_names, pr_png=out_dir / "pr_test.png",
                               detections_png=out_dir / "detections_test.png", title=title)
    if evaluation.n_images:
        evaluation.latency_ms = measure_latency(model, data.image(0), class_names)
    evaluation.report_json = out_dir / TEST_REPORT
    evaluation.report_json.write_text(json.dumps(evaluation.as_json(), indent=2))
    return evaluation


def measure_latency(model, image, class_names, repeats=20):
    """Median milliseconds for one image through the serving path (resize, predict, decode, NMS)."""
    from .boxes import detect_from_output
    from .networks import boxes_per_cell

    size = int(model.input_shape[1])
    boxes = boxes_per_cell(model, len(class_names))
    times = []
    for _ in range(repeats + 2):
        started = time.perf_counter()
        pixels = resize_for_model(image, size)[None]
        output = np.asarray(model.predict_on_batch(pixels), dtype=np.float32)[0]
        detect_from_output(output, boxes, class_names, image.width, image.height)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times[2:]))


def map_callback(data, indices, class_names, config, say):
    """A Keras callback adding `val_map50` (VOC mAP@0.5 on the images `indices` of a DetectionData)
    to each epoch's logs, so it reaches the progress bar, the run record, early stopping and the
    checkpoint, and saying it with `say`."""
    import keras

    class ValidationMAP(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            map50, _, _ = evaluate_model(
                self.model, data, class_names, indices=indices,
                score_threshold=config.score_threshold, iou_threshold=config.iou_threshold,
            )
            logs["val_map50"] = 0.0 if math.isnan(map50) else map50
            say(f"epoch {epoch + 1}: val_map50 {logs['val_map50']:.4f}")

    return ValidationMAP()
