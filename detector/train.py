"""Training and evaluating a detector, top to bottom; the management commands are thin glue.

    config = TrainConfig(data="var/data/detection-demo", variant="tiny")
    result = train(config, out_dir, stdout=...)      # -> TrainResult: model file, curves, metrics
    map50, per_class = evaluate_saved(result.model_path, data, split="test")

`train` seeds everything (and asks TensorFlow for deterministic ops), reads the VOC folder's
train and val splits (a folder with no validation images has some carved out of its training
images, recorded with the model; the training images are never validated on), streams augmented
batches through tf.data, fits with AdamW (linear warm-up, cosine decay over at most `epochs`),
computes the validation mAP after each epoch (`val_map50` in the logs, so it reaches the progress
bar, the run record and the curves), stops when it has not improved for `patience` epochs, keeps
the best epoch's model, and draws the learning curves.
"""

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import voc
from .augment import AugmentConfig, resize_for_model
from .data import DetectionData

VARIANT_DEFAULTS = {
    # variant: (image size, grid)
    "tiny": (96, None),
    "yolo26": (448, 7),
}


@dataclass(frozen=True)
class TrainConfig:
    """One training run of a detector. The defaults are for a user's own VOC folder (hundreds to a
    few thousand images): train until the validation mAP stops improving; the demo (`bootstrap`)
    and the tests pass their own short schedules."""

    data: str
    """VOC-layout folder: JPEGImages/, Annotations/, optional ImageSets/Main/*.txt."""
    variant: str = "tiny"
    """Network: tiny (CPU-friendly) or yolo26 (YOLO v1, 24 conv + 2 dense)."""
    epochs: int = 150
    """The most passes over the training split (also the length of the cosine decay); early
    stopping (`patience`) usually ends the run sooner. The demo passes 10."""
    patience: int = 20
    """Stop when the validation mAP has not improved for this many epochs (0: never stop early);
    the best epoch's model is kept either way."""
    batch_size: int = 32
    """Images per step (per replica; the global batch multiplies by the replicas)."""
    image_size: int | None = None
    """Square input side; default 96 for tiny, 448 for yolo26."""
    grid: int | None = None
    """Cells per side; default image_size / 8 for tiny, 7 for yolo26."""
    boxes: int = 2
    """Boxes predicted per cell (B)."""
    lr: float = 1e-3
    """Peak learning rate of Adam (after a linear warm-up of `warmup_epochs`, cosine decay to 0)."""
    warmup_epochs: float = 1.0
    """Epochs of linear learning-rate warm-up."""
    weight_decay: float = 5e-4
    """AdamW's decoupled weight decay (YOLO v1 used 5e-4)."""
    width: int = 16
    """tiny only: network width (the first block has width / 2 filters, doubling per pool)."""
    augment: bool = True
    """Flips, scale and shift, colour jitter on the training images."""
    seed: int = 0
    """Seeds Python, NumPy and Keras, and the augmentation stream."""
    val_images: int = 500
    """Validation images scored for mAP after each epoch (the first N of the split)."""
    val_fraction: float = 0.1
    """With no validation images in the folder: this fraction of the training images (at least
    one) is held out for validation, chosen by `seed`."""
    score_threshold: float = 0.01
    """Lowest score kept when computing mAP (low, so the PR curve reaches high recall)."""
    iou_threshold: float = 0.5
    """NMS IoU threshold."""

    def resolved(self):
        """The config with image_size and grid filled in from the variant's defaults."""
        if self.variant not in VARIANT_DEFAULTS:
            raise ValueError(f"Unknown variant '{self.variant}': choose from {', '.join(VARIANT_DEFAULTS)}")
        size, grid = VARIANT_DEFAULTS[self.variant]
        size = self.image_size or size
        if self.variant == "yolo26":
            grid = self.grid or grid
        else:
            grid = self.grid or size // 8
        return TrainConfig(**{**asdict(self), "image_size": size, "grid": grid})


@dataclass
class TrainResult:
    model_path: Path
    curves_path: Path
    history: dict
    class_names: list
    best_epoch: int
    val_map50: float
    seconds: float
    n_train: int
    n_val: int
    parameters: int
    layers: int
    split: str
    extra: dict = field(default_factory=dict)


def seed_everything(seed):
    """Seeds random, NumPy and Keras, and asks TensorFlow for deterministic ops."""
    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def carve_validation(data, fraction, seed):
    """(train part, validation part, validation image ids): `fraction` of a DetectionData's images
    (at least one, and at least one left to train on) held out, chosen by `seed`."""
    if len(data) < 2:
        raise voc.VocError(
            f"{data.root}: {len(data)} training image(s) and no validation split; at least 2 images are needed "
            "to hold one out for validation."
        )
    count = min(len(data) - 1, max(1, round(len(data) * fraction)))
    held = sorted(np.random.default_rng([seed, 7919]).permutation(len(data))[:count].tolist())
    rest = [i for i in range(len(data)) if i not in set(held)]
    ids = [data.annotations[i].image_id for i in held]
    return data.subset(rest, "train"), data.subset(held, "val"), ids


def build_model(config, n_classes):
    """The network of a resolved config."""
    from .networks import build_tiny, build_yolo26

    if config.variant == "yolo26":
        return build_yolo26(config.image_size, config.grid, config.boxes, n_classes)
    return build_tiny(config.image_size, config.grid, config.boxes, n_classes, width=config.width)


def boxes_per_cell(model, n_classes):
    """B from a model's output channels (B*5 + C)."""
    channels = int(model.output_shape[-1])
    if (channels - n_classes) % 5 or channels <= n_classes:
        raise ValueError(f"output channels {channels} do not fit {n_classes} classes")
    return (channels - n_classes) // 5


def predict_detections(model, data, class_names, *, indices=None, batch_size=16, score_threshold=0.01,
                       iou_threshold=0.5, max_detections=100):
    """{image_id: [Detection]} for images of a DetectionData, boxes in each image's own pixels."""
    from .boxes import detect_from_output

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
    """{image_id: [(label, box, difficult)]} for the evaluation."""
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
    map50, per_class = evaluate(found, ground_truths(data, indices), class_names)
    if examples_png is not None:
        shown = indices[:examples]
        detection_grid(
            [data.image(i) for i in shown],
            [[d for d in found[data.annotations[i].image_id] if d.score >= example_threshold] for i in shown],
            class_names, examples_png,
        )
    return map50, per_class, len(indices)


def load_model(path):
    import keras

    return keras.saving.load_model(path, compile=False)


def evaluate_saved(model_path, data_root, class_names, split="test", **kwargs):
    """Reload a saved model and evaluate it on a split of a VOC folder -> (map50, per_class, n)."""
    model = load_model(model_path)
    data = DetectionData.load(data_root, split, class_names=class_names)
    return evaluate_model(model, data, class_names, **kwargs)


def warmup_cosine(lr, total_steps, warmup_steps):
    """Keras schedule: linear warm-up from lr/100 to lr, then cosine decay to 0."""
    import keras

    warmup_steps = max(1, min(warmup_steps, total_steps - 1))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 100, decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=lr, warmup_steps=warmup_steps, alpha=0.0,
    )


def map_callback(model_data, class_names, config, every=1, stdout=None):
    """A Keras callback adding `val_map50` (VOC mAP@0.5 on the validation images) to each
    epoch's logs (and writing it to `stdout`)."""
    import keras

    data, indices = model_data

    class ValidationMAP(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None or (epoch + 1) % every:
                return
            map50, _, _ = evaluate_model(
                self.model, data, class_names, indices=indices,
                score_threshold=config.score_threshold, iou_threshold=config.iou_threshold,
            )
            logs["val_map50"] = 0.0 if math.isnan(map50) else map50
            (stdout or sys.stdout).write(f"epoch {epoch + 1}: val_map50 {logs['val_map50']:.4f}\n")

    return ValidationMAP()


def plot_curves(history, path, title):
    """Loss (train, val) and validation mAP per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history.get("loss", [])) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if history.get(key):
            left.plot(epochs, history[key], marker=".", label=label)
    left.set_xlabel("epoch")
    left.set_ylabel("YOLO loss")
    left.set_yscale("log")
    left.legend()
    left.grid(alpha=0.3)
    if history.get("val_map50"):
        right.plot(epochs, history["val_map50"], marker=".", color="tab:green")
    right.set_xlabel("epoch")
    right.set_ylabel("validation mAP@0.5")
    right.set_ylim(0, 1)
    right.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _earlier_history(earlier, found):
    """A callback that, at the first epoch of a fit resumed at epoch k, puts the `earlier("fit")`
    rows of epochs 1..k into `found` (so the history tells the whole run)."""
    import keras

    class EarlierEpochs(keras.callbacks.Callback):
        checked = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.checked:
                self.checked = True
                found.extend(row for row in earlier("fit") if row["epoch"] <= epoch)

    return EarlierEpochs()


def train(config, out_dir, *, strategy=None, jit=False, callbacks=None, stdout=None, verbose="auto", earlier=None):
    """Train a detector on a VOC folder and save it under out_dir.

    strategy: a tf.distribute strategy (None: the default); callbacks(extra) -> the list to pass
    to fit (the run's recorder and backup wrap ours); writes out_dir/model.keras (the best epoch
    by validation mAP), out_dir/curves.png and out_dir/history.json. Returns TrainResult.
    earlier(stage): the epoch rows a resumed run's earlier attempts recorded; history, curves and
    best epoch then cover the whole run.
    """
    import keras
    import tensorflow as tf

    from .loss import make_loss
    from .networks import weight_layers

    stdout = stdout or sys.stdout
    config = config.resolved()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    strategy = strategy or tf.distribute.get_strategy()

    train_data = DetectionData.load(config.data, "train")
    class_names = train_data.class_names
    split = voc.split_description(config.data)
    carved = None
    try:
        val_data = DetectionData.load(config.data, "val", class_names=class_names)
    except voc.VocError as exc:
        if "is empty" not in str(exc):
            raise
        train_data, val_data, carved = carve_validation(train_data, config.val_fraction, config.seed)
        split += (f"; no validation images in the folder: {len(carved)} of the training images held out for "
                  f"validation (val_fraction {config.val_fraction}, seed {config.seed})")
        stdout.write(f"No validation images in this folder: {len(carved)} training image(s) held out for validation "
                     f"({', '.join(carved[:5])}{', …' if len(carved) > 5 else ''}); they are not trained on.\n")
    replicas = strategy.num_replicas_in_sync
    batch = config.batch_size * replicas
    steps = math.ceil(len(train_data) / batch)
    stdout.write(
        f"Data {config.data}: {len(train_data)} training and {len(val_data)} validation images, "
        f"{len(class_names)} classes ({', '.join(class_names)}); split: {split}\n"
    )
    augment_config = AugmentConfig() if config.augment else AugmentConfig.none()
    common = dict(image_size=config.image_size, grid=config.grid, batch_size=batch, seed=config.seed)
    train_ds = train_data.dataset(augment_config=augment_config, shuffle=True, repeat=True, **common)
    val_ds = val_data.dataset(shuffle=False, **common)
    if replicas > 1:
        # Every replica needs images in every validation batch: whole batches only (the mAP callback
        # still scores every validation image).
        val_batch = batch if len(val_data) >= batch else (len(val_data) // replicas) * replicas
        val_ds = val_data.dataset(shuffle=False, drop_remainder=True,
                                  **{**common, "batch_size": val_batch}) if val_batch else None

    with strategy.scope():
        model = build_model(config, len(class_names))
        schedule = warmup_cosine(config.lr, steps * config.epochs, int(steps * config.warmup_epochs))
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay, clipnorm=10.0)
        model.compile(optimizer=optimizer, loss=make_loss(config.boxes), jit_compile=jit)
    conv, dense = weight_layers(model)
    stdout.write(
        f"Network {config.variant}: {conv} convolutional + {dense} dense layers, {model.count_params():,} "
        f"parameters, input {config.image_size}×{config.image_size}, grid {config.grid}×{config.grid}, "
        f"{config.boxes} boxes per cell; batch {batch}, {steps} steps per epoch, at most {config.epochs} epochs"
        f"{f', stopping after {config.patience} without a better validation mAP' if config.patience else ''}\n"
    )

    best_path = out_dir / "model.keras"
    val_indices = list(range(min(len(val_data), config.val_images)))
    ours = [
        map_callback((val_data, val_indices), class_names, config, stdout=stdout),
        keras.callbacks.ModelCheckpoint(str(best_path), monitor="val_map50", mode="max", save_best_only=True),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=True),  # a resume adds to it
    ]
    before = []
    if earlier is not None:
        ours.insert(0, _earlier_history(earlier, before))
    if config.patience:
        ours.append(keras.callbacks.EarlyStopping(monitor="val_map50", mode="max", patience=config.patience,
                                                  restore_best_weights=True))
    started, cpu_started = time.monotonic(), time.process_time()
    history = model.fit(
        train_ds, epochs=config.epochs, steps_per_epoch=steps, validation_data=val_ds,
        callbacks=callbacks(ours) if callbacks else ours, verbose=verbose, shuffle=False,
    ).history
    seconds = time.monotonic() - started
    cpu_seconds = time.process_time() - cpu_started
    history = {k: [float(row[k]) for row in before if k in row] + [float(v) for v in values]
               for k, values in history.items()}
    maps = history.get("val_map50") or [0.0]
    best_epoch = int(np.argmax(maps)) + 1
    if not best_path.exists():  # a resumed run whose best epoch came before the kill
        model.save(best_path)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    curves = plot_curves(history, out_dir / "curves.png", f"{config.variant} on {Path(config.data).name}")
    return TrainResult(
        model_path=best_path, curves_path=curves, history=history, class_names=class_names,
        best_epoch=best_epoch, val_map50=float(max(maps)), seconds=seconds, n_train=len(train_data),
        n_val=len(val_data), parameters=int(model.count_params()), layers=conv + dense,
        split=split, extra={"config": asdict(config), "cpu_seconds": cpu_seconds, "val_ids_carved": carved,
                            "epochs_run": len(maps)},
    )


def measure_latency(model, image, class_names, repeats=20):
    """Median milliseconds for one image through the serving path (resize, predict, decode, NMS)."""
    from .boxes import detect_from_output

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
