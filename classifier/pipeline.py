"""Items to tf.data: decode, resize, batch and augment the images a data.py scan found. No Django.

- `make_dataset(root, items, …)`: (images, one-hot labels) batches. Decodes JPEG/PNG/GIF/BMP
  natively and others through Pillow (`pillow_rgb`, turned upright by their EXIF orientation
  exactly as an upload is), resizes to S x S, batches, augments the training set with the chosen
  transforms (`AUGMENTATIONS`: flip, shift, rotate, zoom, color; each layer seeded on its own),
  and prefetches. The order of the images is deterministic for a seed (a seeded shuffle,
  order-preserving parallel decoding, sequential augmentation), so a run can be repeated exactly.
  Pixels stay raw 0-255: each network's own preprocessing is inside the model.
- `image_dataset(root, items, …)`: images only, in order, for predicting.
"""

from pathlib import Path

from PIL import Image, ImageOps

from deepboot.imaging import to_rgb

from .data import DataError


def pillow_rgb(path):
    """Decode any image Pillow reads as RGB uint8 (CMYK, 16-bit, palette, alpha on white), turned
    upright by its EXIF orientation: the same steps, in the same order, as an upload is served with
    (deepboot_site/uploads.py: load, `ImageOps.exif_transpose`, `to_rgb`)."""
    import numpy as np

    with Image.open(path) as image:
        image.load()
        return np.asarray(to_rgb(ImageOps.exif_transpose(image)), dtype=np.uint8)


# ------------------------------------------------------------------------------------ augmentation

AUGMENTATIONS = ("flip", "shift", "rotate", "zoom", "color")
"""The transforms `--augment` chooses from, in the order they are applied."""
DEFAULT_AUGMENT = ",".join(AUGMENTATIONS)
"""The book's set for photos: all of them."""


def parse_augment(text):
    """`--augment` text -> a tuple of transform names in AUGMENTATIONS order: "none" or "" is no
    augmentation, otherwise a comma-separated subset ("flip,shift"). True/False (the old boolean
    setting) mean all / none. Raises DataError naming an unknown transform."""
    if text is True:
        return AUGMENTATIONS
    if text in (False, None):
        return ()
    names = [name.strip().lower() for name in str(text).split(",") if name.strip()]
    if names in ([], ["none"]):
        return ()
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise DataError(f"Unknown augmentation {', '.join(unknown)}: choose from {', '.join(AUGMENTATIONS)}, "
                        "or none.")
    return tuple(name for name in AUGMENTATIONS if name in names)


def augmenter(seed=0, transforms=AUGMENTATIONS):
    """The training-only augmentation on 0-255 pixels: a `keras.Sequential` of the chosen
    `transforms` (see AUGMENTATIONS), each random layer with its own seed derived from `seed`, so
    the layers draw independent numbers (a flip says nothing about the brightness)."""
    import keras

    transforms = parse_augment(",".join(transforms) if not isinstance(transforms, str) else transforms)
    seeds = iter(range(seed * 16 + 1, seed * 16 + 16))
    makers = {
        "flip": lambda: [keras.layers.RandomFlip("horizontal", seed=next(seeds))],
        "shift": lambda: [keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=next(seeds))],
        "rotate": lambda: [keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=next(seeds))],
        "zoom": lambda: [keras.layers.RandomZoom((-0.15, 0.15), fill_mode="reflect", seed=next(seeds))],
        "color": lambda: [keras.layers.RandomBrightness(0.15, value_range=(0, 255), seed=next(seeds)),
                          keras.layers.RandomContrast(0.15, seed=next(seeds))],
    }
    layers = [layer for name in transforms for layer in makers[name]()]
    return keras.Sequential(layers, name="augment")


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

    training=True shuffles (seeded) and applies `augmenter(seed, augment)` to each batch;
    `augment` is a set of transform names, "none", or True/False (all/none).
    `labels` overrides the items' labels (pseudo-labels for self-training). For a given seed the
    batches are the same on every pass through the pipeline of a fresh process.
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
    dataset = dataset.map(load, num_parallel_calls=autotune, deterministic=True)
    if cache:
        dataset = dataset.cache()
    dataset = dataset.batch(batch_size)
    transforms = parse_augment(augment) if not isinstance(augment, (tuple, list)) else tuple(augment)
    if training and transforms:
        augment_layers = augmenter(seed, transforms)
        # One batch at a time: the random layers' seed state advances in a fixed order.
        dataset = dataset.map(lambda x, y: (augment_layers(x, training=True), y))
    return dataset.prefetch(autotune)


def image_dataset(root, items, image_size, batch_size):
    """Images only (no labels), in order: for predicting (evaluation, pseudo-labelling)."""
    import tensorflow as tf

    root = Path(root)
    paths = [str(root / item.path) for item in items]
    flags = [item.needs_pillow for item in items]
    dataset = tf.data.Dataset.from_tensor_slices((paths, flags))
    dataset = dataset.map(lambda p, f: decode_resize(p, f, image_size), num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
