"""train_classifier: train cnn9, vgg16 or resnet152 on a <root>/<class>/<image> folder and record it.

The training itself is classifier/trainer.py; the run (strategy, mixed precision, XLA, per-epoch
records, resume after a kill) is registry/training.py.
"""

import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from registry import registry, training


class Command(BaseCommand):
    help = (
        "Train one classifier (cnn9, vgg16 or resnet152) on DIR/<class>/<image>: Keras progress bars, "
        "checkpoints, early stopping, learning curves as PNG, the model and its metrics in the registry."
    )

    def add_arguments(self, parser):
        from classifier.trainer import TrainConfig

        defaults = TrainConfig(arch="cnn9", data="")
        parser.add_argument("--arch", required=True, choices=("cnn9", "vgg16", "resnet152"))
        parser.add_argument("--data", required=True, type=Path, help="DIR holding one folder of images per class.")
        parser.add_argument("--epochs", type=int, default=defaults.epochs,
                            help=f"The most epochs (per stage / per fold); training stops earlier when the validation "
                            f"accuracy stops improving (--patience). Default {defaults.epochs}.")
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                            help=f"Images per batch and replica. Default {defaults.batch_size}.")
        parser.add_argument("--image-size", type=int, default=defaults.image_size,
                            help=f"Resize images to S x S. Default {defaults.image_size}.")
        parser.add_argument("--optimizer", choices=("sgd", "adagrad", "rmsprop", "adam"), default="adam")
        parser.add_argument("--lr", type=float, help="Learning rate (default: 1e-3 adam/rmsprop, 1e-2 sgd/adagrad; "
                            "ten times lower when the base starts from pre-trained --weights, and for vgg16).")
        parser.add_argument("--weight-decay", type=float, default=1e-4,
                            help="L2 for cnn9, decoupled weight decay for vgg16/resnet152. Default 1e-4.")
        parser.add_argument("--weights", default="none",
                            help="none (from scratch), imagenet (Keras downloads them), or a weights file for the base.")
        parser.add_argument("--augment", default=None, metavar="LIST",
                            help="Transforms of the training images, comma-separated from flip, shift, rotate, zoom, "
                            f"color; or none. Default {defaults.augment}.")
        parser.add_argument("--no-augment", action="store_true", help="Same as --augment none.")
        parser.add_argument("--two-stage", action="store_true",
                            help="Train the new head with the base frozen, then fine-tune all at a lower rate.")
        parser.add_argument("--fine-tune-lr", type=float, help="Learning rate of the second stage (default lr/10).")
        parser.add_argument("--self-training", metavar="UNLABELLED_DIR", type=Path,
                            help="Pseudo-label these images with confident predictions and train again.")
        parser.add_argument("--confidence", type=float, default=0.9,
                            help="Self-training keeps predictions at least this probable. Default 0.9.")
        parser.add_argument("--folds", type=int, default=0,
                            help="K-fold cross-validation with K folds: each fold scored on images that chose nothing "
                            "(early stopping watches an inner validation split), mean ± std.")
        parser.add_argument("--refit", action="store_true",
                            help="With --folds: keep a model trained on all the non-test images for the folds' mean "
                            "best epoch count (instead of the best fold's model).")
        parser.add_argument("--patience", type=int, default=defaults.patience,
                            help=f"Early stopping: epochs without a better validation accuracy before stopping; the "
                            f"best epoch is kept. Default {defaults.patience}.")
        parser.add_argument("--run-eagerly", action="store_true",
                            help="No graph tracing: faster for a few steps of resnet152 on a CPU (smoke tests).")
        parser.add_argument("--recalibrate-bn", action="store_true",
                            help="Re-estimate batch-norm statistics on training batches after fitting "
                            "(for very short runs of resnet152).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split, the weights and augmentation.")
        parser.add_argument("--name", help="Run name (folder under var/models/classification/); default ARCH-TIME.")
        parser.add_argument("--activate", action="store_true", help="Make the new model the active one of its slot.")
        training.add_training_arguments(parser)

    def handle(self, *args, **options):
        from classifier import networks, trainer

        config = self.config(options)
        name = options["name"] or f"{config.arch}-{time.strftime('%Y%m%d-%H%M%S')}"
        out_dir = Path(settings.MODELS_DIR) / "classification" / name
        if not training.is_chief():  # another worker of a multi-worker run: it trains, the chief keeps
            out_dir = Path(tempfile.mkdtemp(prefix="deepboot-worker-"))
        if out_dir.exists() and any(out_dir.glob("model.keras")):
            raise CommandError(f"{out_dir} already holds a model; choose another --name.")
        with training.start_run("train_classifier", options, task="classification", architecture=config.arch,
                                stdout=self.stdout) as run:
            out_dir = run.output_dir(out_dir)
            try:
                result = trainer.train(
                    config, out_dir, stdout=self.stdout, strategy=run.strategy, jit=run.jit, replicas=run.replicas,
                    callbacks=lambda stage, extra: run.callbacks(extra, stage=stage), verbose=run.verbose,
                    earlier=run.earlier_epochs,
                )
            except (ValueError, FileNotFoundError) as exc:  # DataError is a ValueError
                raise CommandError(str(exc)) from exc
            if not run.is_chief:
                shutil.rmtree(out_dir, ignore_errors=True)
                self.stdout.write("This worker's part is done; the chief saves and registers the model.")
                return
            run.add_artifact("model", result.model_path)
            run.add_artifact("curves", result.curves_path)
            run.add_artifact("split", result.split_path)
            record = registry.register(
                "classification", config.arch, result.model_path,
                activate=options["activate"],
                class_names=result.class_names,
                input_size=[config.image_size, config.image_size],
                preprocessing=networks.PREPROCESSING[config.arch],
                layers=networks.LAYERS[config.arch],
                parameters=networks.count_parameters(result.model),
                dataset=Path(config.data).name,  # by name: the Models page is public
                metrics={k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, float)},
                training_run={
                    **run.summary(),
                    "data": str(config.data),
                    "split_file": registry.relative_path(result.split_path),
                    "curves": registry.relative_path(result.curves_path),
                    "report": result.report,
                },
            )
            run.set_model(record)
        self.stdout.write(self.style.SUCCESS(
            f"Model #{record.pk} ({config.arch}) saved in {result.model_path}"
            f"{' and activated' if record.active else ''}; learning curves: {result.curves_path}"
        ))
        for key, value in result.metrics.items():
            self.stdout.write(f"  {key}: {value:.4f}")

    def config(self, options):
        from classifier import data as data_module
        from classifier.trainer import TrainConfig

        data = options["data"].expanduser().resolve()
        if not data.is_dir():
            raise CommandError(f"No data folder at {data}. Make one with: python manage.py make_demo_data "
                               "classification, or fetch Caltech-101: python manage.py fetch_dataset caltech101")
        if options["patience"] < 0:
            raise CommandError("--patience must be 0 or more.")
        for flag in ("epochs", "batch_size", "image_size"):
            if options[flag] < 1:
                raise CommandError(f"--{flag.replace('_', '-')} must be at least 1.")
        if options["image_size"] < 32:
            raise CommandError("--image-size must be at least 32.")
        if options["folds"] == 1 or options["folds"] < 0:
            raise CommandError("--folds needs K >= 2.")
        if options["refit"] and not options["folds"]:
            raise CommandError("--refit needs --folds K: it trains for the folds' mean best epoch count.")
        if options["no_augment"] and options["augment"] not in (None, "none"):
            raise CommandError("--no-augment and --augment disagree: use one of them.")
        try:
            transforms = data_module.parse_augment("none" if options["no_augment"] else
                                                   options["augment"] or data_module.DEFAULT_AUGMENT)
        except data_module.DataError as exc:
            raise CommandError(f"--augment: {exc}") from exc
        if not 0 < options["confidence"] <= 1:
            raise CommandError("--confidence must be in (0, 1].")
        weights = options["weights"]
        if weights not in ("none", "imagenet"):
            path = Path(weights).expanduser()
            if not path.is_file():
                raise CommandError(f"--weights is none, imagenet or a weights file; no file at {path}.")
            weights = str(path.resolve())
        if options["arch"] == "cnn9" and weights != "none":
            raise CommandError("cnn9 has no pre-trained weights: use --weights none.")
        unlabelled = options["self_training"]
        if unlabelled is not None:
            unlabelled = unlabelled.expanduser().resolve()
            if not unlabelled.is_dir():
                raise CommandError(f"No unlabelled folder at {unlabelled}.")
        return TrainConfig(
            arch=options["arch"], data=str(data), epochs=options["epochs"], batch_size=options["batch_size"],
            image_size=options["image_size"], optimizer=options["optimizer"], lr=options["lr"],
            weight_decay=options["weight_decay"], weights=weights, augment=",".join(transforms) or "none",
            two_stage=options["two_stage"], fine_tune_lr=options["fine_tune_lr"],
            self_training=str(unlabelled) if unlabelled else None, confidence=options["confidence"],
            folds=options["folds"], refit=options["refit"], seed=options["seed"], patience=options["patience"],
            eager=options["run_eagerly"], recalibrate_bn=options["recalibrate_bn"],
        )
