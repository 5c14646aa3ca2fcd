"""Training a detector, top to bottom; the command, the demo and the tests call `train`.

    config = TrainConfig(data="var/data/detection-demo", variant="tiny")
    result = train(config, out_dir, hooks)          # -> TrainResult: model file, curves, metrics

`train` seeds everything (and asks TensorFlow for deterministic ops), reads the VOC folder's
train and val splits (a folder with no validation images has some carved out of its training
images, recorded with the model; the training images are never validated on), streams augmented
batches through tf.data, fits with AdamW (linear warm-up, cosine decay over at most `epochs`),
computes the validation mAP after each epoch (`val_map50` in the logs, so it reaches the progress
bar, the run record and the curves), stops when it has not improved for `patience` epochs, keeps
the best epoch's model, and draws the learning curves. `hooks` (deepboot/hooks.py) plug in the
strategy, precision, XLA and the run's callbacks; scoring the kept model is detector/evaluate.py's.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from deepboot.best_epoch import best_epoch_checkpoint
from deepboot.hooks import TrainHooks, seed_everything

from . import voc
from .augment import AugmentConfig
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
    """VOC folder: JPEGImages/, Annotations/, optional ImageSets/Main/{train,val,test}.txt."""
    variant: Literal["yolo26", "tiny"] = "tiny"
    """Network: tiny (CPU-friendly) or yolo26 (YOLO v1, 24 conv + 2 dense)."""
    epochs: int = 150
    """The most passes over the training split (also the length of the cosine decay); early
    stopping (`patience`) usually ends the run sooner."""
    patience: int = 20
    """Stop when the validation mAP has not improved for this many epochs (0: never stop early);
    the best epoch's model is kept either way."""
    batch_size: int = 32
    """Images per step (per replica; the global batch multiplies by the replicas)."""
    image_size: int | None = None
    """Square input side (default 96 for tiny, 448 for yolo26)."""
    grid: int | None = None
    """Grid cells per side (default image_size / 8 for tiny, 7 for yolo26)."""
    boxes: int = 2
    """Boxes predicted per cell (B)."""
    lr: float = 1e-3
    """Peak learning rate of AdamW (after a linear warm-up of `warmup_epochs`, cosine decay to 0)."""
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
        """The config with image_size and grid filled in from the variant's defaults; ValueError
        when the variant is unknown or the network cannot have that input and grid (checked here,
        without building it: TensorFlow must not start before a run picks its strategy)."""
        if self.variant not in VARIANT_DEFAULTS:
            raise ValueError(f"Unknown variant '{self.variant}': choose from {', '.join(VARIANT_DEFAULTS)}")
        size, grid = VARIANT_DEFAULTS[self.variant]
        size = self.image_size or size
        grid = self.grid or grid or size // 8
        if self.variant == "tiny":
            stride = size // grid
            if size % grid or stride < 2 or stride & (stride - 1):
                raise ValueError(f"tiny needs image_size / grid to be a power of two, not {size}/{grid}")
        elif size % 64:
            raise ValueError(f"yolo26 needs an image size that is a multiple of 64, not {size}")
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


def warmup_cosine(lr, total_steps, warmup_steps):
    """Keras schedule: linear warm-up from lr/100 to lr, then cosine decay to 0."""
    import keras

    warmup_steps = max(1, min(warmup_steps, total_steps - 1))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 100, decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=lr, warmup_steps=warmup_steps, alpha=0.0,
    )


def _earlier_history(hooks, stage, found):
    """A callback that, at the first epoch of a fit resumed at epoch k, puts the
    `hooks.earlier_epochs(stage)` rows of epochs 1..k into `found` (so the history tells the
    whole run)."""
    import keras

    class EarlierEpochs(keras.callbacks.Callback):
        checked = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.checked:
                self.checked = True
                found.extend(row for row in hooks.earlier_epochs(stage) if row["epoch"] <= epoch)

    return EarlierEpochs()


def load_splits(config, say):
    """(train data, validation data, split description, carved validation ids or None) of a
    resolved config's VOC folder: its val split, or images held out of train when it has none."""
    train_data = DetectionData.load(config.data, "train")
    split = voc.split_description(config.data)
    try:
        return train_data, DetectionData.load(config.data, "val", class_names=train_data.class_names), split, None
    except voc.VocError as exc:
        if "is empty" not in str(exc):
            raise
    train_data, val_data, carved = carve_validation(train_data, config.val_fraction, config.seed)
    split += (f"; no validation images in the folder: {len(carved)} of the training images held out for "
              f"validation (val_fraction {config.val_fraction}, seed {config.seed})")
    say(f"No validation images in this folder: {len(carved)} training image(s) held out for validation "
        f"({', '.join(carved[:5])}{', …' if len(carved) > 5 else ''}); they are not trained on.")
    return train_data, val_data, split, carved


def train(config, out_dir, hooks=TrainHooks()):
    """Train a detector on a VOC folder and save it under out_dir -> TrainResult.

    Writes out_dir/model.keras (the best epoch by validation mAP), out_dir/curves.png,
    out_dir/history.json and history.csv. The fit is stage "fit" of `hooks`: its callbacks wrap
    ours, and after a resume the epochs of earlier attempts make history, curves and best epoch
    cover the whole run."""
    import keras

    from .evaluate import map_callback
    from .loss import make_loss
    from .networks import weight_layers
    from .plots import plot_curves

    config = config.resolved()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)

    train_data, val_data, split, carved = load_splits(config, hooks.say)
    class_names = train_data.class_names
    batch = hooks.global_batch_size(config.batch_size)
    steps = math.ceil(len(train_data) / batch)
    hooks.say(
        f"Data {config.data}: {len(train_data)} training and {len(val_data)} validation images, "
        f"{len(class_names)} classes ({', '.join(class_names)}); split: {split}"
    )
    augment_config = AugmentConfig() if config.augment else AugmentConfig.none()
    common = dict(image_size=config.image_size, grid=config.grid, batch_size=batch, seed=config.seed)
    train_ds = train_data.dataset(augment_config=augment_config, shuffle=True, repeat=True, **common)
    val_ds = val_data.dataset(shuffle=False, **common)
    if hooks.replicas > 1:
        # Every replica needs images in every validation batch: whole batches only (the mAP callback
        # still scores every validation image).
        val_batch = batch if len(val_data) >= batch else (len(val_data) // hooks.replicas) * hooks.replicas
        val_ds = val_data.dataset(shuffle=False, drop_remainder=True,
                                  **{**common, "batch_size": val_batch}) if val_batch else None

    with hooks.scope(), hooks.precision():
        model = build_model(config, len(class_names))
        schedule = warmup_cosine(config.lr, steps * config.epochs, int(steps * config.warmup_epochs))
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay, clipnorm=10.0)
        model.compile(optimizer=optimizer, loss=make_loss(config.boxes), jit_compile=hooks.jit)
    conv, dense = weight_layers(model)
    hooks.say(
        f"Network {config.variant}: {conv} convolutional + {dense} dense layers, {model.count_params():,} "
        f"parameters, input {config.image_size}×{config.image_size}, grid {config.grid}×{config.grid}, "
        f"{config.boxes} boxes per cell; batch {batch}, {steps} steps per epoch, at most {config.epochs} epochs"
        f"{f', stopping after {config.patience} without a better validation mAP' if config.patience else ''}"
    )

    best_path = out_dir / "model.keras"
    val_indices = list(range(min(len(val_data), config.val_images)))
    before = []
    ours = [
        _earlier_history(hooks, "fit", before),
        map_callback(val_data, val_indices, class_names, config, hooks.say),
        best_epoch_checkpoint(best_path, hooks, "fit", "val_map50"),
        keras.callbacks.CSVLogger(str(out_dir / "history.csv"), append=True),  # a resume adds to it
    ]
    if config.patience:
        ours.append(keras.callbacks.EarlyStopping(monitor="val_map50", mode="max", patience=config.patience,
                                                  restore_best_weights=True))
    started, cpu_started = time.monotonic(), time.process_time()
    history = model.fit(
        train_ds, epochs=config.epochs, steps_per_epoch=steps, validation_data=val_ds,
        callbacks=hooks.callbacks("fit", ours), verbose=hooks.verbose, shuffle=False,
    ).history
    seconds = time.monotonic() - started
    cpu_seconds = time.process_time() - cpu_started
    history = {k: [float(row[k]) for row in before if k in row] + [float(v) for v in values]
               for k, values in history.items()}
    maps = history.get("val_map50") or [0.0]
    if not best_path.exists():  # no epoch was saved (no validation mAP): keep the last
        model.save(best_path)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    curves = plot_curves(history, out_dir / "curves.png", f"{config.variant} on {Path(config.data).name}")
    return TrainResult(
        model_path=best_path, curves_path=curves, history=history, class_names=class_names,
        best_epoch=int(np.argmax(maps)) + 1, val_map50=float(max(maps)), seconds=seconds,
        n_train=len(train_data), n_val=len(val_data), parameters=int(model.count_params()),
        layers=conv + dense, split=split,
        extra={"config": asdict(config), "cpu_seconds": cpu_seconds, "val_ids_carved": carved,
               "epochs_run": len(maps)},
    )
