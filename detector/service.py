"""Serving the detector: the active model loaded once per process, one image in, plain data out.

`detect(image, threshold)` runs the active detector (yolo26 when one is active, else tiny) on an RGB
Pillow image (EXIF orientation already applied by `deepboot_site.uploads`) and returns a
`DetectionResult`: the image's size, the detections (boxes in its pixels, best first) and the
latency. The registry loads each model once per process; `_load` warms it up with one prediction.
"""

import time
from dataclasses import dataclass
from pathlib import Path

from registry import registry
from deepboot_site.labels import display_label
from deepboot_site.samples import SamplesCache, open_sample

from .draw import colour_for  # the page colours classes as the PNGs do

TASK = "detection"
ORDER = ("yolo26", "tiny")  # the first active one serves
DEFAULT_THRESHOLD = 0.25
IOU_THRESHOLD = 0.45
MAX_DETECTIONS = 100
NO_MODEL_MESSAGE = (
    "No active detection model. Run: python manage.py bootstrap "
    "(or: python manage.py train_detector --variant tiny --data DIR --activate)"
)
@dataclass
class DetectionResult:
    width: int
    height: int
    detections: list  # [Detection], best first
    latency_ms: float
    architecture: str
    model_id: int
    class_names: list

    def as_json(self):
        """The API's answer."""
        return {
            "width": self.width,
            "height": self.height,
            "detections": [{**d.as_dict(), "label_display": display_label(d.label)} for d in self.detections],
            "latency_ms": round(self.latency_ms, 2),
            "model": {"architecture": self.architecture, "id": self.model_id},
        }

    def colour(self, label):
        return colour_for(self.class_names, label)


def _load(path):
    """Load a saved detector and run one prediction, so the first request is not the slow one."""
    import numpy as np

    from .networks import load_model

    model = load_model(path)
    size = int(model.input_shape[1])
    model.predict_on_batch(np.zeros((1, size, size, 3), dtype="float32"))
    return model


def active_architecture():
    """The architecture that serves: the first of ORDER with an active model."""
    active = {record.architecture for record in registry.active_records(TASK)}
    for architecture in ORDER:
        if architecture in active:
            return architecture
    extra = sorted(active - set(ORDER))
    if extra:
        return extra[0]
    raise registry.ModelUnavailable(NO_MODEL_MESSAGE)


def serving_class_names():
    """The class names of the model that serves, in output order ([] without one)."""
    try:
        record = registry.active_record(TASK, active_architecture())
    except registry.ModelUnavailable:
        return []
    return list(record.class_names) if record else []


def load():
    """The serving model as registry.LoadedModel; ModelUnavailable (naming the command) otherwise."""
    return registry.load_active(TASK, active_architecture(), loader=_load)


def warm(architecture):
    """Load and warm the serving model as a request would (registry/warmup.py, at a worker's start);
    False for an active architecture that does not serve (another one comes first in ORDER)."""
    if architecture != active_architecture():
        return False
    load()
    return True


def warm(architecture):
    """The serving model loaded and warmed as a request would (registry/warmup.py, at a worker's
    start); None for an active architecture that does not serve (another comes first in ORDER)."""
    return load() if architecture == active_architecture() else None


def detect(image, threshold=DEFAULT_THRESHOLD, iou_threshold=IOU_THRESHOLD):
    """Detect objects in an RGB Pillow image -> DetectionResult (boxes in the image's pixels)."""
    import numpy as np

    from .augment import resize_for_model
    from .boxes import detect_from_output
    from .networks import boxes_per_cell

    from deepboot_site.uploads import source_size

    loaded = load()
    model, record = loaded.model, loaded.record
    # An upload is worked on shrunk (deepboot_site.uploads); boxes are in the uploaded image's pixels.
    width, height = source_size(image)
    class_names = list(record.class_names)
    started = time.perf_counter()
    size = int(model.input_shape[1])
    pixels = resize_for_model(image, size)[None]
    output = np.asarray(model.predict_on_batch(pixels), dtype=np.float32)[0]
    detections = detect_from_output(
        output, boxes_per_cell(model, len(class_names)), class_names, width, height,
        iou_threshold=iou_threshold, score_threshold=threshold, max_detections=MAX_DETECTIONS,
    )
    latency_ms = (time.perf_counter() - started) * 1000
    return DetectionResult(
        width, height, detections, latency_ms, record.architecture, record.pk, class_names
    )


# ----------------------------------------------------------------------------------- samples


@dataclass
class Sample:
    index: int
    image_id: str
    path: Path


_samples_cache = SamplesCache()


def samples(limit=8):
    """Up to `limit` images of the test split of the data the serving model was trained on (the
    held-out demo scenes after bootstrap). Empty when there is no model or the data is gone."""
    try:
        architecture = active_architecture()
    except registry.ModelUnavailable:
        return []
    record = registry.active_record(TASK, architecture)
    if record is None:
        return []
    return _samples_cache.get(record, lambda record: _find_samples(record, limit))


def _find_samples(record, limit):
    from . import voc

    root = Path((record.training_run or {}).get("data", ""))
    found = []
    try:
        for split in ("test", "val"):
            ids = voc.split_ids(root, split) if root.is_dir() else []
            if ids:
                break
        for image_id in ids[:limit]:
            annotation = voc.read_annotation(root / "Annotations" / f"{image_id}.xml")
            found.append(Sample(len(found), image_id, voc.image_path(root, annotation)))
    except (voc.VocError, OSError):
        found = []
    return found


def sample_image(index):
    """A sample as a working RGB Pillow image (deepboot_site.samples.open_sample), or None."""
    for item in samples():
        if item.index == index:
            return open_sample(item.path)
    return None
