"""Evaluation of the classifiers side by side: top-1/top-5 per network and for the model average
(the mean of their softmax outputs), per-class accuracy, confusion matrices and the book's
headline chart. No Django: the command passes in the loaded models and where to write."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .trainer import predict_items, topk_accuracy

LABELS = {"cnn9": "9 layers (cnn9)", "vgg16": "16 layers (VGG16)", "resnet152": "152 layers (ResNet152)",
          "average": "average"}


@dataclass
class Network:
    arch: str
    model: object
    image_size: int
    model_id: int | None = None
    layers: int | None = None


def per_class_accuracy(probabilities, labels, classes):
    predicted = np.asarray(probabilities).argmax(axis=1)
    result = {}
    for index, name in enumerate(classes):
        mask = np.asarray(labels) == index
        if mask.any():
            result[name] = float(np.mean(predicted[mask] == index))
    return result


def confusion_matrix(probabilities, labels, n_classes):
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    for true, predicted in zip(labels, np.asarray(probabilities).argmax(axis=1)):
        matrix[true, predicted] += 1
    return matrix


def evaluate(networks, root, items, classes, out_dir, *, description, stdout=None):
    """Evaluate each network on `items` (under `root`) and their average; write the confusion
    matrices and the chart (PNG) in `out_dir`. Returns the result dict (see evaluate_classifier)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [item.label for item in items]
    result = {}
    outputs = []
    for network in networks:
        started = time.perf_counter()
        probabilities = predict_items(network.model, root, items, network.image_size)
        seconds = time.perf_counter() - started
        outputs.append(probabilities)
        result[network.arch] = _scores(probabilities, labels, classes, out_dir, network.arch, description)
        result[network.arch].update(model_id=network.model_id, layers=network.layers,
                                    seconds=round(seconds, 2))
        _say(stdout, network.arch, result[network.arch], seconds)
    if outputs:
        average = np.mean(outputs, axis=0)
        result["average"] = _scores(average, labels, classes, out_dir, "average", description)
        result["average"]["members"] = [n.arch for n in networks]
        _say(stdout, "average", result["average"])
    result["n_images"] = len(items)
    chart = plots.plot_accuracy_chart(
        [(LABELS.get(name, name).replace(" (", "\n("), result[name]["top1"], result[name]["top5"])
         for name in result if name != "n_images"],
        out_dir / "chart.png", f"Top-1 / top-5 on {description} ({len(items)} images)",
    )
    result["chart_png"] = str(chart)
    return result


def write_run_evaluation(model, arch, root, items, classes, image_size, out_dir):
    """The kept model's scores on the test split, beside it in its run folder, where the run page
    lists them as artefacts: `confusion-<arch>.png` and `evaluation.json` (top-1, top-5,
    per-class accuracy; the picture named relative to the folder)."""
    out_dir = Path(out_dir)
    probabilities = predict_items(model, root, items, image_size)
    scores = _scores(probabilities, [item.label for item in items], classes, out_dir, arch, "the test split")
    scores["confusion_png"] = Path(scores["confusion_png"]).name
    return write_json({arch: scores, "n_images": len(items)}, out_dir / "evaluation.json")


def _scores(probabilities, labels, classes, out_dir, name, description):
    matrix = confusion_matrix(probabilities, labels, len(classes))
    picture = plots.plot_confusion(matrix, classes, out_dir / f"confusion-{name}.png",
                                   f"{LABELS.get(name, name)}: {description}")
    return {
        "top1": topk_accuracy(probabilities, labels, 1),
        "top5": topk_accuracy(probabilities, labels, 5),
        "per_class": per_class_accuracy(probabilities, labels, classes),
        "confusion_png": str(picture),
    }


def _say(stdout, name, scores, seconds=None):
    if stdout is None:
        return
    timing = f" ({seconds:.1f}s)" if seconds is not None else ""
    stdout.write(f"  {LABELS.get(name, name):<24} top-1 {scores['top1']:.3f}  top-5 {scores['top5']:.3f}{timing}\n")


def write_json(result, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return path
