"""From a VOC folder to the network: targets per grid cell, and the tf.data input pipeline.

`encode_targets` turns one image's boxes into the (S, S, 5 + C) target the loss reads:
[has_object, x, y, w, h, one-hot class] per cell, x, y the centre's offset within the cell and
w, h the size as fractions of the image. A cell holds one object (YOLO v1's limit): where two
centres share a cell, the larger object is kept. VOC's "difficult" objects are neither positive
nor negative: the cell of a difficult object's centre (when no other object claims it) has
has_object = -1, which the loss reads as "ignore" (no object loss, no no-object loss), as the VOC
evaluation ignores detections that match them.

`DetectionData` reads a split of a VOC folder once (annotations, and small images kept decoded in
memory); `dataset(...)` streams augmented batches of (pixels, targets) through tf.data with
prefetching, for model.fit.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from deepboot.imaging import to_rgb

from . import voc
from .augment import AugmentConfig, augment

# Keep decoded images in memory when a split has at most this many pixels in all (~600 MB).
CACHE_PIXELS = 200_000_000


def encode_targets(boxes, labels, image_size, grid, n_classes, difficult=None):
    """(N, 4) xyxy pixel boxes of an image_size × image_size input, (N,) labels, optional (N,)
    difficult flags -> (grid, grid, 5 + n_classes) float32 targets (has_object -1: ignore)."""
    target = np.zeros((grid, grid, 5 + n_classes), dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / float(image_size)
    difficult = np.zeros(len(boxes), dtype=bool) if difficult is None else np.asarray(difficult, bool).reshape(-1)
    for x_min, y_min, x_max, y_max in np.clip(boxes[difficult], 0.0, 1.0):
        if x_max > x_min and y_max > y_min:
            col = min(int((x_min + x_max) / 2 * grid), grid - 1)
            row = min(int((y_min + y_max) / 2 * grid), grid - 1)
            target[row, col, 0] = -1.0
    areas = np.prod(np.maximum(boxes[:, 2:] - boxes[:, :2], 0), axis=1)
    for index in np.argsort(areas, kind="stable"):  # larger boxes last, so they win a shared cell
        if difficult[index]:
            continue
        x_min, y_min, x_max, y_max = np.clip(boxes[index], 0.0, 1.0)
        w, h = x_max - x_min, y_max - y_min
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x_min + x_max) / 2 * grid, (y_min + y_max) / 2 * grid
        col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
        target[row, col, :] = 0
        target[row, col, 0:5] = (1.0, cx - col, cy - row, w, h)
        target[row, col, 5 + int(labels[index])] = 1.0
    return target


def upright(image, annotated_size):
    """An opened image as RGB, turned by its EXIF orientation as uploads are before detection
    (deepboot_site/uploads.py: `ImageOps.exif_transpose`, then `to_rgb`), unless the annotation's
    <size> says its boxes were drawn on the stored pixels (it matches the stored size and not the
    turned one)."""
    image.load()
    turned = ImageOps.exif_transpose(image)
    if turned.size != image.size and tuple(annotated_size) == image.size:
        turned = image
    return to_rgb(turned)


@dataclass
class DetectionData:
    """One split of a VOC folder: annotations, class names, and image loading."""

    root: Path
    split: str
    annotations: list
    class_names: list

    @classmethod
    def load(cls, root, split, class_names=None):
        root = Path(root)
        voc.check_layout(root)
        ids = voc.split_ids(root, split)
        if not ids:
            raise voc.VocError(f"{root}: the '{split}' split is empty (use --split all to take every image)")
        annotations = voc.load_annotations(root, ids)
        names = list(class_names) if class_names else voc.class_names(annotations)
        data = cls(root, split, annotations, names)
        data._cache = {} if sum(a.width * a.height for a in annotations) <= CACHE_PIXELS else None
        return data

    def __len__(self):
        return len(self.annotations)

    def image(self, index):
        """The RGB image of annotation `index` (decoded once when the split is small)."""
        cache = getattr(self, "_cache", None)
        if cache is not None and index in cache:
            return cache[index]
        annotation = self.annotations[index]
        with Image.open(voc.image_path(self.root, annotation)) as opened:
            image = upright(opened, (annotation.width, annotation.height))
        if cache is not None:
            cache[index] = image
        return image

    def boxes_and_labels(self, index, include_difficult=False):
        """(N, 4) xyxy pixel boxes and (N,) class indices of an image; unknown classes skipped."""
        lookup = {name: i for i, name in enumerate(self.class_names)}
        objects = [
            o for o in self.annotations[index].objects
            if o.name in lookup and (include_difficult or not o.difficult)
        ]
        boxes = np.array([o.box for o in objects], dtype=np.float32).reshape(-1, 4)
        labels = np.array([lookup[o.name] for o in objects], dtype=np.int32)
        return boxes, labels

    def subset(self, indices, split):
        """The images at `indices` as a DetectionData of their own, named `split`."""
        part = DetectionData(self.root, split, [self.annotations[i] for i in indices], self.class_names)
        cache = getattr(self, "_cache", None)
        part._cache = None if cache is None else {}
        return part

    def example(self, index, image_size, grid, config, rng):
        """(pixels (S_img, S_img, 3) float32, targets (grid, grid, 5 + C) float32) for one image.
        Difficult objects go through the augmentation with the others (carried as label -1 - c) and
        are encoded as ignored cells."""
        boxes, labels = self.boxes_and_labels(index, include_difficult=True)
        lookup = {name: i for i, name in enumerate(self.class_names)}
        flags = np.array([o.difficult for o in self.annotations[index].objects if o.name in lookup], dtype=bool)
        carried = np.where(flags, -1 - labels, labels)
        pixels, boxes, carried = augment(self.image(index), boxes, carried, image_size, config, rng)
        carried = np.asarray(carried).reshape(-1)
        difficult = carried < 0
        labels = np.where(difficult, -1 - carried, carried)
        target = encode_targets(boxes, labels, image_size, grid, len(self.class_names), difficult=difficult)
        return pixels.astype(np.float32), target

    def dataset(self, *, image_size, grid, batch_size, augment_config=None, shuffle=True, seed=0,
                repeat=False, workers=None, drop_remainder=False):
        """A tf.data.Dataset of (pixels (batch, size, size, 3), targets (batch, S, S, 5 + C)).

        Augmented with `augment_config` (None: plain resize), reshuffled each epoch with a fresh
        random stream per epoch derived from `seed`. `workers` Python generators (default: 1 for
        small splits, up to 8 for large ones such as VOC) decode and augment in parallel threads
        (Pillow releases the GIL); their outputs are interleaved in a fixed order.
        """
        import os

        import tensorflow as tf

        config = augment_config or AugmentConfig.none()
        n_classes = len(self.class_names)
        if workers is None:
            workers = 1 if len(self) <= 2000 else min(8, os.cpu_count() or 1)
        workers = max(1, min(workers, len(self)))
        epochs = {}  # worker -> passes started, so each pass reshuffles

        def generate(worker):
            worker = int(worker)
            epoch = epochs.get(worker, 0)
            epochs[worker] = epoch + 1
            order = np.random.default_rng([seed, epoch]).permutation(len(self)) if shuffle else np.arange(len(self))
            rng = np.random.default_rng([seed, epoch, worker])
            for index in order[worker::workers]:
                yield self.example(int(index), image_size, grid, config, rng)

        signature = (
            tf.TensorSpec((image_size, image_size, 3), tf.float32),
            tf.TensorSpec((grid, grid, 5 + n_classes), tf.float32),
        )
        if workers == 1:
            ds = tf.data.Dataset.from_generator(generate, args=(0,), output_signature=signature)
        else:
            ds = tf.data.Dataset.range(workers).interleave(
                lambda worker: tf.data.Dataset.from_generator(generate, args=(worker,), output_signature=signature),
                cycle_length=workers, block_length=1, num_parallel_calls=workers, deterministic=True,
            )
        ds = ds.repeat() if repeat else ds.apply(tf.data.experimental.assert_cardinality(len(self)))
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
