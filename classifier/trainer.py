"""Training the classifiers: hold-out, two-stage fine-tuning, self-training and K-fold. No Django.

`train(config, out_dir)` reads top to bottom:

1. seed everything (and make TensorFlow's ops deterministic: one seed, one result); scan the data
   folder; make the stratified train/validation/test split; with self-training, refuse an
   unlabelled folder that shares files (by content) with the labelled data;
2. `fit_network`: build the network and fit it until the validation accuracy stops improving
   (`patience`, at most `epochs`), keeping the best epoch; with `two_stage`, first the new head on
   a frozen base, then the whole network at a lower rate. A base that starts from pre-trained
   weights, or is fine-tuned in two stages, keeps its batch normalisation in inference mode in
   both stages, its statistics untouched (what keras-io's transfer-learning guide gets by calling
   the base with `training=False`; see `networks.set_base_trainable` for why it is done by
   freezing those layers in Keras 3);
3. `evaluate_items`: top-1/top-5 on the test split;
4. with `self_training`: label the unlabelled images with the model's confident predictions
   (softmax >= `confidence`), train a fresh network on training + pseudo-labelled images, and
   report the test accuracy before and after (the gain);
5. with `folds` K: K-fold cross-validation over the non-test images instead of the single
   validation split. Each fold is scored on images that chose nothing: early stopping watches an
   inner validation split carved from the fold's training images. The report gives each fold's
   score and their mean ± standard deviation; the best fold's model is kept, or with `refit` a
   model trained on all the non-test images for the folds' mean best epoch count;
6. save the model (.keras, raw pixels in), the split, and the learning curves (PNG).

The command (`train_classifier`) passes a `callbacks(stage, extra)` hook (the shared run
recording and backup/restore) and the distribution strategy; the defaults here train alone.
"""

import json
import random
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import data as data_module
from . import networks, plots

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. The defaults are for a user's own data set (hundreds to a few thousand
    images): train until the validation accuracy has not improved for `patience` epochs, at most
    `epochs`, and keep the best epoch. The demo and the tests pass their own short schedules."""

    arch: str
    """cnn9, vgg16 or resnet152."""
    data: str
    """Data root: <data>/<class>/<image>."""
    epochs: int = 100
    """The most epochs (per stage with two-stage training; per fold with --folds); early stopping
    usually ends the run sooner."""
    batch_size: int = 32
    """Images per batch and replica."""
    image_size: int = 224
    """Images are resized to S x S (224 is what the book and ImageNet weights use)."""
    optimizer: str = "adam"
    """sgd (momentum 0.9, Nesterov), adagrad, rmsprop or adam."""
    lr: float | None = None
    """Learning rate; None: 1e-3 (adam/rmsprop), 1e-2 (sgd/adagrad), ten times lower when the base
    starts from pre-trained weights, and for vgg16 (see `learning_rate`)."""
    weight_decay: float = 1e-4
    """L2 on cnn9's kernels; decoupled weight decay in the optimizer for vgg16/resnet152."""
    weights: str = "none"
    """none, imagenet, or the path of a weights file for the base (vgg16/resnet152)."""
    augment: str = data_module.DEFAULT_AUGMENT
    """The transforms of the training images, comma-separated from flip, shift, rotate, zoom,
    color; or none. (True/False, the old setting, mean all/none.)"""
    two_stage: bool = False
    """Train the head with the base frozen, then fine-tune everything at `fine_tune_lr`."""
    fine_tune_lr: float | None = None
    """Learning rate of the second stage; None: lr / 10."""
    self_training: str | None = None
    """A folder of unlabelled images to pseudo-label and train on again."""
    confidence: float = 0.9
    """Self-training keeps predictions whose softmax probability is at least this."""
    folds: int = 0
    """K-fold cross-validation with K folds (0: the hold-out split)."""
    refit: bool = False
    """With folds: the kept model is trained on all the non-test images for the folds' mean best
    epoch count (instead of the best fold's model)."""
    seed: int = 0
    """Seeds random, NumPy and Keras, and the split."""
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    patience: int = 10
    """Early stopping: epochs without validation improvement before stopping (the best epoch's
    weights are restored)."""
    dropout: float = 0.5
    recalibrate_bn: bool = False
    """After fitting, re-estimate batch-norm statistics on a few training batches. A run of a
    handful of steps leaves ResNet's moving averages near their initial values, which makes its
    inference-mode outputs degenerate (one class at ~100%); this fixes that cheaply."""
    eager: bool = False
    """Run Keras eagerly (no graph tracing). Tracing ResNet152's training step takes minutes on a
    CPU, so for a handful of steps (smoke tests, the CPU demo) eager is much faster."""

    def pretrained(self):
        """True when the base starts from pre-trained weights (imagenet or a weights file)."""
        return self.arch != "cnn9" and self.weights not in (None, "", "none", "None")

    def learning_rate(self):
        """`lr`, or the default: 1e-3 (adam/rmsprop) or 1e-2 (sgd/adagrad), ten times lower for a
        base that starts from pre-trained weights. vgg16 has no batch normalisation and diverges
        from scratch at the full rate (chance after 15 epochs of the generated stripes set where
        1e-4 reaches 0.78), so it gets the lower rate in both cases."""
        if self.lr is not None:
            return self.lr
        base = 1e-2 if self.optimizer in ("sgd", "adagrad") else 1e-3
        return base / 10 if self.pretrained() or self.arch == "vgg16" else base

    def base_inference(self):
        """Keep the base's batch normalisation in inference mode (as if called with training=False):
        when it starts from pre-trained weights or is fine-tuned in two stages."""
        return self.pretrained() or self.two_stage

    def transforms(self):
        return data_module.parse_augment(self.augment)

    def fine_tune_learning_rate(self):
        return self.fine_tune_lr if self.fine_tune_lr is not None else self.learning_rate() / 10


@dataclass
class TrainResult:
    model: object
    class_names: list
    metrics: dict
    epochs: list
    model_path: Path
    curves_path: Path
    split_path: Path
    report: dict = field(default_factory=dict)


def seed_everything(seed):
    """One block seeds random, NumPy and Keras (and TensorFlow through Keras), and asks TensorFlow
    for deterministic ops, so one seed on one machine gives one result."""
    import keras
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_optimizer(name, lr, weight_decay=None):
    import keras

    decay = weight_decay or None
    if name == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=decay)
    if name == "adagrad":
        return keras.optimizers.Adagrad(lr, weight_decay=decay)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr, weight_decay=decay)
    if name == "adam":
        return keras.optimizers.Adam(lr, weight_decay=decay)
    raise ValueError(f"Unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}.")


def compile_network(model, config, lr, num_classes, jit=False):
    import keras

    decay = config.weight_decay if config.arch != "cnn9" else None
    model.compile(
        optimizer=make_optimizer(config.optimizer, lr, decay),
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5")],
        jit_compile=jit and not config.eager,
        run_eagerly=config.eager,
    )


class _Hooks:
    """What the caller plugs in: callbacks per stage, the strategy, XLA and the replica count."""

    def __init__(self, callbacks=None, strategy=None, jit=False, replicas=1, stdout=None, verbose=None,
                 earlier=None):
        self.callbacks = callbacks or (lambda stage, extra: list(extra))
        self.verbose = verbose if verbose is not None else (2 if stdout is None else 1)
        self.earlier = earlier or (lambda stage: [])
        self.strategy = strategy
        self.jit = jit
        self.replicas = replicas
        self.stdout = stdout

    def scope(self):
        import contextlib

        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def say(self, text):
        if self.stdout is not None:
            self.stdout.write(text + "\n")


def _epoch_timer(rows, stage, earlier):
    """Times each epoch into `rows`. A fit resumed at epoch k (BackupAndRestore) first takes the
    rows of epochs 1..k from `earlier(stage)`, so the rows tell the whole stage."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        resumed_checked = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.resumed_checked:
                self.resumed_checked = True
                rows.extend(row for row in earlier(stage) if row["epoch"] <= epoch)
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            entry = {"stage": stage, "epoch": epoch + 1, "seconds": round(time.perf_counter() - self.started, 3)}
            entry.update({k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)})
            rows.append(entry)

    return EpochTimer()


def _fit(model, config, hooks, stage, train_ds, val_ds, epochs, checkpoint_dir, rows, early_stopping=True):
    import keras

    monitor = "val_accuracy" if val_ds is not None else "accuracy"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    extra = [_epoch_timer(rows, stage, hooks.earlier)]
    if early_stopping:
        extra += [
            keras.callbacks.ModelCheckpoint(
                str(checkpoint_dir / f"best-{stage}.weights.h5"), monitor=monitor, mode="max",
                save_best_only=True, save_weights_only=True,
            ),
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode="max", patience=config.patience, restore_best_weights=True
            ),
        ]
        hooks.say(f"[{stage}] fitting until {monitor} stops improving ({config.patience} epoch(s) of patience, "
                  f"at most {epochs} epoch(s)); the best epoch is kept")
    else:
        hooks.say(f"[{stage}] fitting {epochs} epoch(s)")
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=hooks.callbacks(stage, extra), shuffle=False,
              verbose=hooks.verbose)


def best_epochs(rows, prefix=""):
    """{stage suffix: best epoch (1-based) by validation accuracy, as early stopping chose it} of
    the rows of stages starting with `prefix` ("fold2-" -> {"fit": 7} or {"head": 3, "finetune": 5}).
    A stage without validation (too few images to hold some out) is judged, as early stopping
    judged it, by its training accuracy."""
    found = {}
    for row in rows:
        if not row["stage"].startswith(prefix):
            continue
        score = row.get("val_accuracy", row.get("accuracy"))
        stage = row["stage"][len(prefix):]
        if score is not None and (stage not in found or score > found[stage][1]):
            found[stage] = (row["epoch"], score)
    return {stage: epoch for stage, (epoch, _) in found.items()}


def fit_network(config, dataset, train_items, val_items, hooks, stage_prefix="", rows=None,
                checkpoint_dir=None, labels=None, epochs=None):
    """Build and fit one network on `train_items` (optionally with pseudo-`labels`).

    With `val_items`, each stage stops early on the validation accuracy and keeps its best epoch.
    `epochs` ({stage: count}, e.g. from `best_epochs`) instead trains each stage exactly that many
    epochs with no early stopping (a refit on all the data). Returns (model, epoch rows)."""
    rows = [] if rows is None else rows
    num_classes = len(dataset.classes)
    batch = config.batch_size * hooks.replicas
    size = config.image_size
    train_ds = data_module.make_dataset(
        dataset.root, train_items, size, batch, num_classes=num_classes, training=True,
        augment=config.transforms(), seed=config.seed, labels=labels,
    )
    val_ds = (
        data_module.make_dataset(dataset.root, val_items, size, batch, num_classes=num_classes)
        if val_items else None
    )
    with hooks.scope():
        model = networks.build(
            config.arch, (size, size, 3), num_classes, weights=config.weights,
            weight_decay=config.weight_decay, dropout=config.dropout,
        )
    # Fine-tuning: the base's batch normalisation stays in inference mode throughout (the
    # equivalent, in Keras 3, of calling the base with training=False).
    batch_norm = False if config.base_inference() else None
    checkpoint_dir = Path(checkpoint_dir)
    fixed = epochs is not None

    def stage_epochs(stage):
        return max(1, int(epochs.get(stage, config.epochs))) if fixed else config.epochs

    if config.two_stage:
        with hooks.scope():
            networks.set_base_trainable(model, False, batch_norm=batch_norm)
            compile_network(model, config, config.learning_rate(), num_classes, hooks.jit)
        hooks.say(f"Stage 1: the new head only (base frozen), lr {config.learning_rate():g}")
        _fit(model, config, hooks, f"{stage_prefix}head", train_ds, val_ds, stage_epochs("head"), checkpoint_dir,
             rows, early_stopping=not fixed)
        with hooks.scope():
            networks.set_base_trainable(model, True, batch_norm=batch_norm)
            compile_network(model, config, config.fine_tune_learning_rate(), num_classes, hooks.jit)
        hooks.say(f"Stage 2: fine-tuning the whole network, lr {config.fine_tune_learning_rate():g}")
        _fit(model, config, hooks, f"{stage_prefix}finetune", train_ds, val_ds, stage_epochs("finetune"),
             checkpoint_dir, rows, early_stopping=not fixed)
    else:
        with hooks.scope():
            if batch_norm is not None:
                networks.set_base_trainable(model, True, batch_norm=batch_norm)
            compile_network(model, config, config.learning_rate(), num_classes, hooks.jit)
        _fit(model, config, hooks, f"{stage_prefix}fit", train_ds, val_ds, stage_epochs("fit"), checkpoint_dir,
             rows, early_stopping=not fixed)
    if config.recalibrate_bn:
        plain = data_module.make_dataset(dataset.root, train_items, size, batch, num_classes=num_classes,
                                         labels=labels)
        count = recalibrate_batch_norm(model, plain)
        hooks.say(f"Batch-norm statistics re-estimated on {count} training batch(es)")
    return model, rows


def _all_layers(layer):
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from _all_layers(child)


def recalibrate_batch_norm(model, dataset, batches=4):
    """Set every trainable BatchNormalization's moving mean/variance to the average of its batch
    statistics over `batches` batches of `dataset` (forward passes only, weights untouched)."""
    import keras

    layers = [l for l in _all_layers(model) if isinstance(l, keras.layers.BatchNormalization) and l.trainable]
    if not layers:
        return 0
    momentum = [layer.momentum for layer in layers]
    seen = 0
    try:
        for images, _ in dataset.take(batches):
            for layer in layers:
                layer.momentum = seen / (seen + 1)  # a running mean over the batches seen so far
            model(images, training=True)
            seen += 1
    finally:
        for layer, value in zip(layers, momentum):
            layer.momentum = value
    return seen


def predict_items(model, root, items, image_size, batch_size=32):
    """Softmax outputs (N, classes) for `items`, in order."""
    if not items:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    dataset = data_module.image_dataset(root, items, image_size, batch_size)
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


def evaluate_items(model, root, items, image_size):
    probabilities = predict_items(model, root, items, image_size)
    labels = [item.label for item in items]
    return {"top1": topk_accuracy(probabilities, labels, 1), "top5": topk_accuracy(probabilities, labels, 5),
            "n_images": len(items)}


def pseudo_label(model, root, items, image_size, confidence):
    """(kept items, their labels, report) for the unlabelled `items` the model is confident about."""
    probabilities = predict_items(model, root, items, image_size)
    best = probabilities.argmax(axis=1) if len(items) else np.zeros(0, dtype=int)
    scores = probabilities.max(axis=1) if len(items) else np.zeros(0)
    keep = [i for i, score in enumerate(scores) if score >= confidence]
    report = {
        "threshold": confidence,
        "unlabelled": len(items),
        "pseudo_labelled": len(keep),
        "mean_confidence_kept": float(np.mean(scores[keep])) if keep else None,
    }
    return [items[i] for i in keep], [int(best[i]) for i in keep], report


def train(config, out_dir, *, callbacks=None, strategy=None, jit=False, replicas=1, stdout=None, verbose=None,
          earlier=None):
    """Run `config`, save everything under `out_dir`, return a TrainResult (see the module docstring).

    verbose: model.fit's (default: the progress bar with a `stdout`, a line per epoch without);
    earlier(stage): the epoch rows a resumed run's earlier attempts recorded."""
    hooks = _Hooks(callbacks, strategy, jit, replicas, stdout, verbose, earlier)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = out_dir / "checkpoints"
    started = time.perf_counter()
    seed_everything(config.seed)
    dataset = data_module.scan_folder(config.data, stdout=stdout)
    if config.arch != "cnn9" and config.weights not in (None, "none"):
        hooks.say(f"Base weights: {config.weights}")
    unlabelled = _unlabelled_apart(config, dataset, hooks) if config.self_training else None
    split = data_module.split_items(dataset.items, config.seed, config.val_fraction, config.test_fraction)
    hooks.say(f"Split (seed {config.seed}): {len(split.train)} train, {len(split.val)} validation, "
              f"{len(split.test)} test images")
    report = {"split": {k: v for k, v in split.to_json().items() if k in ("seed", "fractions", "counts")}}
    rows = []
    metrics = {}
    if config.folds:
        model, fold_report = cross_validate(config, dataset, split, hooks, rows, checkpoints)
        report["folds"] = fold_report
        metrics["cv_val_accuracy_mean"] = fold_report["mean"]
        metrics["cv_val_accuracy_std"] = fold_report["std"]
        if config.refit:
            hooks.say(f"Refit on all {len(split.train) + len(split.val)} non-test images for "
                      f"{', '.join(f'{n} {s} epoch(s)' for s, n in fold_report['refit_epochs'].items())}")
            seed_everything(config.seed)
            model, _ = fit_network(config, dataset, list(split.train) + list(split.val), [], hooks,
                                   stage_prefix="refit-", rows=rows, checkpoint_dir=checkpoints,
                                   epochs=fold_report["refit_epochs"])
    else:
        model, rows = fit_network(config, dataset, split.train, split.val, hooks, rows=rows, checkpoint_dir=checkpoints)
    if split.val and not config.folds:
        val = evaluate_items(model, dataset.root, split.val, config.image_size)
        metrics["val_accuracy"] = val["top1"]
    test = evaluate_items(model, dataset.root, split.test, config.image_size) if split.test else None
    if test:
        metrics["test_top1"], metrics["test_top5"] = test["top1"], test["top5"]
        hooks.say(f"Test split: top-1 {test['top1']:.3f}, top-5 {test['top5']:.3f} on {test['n_images']} images")
    if config.self_training:
        model, self_report = self_train(config, dataset, split, model, test, hooks, rows, checkpoints, unlabelled)
        report["self_training"] = self_report
        if self_report.get("test_top1_after") is not None:
            metrics["test_top1"] = self_report["test_top1_after"]
            metrics["test_top5"] = self_report["test_top5_after"]
            metrics["self_training_gain"] = self_report["gain"]
    seconds = time.perf_counter() - started
    report["seconds"] = round(seconds, 1)
    report["epochs_run"] = len(rows)
    epoch_seconds = [row["seconds"] for row in rows if "seconds" in row]
    if epoch_seconds:
        report["seconds_per_epoch"] = round(statistics.median(epoch_seconds), 3)

    model_path = out_dir / "model.keras"
    model.save(model_path)
    split_path = data_module.save_split(split, out_dir / "split.json", {
        "data": str(Path(config.data).resolve()), "classes": dataset.classes,
    })
    curves_path = plots.plot_curves(rows, out_dir / "curves.png", f"{config.arch} on {Path(config.data).name}")
    if split.test:
        from .evaluate import write_run_evaluation  # evaluate imports this module

        write_run_evaluation(model, config.arch, dataset.root, split.test, dataset.classes, config.image_size, out_dir)
    (out_dir / "report.json").write_text(json.dumps(
        {"config": asdict(config), "metrics": metrics, "report": report, "epochs": rows}, indent=1, default=str
    ))
    # The best epochs' weights are in the model now: the checkpoints (an interrupted attempt's too) go.
    shutil.rmtree(checkpoints, ignore_errors=True)
    hooks.say(f"Saved {model_path} ({seconds:.0f}s in all)")
    return TrainResult(model, dataset.classes, metrics, rows, model_path, curves_path, split_path, report)


def _unlabelled_apart(config, dataset, hooks):
    """The unlabelled folder's items, after checking that none of its files (by content) is one of
    the labelled images: pseudo-labelling a test image would report a contaminated gain."""
    unlabelled = data_module.scan_unlabelled(config.self_training, stdout=hooks.stdout)
    shared = data_module.overlapping_files(dataset.root, dataset.items, config.self_training, unlabelled)
    if shared:
        examples = "; ".join(f"{other} = {ours}" for ours, other in shared[:3])
        raise data_module.DataError(
            f"The unlabelled folder {config.self_training} shares {len(shared)} file(s) with the labelled data "
            f"under {dataset.root} (same content: {examples}{'; …' if len(shared) > 3 else ''}). Self-training "
            "needs images kept apart from the labelled ones (and from the test split): remove them or choose "
            "another folder."
        )
    return unlabelled


def self_train(config, dataset, split, teacher, test_before, hooks, rows, checkpoints, unlabelled=None):
    """Pseudo-label the unlabelled folder with `teacher`, train a fresh network on training +
    confident pseudo-labels, and report the test accuracy before and after."""
    if unlabelled is None:
        unlabelled = _unlabelled_apart(config, dataset, hooks)
    kept, labels, report = pseudo_label(teacher, config.self_training, unlabelled, config.image_size,
                                        config.confidence)
    hooks.say(f"Self-training: {report['pseudo_labelled']} of {report['unlabelled']} unlabelled images "
              f"have confidence >= {config.confidence}")
    if not kept:
        report.update(gain=None, test_top1_after=None, test_top5_after=None, note="no confident predictions")
        return teacher, report
    root = Path(config.data).resolve()
    unlabelled_root = Path(config.self_training).resolve()
    # Pseudo-labelled items are addressed from the data root, so one pipeline reads both.
    relative = [data_module.Item(str(Path(_relative_to(unlabelled_root / item.path, root))), label,
                                 item.needs_pillow) for item, label in zip(kept, labels)]
    combined = list(split.train) + relative
    seed_everything(config.seed + 1)
    student, _ = fit_network(
        config, _with_root(dataset, root), combined, split.val, hooks, stage_prefix="self-", rows=rows,
        checkpoint_dir=checkpoints,
    )
    after = evaluate_items(student, root, split.test, config.image_size) if split.test else None
    report["per_class"] = {dataset.classes[c]: labels.count(c) for c in sorted(set(labels))}
    if after and test_before:
        report.update(
            test_top1_before=test_before["top1"], test_top5_before=test_before["top5"],
            test_top1_after=after["top1"], test_top5_after=after["top5"],
            gain=after["top1"] - test_before["top1"],
        )
        hooks.say(f"Self-training gain on the test split: {report['gain']:+.3f} "
                  f"({test_before['top1']:.3f} -> {after['top1']:.3f})")
    else:
        report.update(gain=None, test_top1_after=None, test_top5_after=None)
    return student, report


def _relative_to(path, root):
    """`path` relative to `root`, with `..` where needed (os.path.relpath)."""
    import os

    return os.path.relpath(path, root)


def _with_root(dataset, root):
    return data_module.Dataset(root=root, classes=dataset.classes, items=dataset.items, skipped=dataset.skipped)


def cross_validate(config, dataset, split, hooks, rows, checkpoints):
    """K-fold over the non-test images. Each fold trains on the other K-1 folds, less an inner
    stratified validation split (`val_fraction` of them) that early stopping watches, and is scored
    on its own fold, which chose nothing. Returns (the best-scoring fold's model, report): each
    fold's score and best epochs, their mean ± std, and `refit_epochs` (the folds' mean best epoch
    per stage) for a refit on all the data."""
    pool = list(split.train) + list(split.val)
    folds = data_module.kfold(pool, config.folds, config.seed)
    results, models = [], []
    for index, (train_items, scored_items) in enumerate(folds, start=1):
        inner = data_module.split_items(train_items, config.seed + index, config.val_fraction, 0.0)
        hooks.say(f"Fold {index}/{config.folds}: {len(inner.train)} train, {len(inner.val)} early-stopping "
                  f"validation, {len(scored_items)} scored images")
        seed_everything(config.seed + index)
        fold_rows = []
        prefix = f"fold{index}-"
        model, _ = fit_network(config, dataset, inner.train, inner.val, hooks, stage_prefix=prefix,
                               rows=fold_rows, checkpoint_dir=checkpoints)
        rows.extend(fold_rows)
        accuracy = evaluate_items(model, dataset.root, scored_items, config.image_size)["top1"]
        results.append({"fold": index, "train": len(inner.train), "early_stopping_val": len(inner.val),
                        "val": len(scored_items), "val_accuracy": accuracy,
                        "best_epochs": best_epochs(fold_rows, prefix)})
        models.append(model)
        hooks.say(f"Fold {index}: accuracy {accuracy:.3f} on its {len(scored_items)} held-out images")
    accuracies = [r["val_accuracy"] for r in results]
    mean = statistics.fmean(accuracies)
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    hooks.say(f"{config.folds}-fold cross-validation: {mean:.3f} ± {std:.3f} "
              f"(folds: {', '.join(f'{a:.3f}' for a in accuracies)})")
    order = ("head", "finetune", "fit")
    stages = sorted({stage for r in results for stage in r["best_epochs"]}, key=order.index)
    refit_epochs = {stage: max(1, round(statistics.fmean(r["best_epochs"].get(stage, config.epochs)
                                                         for r in results)))
                    for stage in stages}
    best = max(range(len(results)), key=lambda i: results[i]["val_accuracy"])
    report = {"k": config.folds, "folds": results, "mean": mean, "std": std, "refit_epochs": refit_epochs,
              "kept_fold": None if config.refit else results[best]["fold"], "refit": config.refit}
    return models[best], report
