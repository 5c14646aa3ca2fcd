"""Serving the classifiers: the active models loaded once per process, one image in, plain data out.

`classify(image)` runs every active network (cnn9, vgg16, resnet152, in that order) on one RGB
Pillow image, times each, averages their softmax outputs (the model average), and optionally adds
a Grad-CAM heat map per network (classifier/gradcam.py). Each model is loaded once per process by
the registry and warmed up with one prediction; a request then costs one `predict_on_batch` per
network (Keras' compiled predict step, without `model.predict`'s per-call data pipeline).
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image

from registry import registry
from deepboot_site.labels import display_label
from deepboot_site.samples import SamplesCache, open_sample

from . import gradcam as grad_cam  # `gradcam` is classify's flag

TASK = "classification"
ORDER = ("cnn9", "vgg16", "resnet152")
TOP_K = 5
NO_MODEL_MESSAGE = (
    "No active classification model. Run: python manage.py bootstrap "
    "(or: python manage.py train_classifier --arch cnn9 --data DIR --activate)"
)


@dataclass
class Prediction:
    label: str
    probability: float

    def as_dict(self):
        return {"label": self.label, "label_display": display_label(self.label), "probability": self.probability}


@dataclass
class NetworkResult:
    arch: str
    layers: int
    model_id: int
    predictions: list
    latency_ms: float
    gradcam: str | None = None  # a data: URL of a PNG


@dataclass
class Classification:
    networks: list
    average: list
    unavailable: dict = field(default_factory=dict)  # arch -> message

    def as_json(self, with_gradcam=False):
        """The API's answer: predictions per network and for the average, latency per network."""
        data = {
            "predictions": {
                **{n.arch: [p.as_dict() for p in n.predictions] for n in self.networks},
                "average": [p.as_dict() for p in self.average],
            },
            "latency_ms": {n.arch: n.latency_ms for n in self.networks},
            "layers": {n.arch: n.layers for n in self.networks},
            "model_ids": {n.arch: n.model_id for n in self.networks},
        }
        if with_gradcam:
            data["gradcam"] = {n.arch: n.gradcam for n in self.networks}
        return data


# ----------------------------------------------------------------------------------- models


def _load(path):
    """Load a saved classifier and run one prediction, so the first request is not the slow one."""
    from . import networks

    model = networks.load_model(path)
    height, width = model.input_shape[1:3]
    model.predict_on_batch(np.zeros((1, height, width, 3), dtype=np.float32))
    return model


def load(arch):
    """The active model of one slot (registry.LoadedModel); ModelUnavailable if there is none."""
    return registry.load_active(TASK, arch, loader=_load)


def active_models():
    """[(arch, LoadedModel)] for every slot with an active, loadable model, and {arch: message}
    for active ones that failed to load. ModelUnavailable when none is active at all."""
    active = {record.architecture for record in registry.active_records(TASK)}
    if not active:
        raise registry.ModelUnavailable(NO_MODEL_MESSAGE)
    loaded, failed = [], {}
    for arch in [arch for arch in ORDER if arch in active]:
        try:
            loaded.append((arch, load(arch)))
        except registry.ModelUnavailable as exc:
            failed[arch] = str(exc)
    if not loaded:
        raise registry.ModelUnavailable(" ".join(failed.values()) or NO_MODEL_MESSAGE)
    return loaded, failed


def input_array(image, size):
    """An RGB Pillow image as a (1, H, W, 3) float32 batch of raw 0-255 pixels, resized like training."""
    height, width = size
    resized = image.convert("RGB").resize((width, height), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32)[None]


def top_k(probabilities, class_names, k=TOP_K):
    order = np.argsort(-probabilities)[:k]
    return [Prediction(class_names[i], round(float(probabilities[i]), 6)) for i in order]


def classify(image, gradcam=False):
    """Every active network's top-5 on `image`, their average and timings (see module docstring)."""
    loaded, failed = active_models()
    results, outputs = [], []
    reference = list(loaded[0][1].record.class_names)
    for arch, entry in loaded:
        model, record = entry.model, entry.record
        size = model.input_shape[1:3]
        started = time.perf_counter()
        batch = input_array(image, size)
        if gradcam:  # one pass gives the prediction and, backwards, the heat map of its top class
            probabilities, heatmap = grad_cam.heatmap(model, batch)
        else:
            probabilities = np.asarray(model.predict_on_batch(batch), dtype=np.float64)[0]
        latency = (time.perf_counter() - started) * 1000
        names = list(record.class_names) or [str(i) for i in range(len(probabilities))]
        result = NetworkResult(arch, record.layers, record.pk, top_k(probabilities, names), round(latency, 2))
        if gradcam:
            result.gradcam = grad_cam.data_url(image, heatmap)
        results.append(result)
        if names == reference:  # only networks over the same classes can be averaged
            outputs.append(probabilities)
    average = top_k(np.mean(outputs, axis=0), reference)
    return Classification(results, average, failed)


# ----------------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    index: int
    label: str
    path: Path


_samples_cache = SamplesCache()


def samples(limit=12):
    """Up to `limit` images of the test split recorded with the first active model, one class after
    another (so the samples cover the classes). Empty when no model or split file is available."""
    record = next(iter(sorted(registry.active_records(TASK), key=lambda r: ORDER.index(r.architecture)
                              if r.architecture in ORDER else 99)), None)
    if record is None:
        return []
    return _samples_cache.get(record, lambda record: _find_samples(record, limit))


def _find_samples(record, limit):
    found = []
    split_file = (record.training_run or {}).get("split_file")
    try:
        split = json.loads(registry.absolute_path(split_file).read_text()) if split_file else None
    except (OSError, ValueError):
        split = None
    if split:
        root = Path(split.get("data") or record.training_run.get("data", ""))
        by_class = {}
        for relative in split.get("test", []):
            by_class.setdefault(relative.split("/")[0], []).append(relative)
        rounds = max((len(v) for v in by_class.values()), default=0)
        ordered = [paths[i] for i in range(rounds) for paths in by_class.values() if i < len(paths)]
        for relative in ordered:
            path = root / relative
            if path.is_file():
                found.append(Sample(len(found), relative.split("/")[0], path))
            if len(found) >= limit:
                break
    return found


def sample(index):
    """The sample with this index, or None."""
    for item in samples():
        if item.index == index:
            return item
    return None


def sample_image(index):
    """A sample as a working RGB Pillow image (deepboot_site.samples.open_sample), or None."""
    item = sample(index)
    return None if item is None else open_sample(item.path)


# ----------------------------------------------------------------------------------- evaluation


def evaluation_dir():
    return Path(settings.MODELS_DIR) / TASK


def latest_evaluation_path():
    return evaluation_dir() / "evaluation-latest.json"


def latest_evaluation():
    """The latest evaluate_classifier result for the Models page, or None."""
    try:
        data = json.loads(latest_evaluation_path().read_text())
    except (OSError, ValueError):
        return None
    rows = []
    for name in (*ORDER, "average"):
        if isinstance(data.get(name), dict):
            rows.append({"name": name, "layers": data[name].get("layers"), "model_id": data[name].get("model_id"),
                         "top1": data[name]["top1"], "top5": data[name]["top5"]})
    return {"rows": rows, "n_images": data.get("n_images"), "data": data.get("data"), "split": data.get("split"),
            "created": data.get("created"), "has_chart": bool(data.get("chart_png"))}


def latest_chart_path():
    """The chart PNG of the latest evaluation, only if it lies under var/models/."""
    try:
        data = json.loads(latest_evaluation_path().read_text())
        path = registry.absolute_path(data["chart_png"]).resolve()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not path.is_file() or Path(settings.MODELS_DIR).resolve() not in path.parents:
        return None
    return path
