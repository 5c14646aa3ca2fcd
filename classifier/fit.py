"""Fitting one classifier: build, compile and fit a network on a list of items. No Django.

`fit_network` is the step every training method repeats (hold-out, each fold, a refit, the
self-training student): build the network in the hooks' strategy scope and precision, compile it
with the named optimizer, and fit it until the validation accuracy stops improving (`patience`,
at most `epochs`), keeping the best epoch; with `two_stage`, first the new head on a frozen base,
then the whole network at a lower rate. A base that starts from pre-trained weights, or is
fine-tuned in two stages, keeps its batch normalisation in inference mode in both stages (see
`networks.set_base_trainable`).
"""

import time
import typing
from pathlib import Path

import numpy as np

from deepboot import optimizers
from deepboot.best_epoch import best_epoch_checkpoint

from . import networks, pipeline

Optimizer = typing.Literal["sgd", "adagrad", "rmsprop", "adam"]
OPTIMIZERS = typing.get_args(Optimizer)


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
        return optimizers.adam(lr, weight_decay=decay)
    raise ValueError(f"Unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}.")


def compile_network(model, config, lr, num_classes, jit=False):
    """Cross-entropy, accuracy and top-5; weight decay in the optimizer for the applications (cnn9
    has L2 on its kernels instead)."""
    import keras

    decay = config.weight_decay if config.arch != "cnn9" else None
    model.compile(
        optimizer=make_optimizer(config.optimizer, lr, decay),
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=min(5, num_classes), name="top5")],
        jit_compile=jit and not config.run_eagerly,
        run_eagerly=config.run_eagerly,
    )


def build_before_tracing(model, dataset):
    """Create the optimizer's, the metrics' and the loss's variables now, from `dataset`'s shapes.

    Keras 3 (TF backend) creates them during the first trace of the train function when no
    tf.distribute strategy is in scope, and a tf.function that creates variables is traced twice.
    For ResNet152 that second trace doubled the first step: 142 s against 77 s at 64x64 on 2 CPU
    cores (BENCHMARKS.md, "Tracing ResNet152"). Under a strategy Keras does this itself; doing it
    again changes nothing. `_symbolic_build` is Keras' own method for exactly this (Keras 3.15)."""
    model._symbolic_build(data_batch=dataset.element_spec)


def _epoch_timer(rows, stage, earlier_epochs):
    """Times each epoch into `rows`. A fit resumed at epoch k (BackupAndRestore) first takes the
    rows of epochs 1..k from `earlier_epochs(stage)`, so the rows tell the whole stage."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        resumed_checked = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self.resumed_checked:
                self.resumed_checked = True
                rows.extend(row for row in earlier_epochs(stage) if row["epoch"] <= epoch)
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
    extra = [_epoch_timer(rows, stage, hooks.earlier_epochs)]
    if early_stopping:
        best_path = checkpoint_dir / f"best-{stage}.weights.h5"
        checkpoint = best_epoch_checkpoint(best_path, hooks, stage, monitor, save_weights_only=True)
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=config.patience,
                                                restore_best_weights=True)
        extra += [checkpoint, stopper]
        hooks.say(f"[{stage}] fitting until {monitor} stops improving ({config.patience} epoch(s) of patience, "
                  f"at most {epochs} epoch(s)); the best epoch is kept")
    else:
        hooks.say(f"[{stage}] fitting {epochs} epoch(s)")
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=hooks.callbacks(stage, extra), shuffle=False,
              verbose=hooks.verbose)
    earlier_was_better = early_stopping and checkpoint.best is not None and (
        stopper.best is None or checkpoint.best > stopper.best)
    if earlier_was_better and best_path.exists():  # its file gone (a user's clean-up): keep this attempt's
        # EarlyStopping restored the best epoch of this attempt; an attempt before a resume had a better one.
        hooks.say(f"[{stage}] keeping the best epoch of an earlier attempt ({monitor} {checkpoint.best:.4f})")
        model.load_weights(best_path)


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
    batch = hooks.global_batch_size(config.batch_size)
    size = config.image_size
    train_ds = pipeline.make_dataset(
        dataset.root, train_items, size, batch, num_classes=num_classes, training=True,
        augment=config.transforms(), seed=config.seed, labels=labels,
    )
    val_ds = (
        pipeline.make_dataset(dataset.root, val_items, size, batch, num_classes=num_classes)
        if val_items else None
    )
    with hooks.scope(), hooks.precision():
        model = networks.build(
            config.arch, (size, size, 3), num_classes, weights=config.weights,
            weight_decay=config.weight_decay, dropout=config.dropout, bn_momentum=config.bn_momentum,
        )
    # Fine-tuning: the base's batch normalisation stays in inference mode throughout (the
    # equivalent, in Keras 3, of calling the base with training=False).
    batch_norm = False if config.base_inference() else None
    checkpoint_dir = Path(checkpoint_dir)
    fixed = epochs is not None

    def stage_epochs(stage):
        return max(1, int(epochs.get(stage, config.epochs))) if fixed else config.epochs

    def fit_stage(stage, lr, base_trainable):
        with hooks.scope():
            if base_trainable is not None:
                networks.set_base_trainable(model, base_trainable, batch_norm=batch_norm)
            compile_network(model, config, lr, num_classes, hooks.jit)
            build_before_tracing(model, train_ds)
        _fit(model, config, hooks, f"{stage_prefix}{stage}", train_ds, val_ds, stage_epochs(stage), checkpoint_dir,
             rows, early_stopping=not fixed)

    if config.two_stage:
        hooks.say(f"Stage 1: the new head only (base frozen), lr {config.learning_rate():g}")
        fit_stage("head", config.learning_rate(), False)
        hooks.say(f"Stage 2: fine-tuning the whole network, lr {config.fine_tune_learning_rate():g}")
        fit_stage("finetune", config.fine_tune_learning_rate(), True)
    else:
        fit_stage("fit", config.learning_rate(), True if batch_norm is not None else None)
    if config.recalibrate_bn:
        plain = pipeline.make_dataset(dataset.root, train_items, size, batch, num_classes=num_classes,
                                         labels=labels)
        count = recalibrate_batch_norm(model, plain)
        hooks.say(f"Batch-norm statistics re-estimated on {count} training batch(es)")
    return model, rows


def all_layers(layer):
    """`layer` and every layer nested in it, depth first."""
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from all_layers(child)


def recalibrate_batch_norm(model, dataset, batches=4):
    """Set every trainable BatchNormalization's moving mean/variance to the average of its batch
    statistics over `batches` batches of `dataset` (forward passes only, weights untouched)."""
    import keras

    layers = [l for l in all_layers(model) if isinstance(l, keras.layers.BatchNormalization) and l.trainable]
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
