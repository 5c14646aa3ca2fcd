"""Evaluating classifiers: a model's top-1/top-5 on labelled items (what training reports), and
the networks side by side (`evaluate_classifier`): each one and their model average (the mean of
their softmax outputs), per-class accuracy, confusion matrices and the book's headline chart.
No Django: the command passes in the loaded models, the recorded splits and where to write."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data as data_module
from . import pipeline, plots

LABELS = {"cnn9": "9 layers (cnn9)", "vgg16": "16 layers (VGG16)", "resnet152": "152 layers (ResNet152)",
          "average": "average"}


def predict_items(model, root, items, image_size, batch_size=32):
    """Softmax outputs (N, classes) for `items`, in order."""
    if not items:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    dataset = pipeline.image_dataset(root, items, image_size, batch_size)
    return np.asarray(model.predict(dataset, verbose=0), dtype=np.float64)


def topk_accuracy(probabilities, labels, k):
    """Fraction of rows whose true label is among the k highest probabilities."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return 0.0
    k = min(k, probabilities.shape[1])
    top = np.argsort(-probabilities, axis=1)[:, :k]
    return float(np.mean([label in row for label, row in zip(labels, top)]))


@dataclass
class Scores:
    """One model's softmax outputs on labelled items, kept so that what they score (top-1, top-5,
    the confusion matrix) comes from one prediction."""

    probabilities: np.ndarray  # (N, classes)
    labels: list  # N class indices

    @property
    def top1(self):
        return topk_accuracy(self.probabilities, self.labels, 1)

    @property
    def top5(self):
        return topk_accuracy(self.probabilities, self.labels, 5)

    @property
    def n_images(self):
        return len(self.labels)


def evaluate_items(model, root, items, image_size):
    """The Scores of `model` on `items` (under `root`), predicted once."""
    return Scores(predict_items(model, root, items, image_size), [item.label for item in items])


@dataclass
class Network:
    arch: str
    model: object
    image_size: int
    model_id: int | None = None
    layers: int | None = None


def networks_over_the_same_classes(loaded):
    """(classes, Networks, archs left out) of the loaded models ([(arch, registry.LoadedModel)]):
    those over the first one's classes, whose softmax outputs can be averaged."""
    classes = list(loaded[0][1].record.class_names)
    networks, other = [], []
    for arch, entry in loaded:
        if list(entry.record.class_names) != classes:
            other.append(arch)
            continue
        networks.append(Network(arch, entry.model, entry.model.input_shape[1], entry.record.pk, entry.record.layers))
    return classes, networks, other


def recorded_test_items(dataset, splits):
    """The items of `dataset` in the recorded test split of every model (the intersection: none of
    them trained on it). `splits`: [(the model in words, its split.json path or None)]. DataError
    when a split is missing or unreadable, or none of its test images is in `dataset`."""
    test = None
    for model, path in splits:
        if path is None:
            raise data_module.DataError(f"{model} has no recorded split: use --split all.")
        try:
            recorded = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise data_module.DataError(f"Cannot read the split of {model}: {exc}") from exc
        paths = set(recorded.get("test", []))
        test = paths if test is None else test & paths
    items = data_module.items_from_paths(dataset, sorted(test or ()))
    if not items:
        raise data_module.DataError(
            f"None of the test images recorded with the models is under {dataset.root}; "
            "evaluate a separate test folder with --split all."
        )
    return items


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


def write_run_evaluation(test, arch, classes, out_dir):
    """The kept model's Scores on the test split (`test`, the prediction its metrics come from),
    beside it in its run folder, where the run page lists them as artefacts:
    `confusion-<arch>.png` and `evaluation.json` (top-1, top-5, per-class accuracy; the picture
    named relative to the folder)."""
    out_dir = Path(out_dir)
    scores = _scores(test.probabilities, test.labels, classes, out_dir, arch, "the test split")
    scores["confusion_png"] = Path(scores["confusion_png"]).name
    return write_json({arch: scores, "n_images": test.n_images}, out_dir / "evaluation.json")


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
