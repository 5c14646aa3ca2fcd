"""Image folders to training data: scan, split, and a tf.data pipeline. No Django here.

- `scan_folder(root)`: any `<root>/<class>/<image>` tree. Classes are the folder names, sorted.
  Every file is opened with Pillow; unreadable ones are reported in `skipped` (path, reason)
  and left out. Images whose mode TensorFlow cannot decode directly (CMYK, 16-bit, palette…)
  are marked, and the pipeline decodes those with Pillow and converts them to RGB.
- `split_items(items, seed, val, test)`: a deterministic, stratified train/validation/test split
  (the same seed and files give the same split on any machine); `Split.to_json()` is what is
  recorded beside a model. `kfold(items, k, seed)`: stratified folds.
- `make_dataset(items, …)`: tf.data: read, decode (JPEG/PNG/GIF/BMP natively, others through
  Pillow), resize to S x S, batch, augment the training set (flips, shifts, rotations, zoom,
  colour) with `num_parallel_calls=AUTOTUNE`, and prefetch. Pixels stay raw 0-255: each
  network's own preprocessing is inside the model.
"""

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from deepboot_site.imaging import to_rgb

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
# What tf.io.decode_image reads directly (to RGB with channels=3).
_TF_FORMATS = {"JPEG", "PNG", "GIF", "BMP"}
_TF_MODES = {"RGB", "L", "RGBA", "LA", "P"}


@dataclass(frozen=True)
class Item:
    """One image: its path relative to the data root, its class index, and how to decode it."""

    path: str
    label: int
    needs_pillow: bool = False


@dataclass
class Dataset:
    """A scanned `<root>/<class>/<image>` tree."""

    root: Path
    classes: list
    items: list
    skipped: list = field(default_factory=list)  # (relative path, reason)

    def counts(self):
        counts = [0] * len(self.classes)
        for item in self.items:
            counts[item.label] += 1
        return dict(zip(self.classes, counts))


class DataError(ValueError):
    """A data folder we cannot train on; the message says why."""


def _is_image_name(path):
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def check_image(path):
    """(needs_pillow, None) for a readable image, (None, reason) for an unreadable one."""
    try:
        with Image.open(path) as image:
            fmt, mode = image.format, image.mode
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        return None, f"{exc.__class__.__name__}: {exc}"
    needs_pillow = fmt not in _TF_FORMATS or mode not in _TF_MODES or (fmt == "PNG" and mode == "P")
    return needs_pillow, None


def scan_folder(root, classes=None, stdout=None):
    """Scan `root/<class>/*` (images directly inside each class folder, or below it).

    `classes`: use this class list (and order) instead of the folder names, e.g. a model's own
    classes when evaluating a separate test folder; folders not in it are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"No data folder at {root}.")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes is None:
        classes = folders
    else:
        classes = list(classes)
        missing = [name for name in classes if name not in folders]
        if len(missing) == len(classes):
            raise DataError(f"None of the classes {classes[:5]}… has a folder under {root}.")
    index = {name: i for i, name in enumerate(classes)}
    items, skipped = [], []
    for name in classes:
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if _is_image_name(p)):
            relative = path.relative_to(root).as_posix()
            needs_pillow, reason = check_image(path)
            if reason:
                skipped.append((relative, reason))
                continue
            items.append(Item(relative, index[name], needs_pillow))
    if stdout is not None:
        for relative, reason in skipped:
            stdout.write(f"  skipped unreadable {relative}: {reason}\n")
        stdout.write(f"  {len(items)} images in {len(classes)} classes under {root}"
                     f"{f', {len(skipped)} unreadable skipped' if skipped else ''}\n")
    if not items:
        raise DataError(f"No readable images under {root} (expected {root}/<class>/<image>).")
    return Dataset(root=root, classes=list(classes), items=items, skipped=skipped)


def scan_unlabelled(root, stdout=None):
    """Every readable image anywhere under `root` (labels ignored), for self-training."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"No unlabelled folder at {root}.")
    items, skipped = [], []
    for path in sorted(p for p in root.rglob("*") if _is_image_name(p)):
        needs_pillow, reason = check_image(path)
        if reason:
            skipped.append((path.relative_to(root).as_posix(), reason))
            continue
        items.append(Item(path.relative_to(root).as_posix(), -1, needs_pillow))
    if stdout is not None:
        for relative, reason in skipped:
            stdout.write(f"  skipped unreadable {relative}: {reason}\n")
        stdout.write(f"  {len(items)} unlabelled images under {root}\n")
    if not items:
        raise DataError(f"No readable images under {root}.")
    return items


# ------------------------------------------------------------------------------------------ splits


def _by_class(items):
    groups = {}
    for item in items:
        groups.setdefault(item.label, []).append(item)
    return {label: sorted(group, key=lambda i: i.path) for label, group in sorted(groups.items())}


def _shuffled(group, seed, label):
    """The class's items in an order that depends only on the seed, the class and the file names."""
    rng = random.Random(hashlib.sha256(f"{seed}:{label}".encode()).hexdigest())
    group = list(group)
    rng.shuffle(group)
    return group


@dataclass
class Split:
    seed: int
    fractions: tuple  # (validation, test)
    train: list
    val: list
    test: list

    def to_json(self):
        return {
            "seed": self.seed,
            "fractions": {"validation": self.fractions[0], "test": self.fractions[1]},
            "counts": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "train": [i.path for i in self.train],
            "val": [i.path for i in self.val],
            "test": [i.path for i in self.test],
        }


def split_items(items, seed=0, val=0.15, test=0.15):
    """Stratified train/validation/test split. Each class with 3+ images gets at least one
    validation and one test image; the rest follow the fractions (rounded)."""
    if not 0 <= val < 1 or not 0 <= test < 1 or val + test >= 1:
        raise DataError("The validation and test fractions must be in [0, 1) and leave room for training.")
    train, validation, testing = [], [], []
    for label, group in _by_class(items).items():
        group = _shuffled(group, seed, label)
        n = len(group)
        n_test = max(1, round(n * test)) if test and n >= 3 else 0
        n_val = max(1, round(n * val)) if val and n >= 3 else 0
        testing += group[:n_test]
        validation += group[n_test:n_test + n_val]
        train += group[n_test + n_val:]
    if not train:
        raise DataError("No images left to train on after the split.")
    return Split(seed, (val, test), train, validation, testing)


def kfold(items, k, seed=0):
    """K stratified folds: a list of (train, validation) pairs, each class dealt round-robin."""
    if k < 2:
        raise DataError("--folds needs K >= 2.")
    folds = [[] for _ in range(k)]
    for label, group in _by_class(items).items():
        for position, item in enumerate(_shuffled(group, seed, label)):
            folds[position % k].append(item)
    if any(not fold for fold in folds):
        raise DataError(f"Too few images for {k} folds.")
    return [([i for j, fold in enumerate(folds) if j != index for i in fold], folds[index]) for index in range(k)]


def items_from_paths(dataset, paths):
    """The dataset's items for a list of relative paths (a recorded split), in that order."""
    by_path = {item.path: item for item in dataset.items}
    return [by_path[path] for path in paths if path in by_path]


def save_split(split, path, extra=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**split.to_json(), **(extra or {})}, indent=1))
    return path


# ------------------------------------------------------------------------------------------ tf.data


def pillow_rgb(path):
    """Decode any image Pillow reads as RGB uint8 (CMYK, 16-bit, palette, alpha on white)."""
    import numpy as np

    with Image.open(path) as image:
        return np.asarray(to_rgb(ImageOps.exif_transpose(image)), dtype=np.uint8)


def augmenter(seed=None):
    """The training-only augmentation: flips, shifts, rotations, zoom and colour, on 0-255 pixels."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
            keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=seed),
            keras.layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=seed),
            keras.layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed),
            keras.layers.RandomContrast(0.15, seed=seed),
        ],
        name="augment",
    )


def decode_resize(path, needs_pillow, image_size):
    """A tf graph: the image file at `path` as float32 (S, S, 3), raw 0-255, resized with antialiasing."""
    import tensorflow as tf

    def with_tensorflow():
        data = tf.io.read_file(path)
        return tf.cast(tf.io.decode_image(data, channels=3, expand_animations=False), tf.uint8)

    def with_pillow():
        image = tf.numpy_function(lambda p: pillow_rgb(p.decode()), [path], tf.uint8)
        image.set_shape([None, None, 3])
        return image

    image = tf.cond(needs_pillow, with_pillow, with_tensorflow)
    image = tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=True)
    image = tf.clip_by_value(image, 0.0, 255.0)
    image.set_shape([image_size, image_size, 3])
    return image


def make_dataset(root, items, image_size, batch_size, *, num_classes, training=False, augment=True,
                 seed=0, labels=None, cache=False):
    """A batched tf.data.Dataset of (images, one-hot labels) for `items` under `root`.

    training=True shuffles (seeded) and, with augment=True, applies `augmenter` to each batch.
    `labels` overrides the items' labels (pseudo-labels for self-training).
    """
    import tensorflow as tf

    root = Path(root)
    paths = [str(root / item.path) for item in items]
    label_values = [item.label for item in items] if labels is None else list(labels)
    flags = [item.needs_pillow for item in items]
    dataset = tf.data.Dataset.from_tensor_slices((paths, flags, label_values))
    if training:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)

    def load(path, needs_pillow, label):
        return decode_resize(path, needs_pillow, image_size), tf.one_hot(label, num_classes)

    autotune = tf.data.AUTOTUNE
    dataset = dataset.map(load, num_parallel_calls=autotune, deterministic=not training)
    if cache:
        dataset = dataset.cache()
    dataset = dataset.batch(batch_size)
    if training and augment:
        augment_layers = augmenter(seed)
        dataset = dataset.map(lambda x, y: (augment_layers(x, training=True), y), num_parallel_calls=autotune)
    return dataset.prefetch(autotune)


def image_dataset(root, items, image_size, batch_size):
    """Images only (no labels), in order: for predicting (evaluation, pseudo-labelling)."""
    import tensorflow as tf

    root = Path(root)
    paths = [str(root / item.path) for item in items]
    flags = [item.needs_pillow for item in items]
    dataset = tf.data.Dataset.from_tensor_slices((paths, flags))
    dataset = dataset.map(lambda p, f: decode_resize(p, f, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
