"""Training a classifier: `train(config, out_dir, hooks=TrainHooks()) -> TrainResult`. No Django.

`train` reads top to bottom:

1. seed everything (and make TensorFlow's ops deterministic: one seed, one result); scan the data
   folder; with self-training, refuse an unlabelled folder that shares files (by content) with the
   labelled data; make the stratified train/validation/test split;
2. fit a network (fit.py: until the validation accuracy stops improving, keeping the best epoch;
   with `two_stage`, the new head on a frozen base first, then the whole network at a lower rate),
   or with `folds` K, K-fold cross-validation over the non-test images (cross_validation.py),
   keeping the best fold's model or, with `refit`, one trained on all of them;
3. predict the test split once: its top-1/top-5 are the run's metrics and `evaluation.json`;
4. with `self_training`, pseudo-label the unlabelled images and train a student
   (self_training.py), reporting the test accuracy before and after (the gain);
5. save the model (.keras, raw pixels in), the split, the learning curves (PNG), the test
   evaluation and `report.json`.

`hooks` (deepboot/hooks.py) is what the caller plugs in: the command's recorded run gives its
strategy, precision, XLA and its checkpoint-and-record callbacks; a test or a benchmark trains
alone with the defaults.
"""

import json
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deepboot.hooks import TrainHooks, seed_everything

from . import cross_validation, evaluate, fit, networks, pipeline, plots, self_training
from . import data as data_module


@dataclass(frozen=True)
class TrainConfig:
    """One training run; its fields are train_classifier's flags. The defaults are for a user's own
    data set (hundreds to a few thousand images): train until the validation accuracy has not
    improved for `patience` epochs, at most `epochs`, and keep the best epoch. The demo and the
    tests pass their own short schedules."""

    arch: str
    """The network: cnn9, vgg16 or resnet152."""
    data: str
    """DIR holding one folder of images per class (DIR/<class>/<image>)."""
    epochs: int = 100
    """The most epochs (per stage with --two-stage, per fold with --folds); training stops earlier
    when the validation accuracy stops improving (--patience)."""
    batch_size: int = 32
    """Images per batch and replica."""
    image_size: int = 224
    """Resize images to S x S (224 is what the book and ImageNet weights use)."""
    optimizer: fit.Optimizer = "adam"
    """sgd (momentum 0.9, Nesterov), adagrad, rmsprop or adam."""
    lr: float | None = None
    """Learning rate (default: 1e-3 adam/rmsprop, 1e-2 sgd/adagrad; ten times lower when the base
    starts from pre-trained --weights, and for vgg16)."""
    weight_decay: float = 1e-4
    """L2 on cnn9's kernels; decoupled weight decay in the optimizer for vgg16/resnet152."""
    weights: str = "none"
    """none (from scratch), imagenet (Keras downloads them), or a weights file for the base
    (vgg16/resnet152)."""
    augment: str = pipeline.DEFAULT_AUGMENT
    """Transforms of the training images, comma-separated from flip, shift, rotate, zoom, color;
    or none."""
    two_stage: bool = False
    """Train the new head with the base frozen, then fine-tune all at --fine-tune-lr."""
    fine_tune_lr: float | None = None
    """Learning rate of the second stage (default lr/10)."""
    self_training: str | None = None
    """Pseudo-label the images of this folder with confident predictions and train again."""
    confidence: float = 0.9
    """Self-training keeps predictions at least this probable."""
    folds: int = 0
    """K-fold cross-validation with K folds: each fold scored on images that chose nothing (early
    stopping watches an inner validation split), mean ± std; 0: the single validation split."""
    refit: bool = False
    """With --folds: keep a model trained on all the non-test images for the folds' mean best
    epoch count (instead of the best fold's model)."""
    seed: int = 0
    """Seed of the split, the weights and augmentation (random, NumPy and Keras)."""
    val_fraction: float = 0.15
    """The share of each class held out for validation (early stopping)."""
    test_fraction: float = 0.15
    """The share of each class held out for the test split, recorded beside the model."""
    patience: int = 10
    """Early stopping: epochs without a better validation accuracy before stopping; the best
    epoch is kept."""
    dropout: float = 0.5
    """Dropout rate of the head."""
    recalibrate_bn: bool = False
    """Re-estimate batch-norm statistics on training batches after fitting (for very short runs of
    resnet152, whose moving averages a handful of steps leave near their initial values)."""
    bn_momentum: float = 0.9
    """Momentum of the moving averages of resnet152's batch normalisation when it trains (Keras'
    is 0.99, for ImageNet's long runs). A few hundred images make about 20 steps an epoch; at 0.99
    the averages keep their initial values for several epochs, and the validation accuracy that
    early stopping watches reads near chance while the network learns (BENCHMARKS.md)."""
    run_eagerly: bool = False
    """No graph tracing: faster for the one or two steps of a smoke test (tracing resnet152's training
    step takes about 50 s on 2 CPU cores; BENCHMARKS.md, "Tracing ResNet152")."""

    def __post_init__(self):
        """Refuse settings no run can use, with the flag to change (ValueError)."""
        problems = [
            (self.arch not in networks.ARCHITECTURES, f"--arch is one of {', '.join(networks.ARCHITECTURES)}."),
            (self.optimizer not in fit.OPTIMIZERS, f"--optimizer is one of {', '.join(fit.OPTIMIZERS)}."),
            (self.epochs < 1, "--epochs must be at least 1."),
            (self.batch_size < 1, "--batch-size must be at least 1."),
            (self.image_size < networks.MIN_SIZE, f"--image-size must be at least {networks.MIN_SIZE}."),
            (self.patience < 0, "--patience must be 0 or more."),
            (self.folds == 1 or self.folds < 0, "--folds needs K >= 2."),
            (self.refit and not self.folds, "--refit needs --folds K: it trains for the folds' mean best epoch count."),
            (not 0 < self.confidence <= 1, "--confidence must be in (0, 1]."),
            (not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1
                  and self.val_fraction + self.test_fraction < 1),
             "--val-fraction and --test-fraction must be in [0, 1) and leave some images to train on."),
            (not 0 <= self.dropout < 1, "--dropout must be in [0, 1)."),
            (not 0 <= self.bn_momentum < 1, "--bn-momentum must be in [0, 1)."),
            (self.arch == "cnn9" and self.pretrained_weights(), "cnn9 has no pre-trained weights: use --weights none."),
        ]
        for failed, message in problems:
            if failed:
                raise ValueError(message)
        self.transforms()  # DataError (a ValueError) naming an unknown transform

    def pretrained_weights(self):
        return self.weights not in (None, "", "none", "None")

    def pretrained(self):
        """True when the base starts from pre-trained weights (imagenet or a weights file)."""
        return self.arch != "cnn9" and self.pretrained_weights()

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
        return pipeline.parse_augment(self.augment)

    def fine_tune_learning_rate(self):
        return self.fine_tune_lr if self.fine_tune_lr is not None else self.learning_rate() / 10


@dataclass
class TrainResult:
    """What a run made: the kept model, its metrics and epochs, and the files in its folder."""

    model: object
    class_names: list
    metrics: dict
    epochs: list
    model_path: Path
    curves_path: Path
    split_path: Path
    report: dict = field(default_factory=dict)


def train(config, out_dir, hooks=TrainHooks()):
    """Run `config`, save everything under `out_dir`, return a TrainResult (see the module docstring)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = out_dir / "checkpoints"
    started = time.perf_counter()
    seed_everything(config.seed)
    dataset = data_module.scan_folder(config.data, stdout=hooks.stdout)
    if config.pretrained():
        hooks.say(f"Base weights: {config.weights}")
    unlabelled = self_training.unlabelled_apart(config, dataset, hooks) if config.self_training else None
    split = data_module.split_items(dataset.items, config.seed, config.val_fraction, config.test_fraction)
    hooks.say(f"Split (seed {config.seed}): {len(split.train)} train, {len(split.val)} validation, "
              f"{len(split.test)} test images")
    report = {"split": {k: v for k, v in split.to_json().items() if k in ("seed", "fractions", "counts")}}
    rows, metrics = [], {}
    if config.folds:
        model, report["folds"] = cross_validation.cross_validate(config, dataset, split, hooks, rows, checkpoints)
        metrics["cv_val_accuracy_mean"] = report["folds"]["mean"]
        metrics["cv_val_accuracy_std"] = report["folds"]["std"]
        if config.refit:
            model = _refit(config, dataset, split, hooks, rows, checkpoints, report["folds"]["refit_epochs"])
    else:
        model, rows = fit.fit_network(config, dataset, split.train, split.val, hooks, rows=rows,
                                      checkpoint_dir=checkpoints)
        if split.val:
            metrics["val_accuracy"] = evaluate.evaluate_items(model, dataset.root, split.val, config.image_size).top1
    test = evaluate.evaluate_items(model, dataset.root, split.test, config.image_size) if split.test else None
    if test:
        metrics["test_top1"], metrics["test_top5"] = test.top1, test.top5
        hooks.say(f"Test split: top-1 {test.top1:.3f}, top-5 {test.top5:.3f} on {test.n_images} images")
    if config.self_training:
        model, report["self_training"], test = self_training.self_train(
            config, dataset, split, model, test, hooks, rows, checkpoints, unlabelled)
        if report["self_training"].get("test_top1_after") is not None:
            metrics["test_top1"] = report["self_training"]["test_top1_after"]
            metrics["test_top5"] = report["self_training"]["test_top5_after"]
            metrics["self_training_gain"] = report["self_training"]["gain"]
    seconds = time.perf_counter() - started
    report.update(_timing(rows, seconds))
    result = _save(config, dataset, split, model, test, metrics, rows, report, out_dir)
    # The best epochs' weights are in the model now: the checkpoints (an interrupted attempt's too) go.
    shutil.rmtree(checkpoints, ignore_errors=True)
    hooks.say(f"Saved {result.model_path} ({seconds:.0f}s in all)")
    return result


def _refit(config, dataset, split, hooks, rows, checkpoints, epochs):
    """A model trained on all the non-test images for `epochs` ({stage: count}), no validation."""
    hooks.say(f"Refit on all {len(split.train) + len(split.val)} non-test images for "
              f"{', '.join(f'{n} {s} epoch(s)' for s, n in epochs.items())}")
    seed_everything(config.seed)
    model, _ = fit.fit_network(config, dataset, list(split.train) + list(split.val), [], hooks,
                               stage_prefix="refit-", rows=rows, checkpoint_dir=checkpoints, epochs=epochs)
    return model


def _timing(rows, seconds):
    timing = {"seconds": round(seconds, 1), "epochs_run": len(rows)}
    epoch_seconds = [row["seconds"] for row in rows if "seconds" in row]
    if epoch_seconds:
        timing["seconds_per_epoch"] = round(statistics.median(epoch_seconds), 3)
    return timing


def _save(config, dataset, split, model, test, metrics, rows, report, out_dir):
    """The run folder: model.keras, split.json, curves.png, the test evaluation and report.json."""
    model_path = out_dir / "model.keras"
    model.save(model_path)
    split_path = data_module.save_split(split, out_dir / "split.json", {
        "data": str(Path(config.data).resolve()), "classes": dataset.classes,
    })
    curves_path = plots.plot_curves(rows, out_dir / "curves.png", f"{config.arch} on {Path(config.data).name}")
    if test:
        evaluate.write_run_evaluation(test, config.arch, dataset.classes, out_dir)
    (out_dir / "report.json").write_text(json.dumps(
        {"config": asdict(config), "metrics": metrics, "report": report, "epochs": rows}, indent=1, default=str
    ))
    return TrainResult(model, dataset.classes, metrics, rows, model_path, curves_path, split_path, report)
