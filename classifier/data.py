"""Image folders to training data: which images, with which labels, in which split. No Django here.

- `scan_folder(root)`: any `<root>/<class>/<image>` tree. Classes are the folder names, sorted.
  Every file is opened with Pillow; unreadable ones are reported in `skipped` (path, reason)
  and left out. Images whose mode TensorFlow cannot decode directly (CMYK, 16-bit, palette…)
  are marked, and the pipeline (pipeline.py: tf.data) decodes those with Pillow and converts
  them to RGB; so are images with an EXIF orientation, turned upright as uploads are.
- `split_items(items, seed, val, test)`: a deterministic, stratified train/validation/test split
  (the same seed and files give the same split on any machine); `Split.to_json()` is what is
  recorded beside a model. `kfold(items, k, seed)`: stratified folds.
- `content_hash(path)` and `overlapping_files(...)`: the same file (by its bytes) in two folders.
"""

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

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
    needs_pillow = (fmt not in _TF_FORMATS or mode not in _TF_MODES or (fmt == "PNG" and mode == "P")
                    or _exif_orientation(path) not in (None, 1))
    return needs_pillow, None


def _exif_orientation(path):
    """The EXIF orientation tag (1: upright) of an image file, or None without one."""
    try:
        with Image.open(path) as image:
            return image.getexif().get(0x0112)
    except (OSError, SyntaxError, ValueError):
        return None


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


# ------------------------------------------------------------------------------------------ overlap


def content_hash(path, chunk=1 << 20):
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def overlapping_files(root, items, other_root, other_items):
    """[(path under root, path under other_root)] of the files that have the same content in both
    lists (whatever their names), sorted."""
    ours = {}
    for item in items:
        ours.setdefault(content_hash(Path(root) / item.path), item.path)
    found = []
    for item in other_items:
        match = ours.get(content_hash(Path(other_root) / item.path))
        if match is not None:
            found.append((match, item.path))
    return sorted(found)
